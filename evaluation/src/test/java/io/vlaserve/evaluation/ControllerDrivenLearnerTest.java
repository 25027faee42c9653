package io.vlaserve.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.dataset.DemonstrationGenerator;
import io.vlaserve.dataset.GeneratorConfig;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import io.vlaserve.sim.expert.ExpertConfig;
import io.vlaserve.sim.expert.ScriptedExpert;
import io.vlaserve.skills.BlockColor;
import io.vlaserve.skills.Skill;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.skills.TaskKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControllerDrivenLearnerTest {
  private static final ScriptedExpert EXPERT = new ScriptedExpert(ExpertConfig.NOISELESS, new SplittableRandom(0));

  /** The noiseless expert's next four actions from {@code state}: a policy that knows the way. */
  private static double[][] expertChunk(byte[] image, WorldState state, Subgoal subgoal) {
    TabletopWorld copy = new TabletopWorld(state);
    double[][] chunk = new double[4][];
    for (int k = 0; k < chunk.length; k++) {
      chunk[k] = EXPERT.act(copy.snapshot(), subgoal);
      copy.step(chunk[k]);
    }
    return chunk;
  }

  @Test
  void eachAdvanceIsOneObservationPeriodOfControlledMotionThatCarriesOnIntoTheNext() {
    TabletopWorld world = new TabletopWorld(11, new WorldConfig(3, true));
    Subgoal moveTo = new Subgoal(Skill.MOVE_TO, BlockColor.RED);
    double[] away = {0.05, 0, 0, 0, 0, 0, 1}; // 5 cm per step along x: more than the speed limit allows
    var driver = new ControllerDrivenLearner((image, state, subgoal) -> new double[][] {away, away, away, away}, 50, 50)
        .start(world, new SplittableRandom(1));
    double x0 = world.snapshot().eePosition().x();
    driver.advance(new byte[0], world.snapshot(), moveTo);
    double x1 = world.snapshot().eePosition().x();
    // The chunk arrives 50 ms into the period and is interpolated from rest under the speed limit
    // (1 m/s): it moves, but less than 5 cm.
    assertTrue(x1 > x0 && x1 - x0 < 0.05, x0 + " -> " + x1);
    double[] still = {0, 0, 0, 0, 0, 0, 1};
    driver = new ControllerDrivenLearner((image, state, subgoal) -> new double[][] {still, still, still, still}, 50, 50)
        .start(world, new SplittableRandom(1));
    driver.advance(new byte[0], world.snapshot(), moveTo);
    assertEquals(x1, world.snapshot().eePosition().x(), 1e-9, "a chunk of no motion holds the robot");
  }

  @Test
  void aPolicyThatKnowsTheWayCompletesWhatItDrivesThroughTheController(@TempDir Path dir) throws Exception {
    Path statistics = dir.resolve("statistics.json");
    GeneratorConfig demos = new GeneratorConfig(3, 1, 16, List.of(TaskKind.PUT_ON_PLATE), 2, 3, 1.0, 0.0, 1.0);
    new DemonstrationGenerator(demos).generate(dir.resolve("demos"), "test", line -> { });
    Files.copy(dir.resolve("demos/dataset_statistics.json"), statistics);

    GeneratorConfig config = new GeneratorConfig(4, 2, 16, List.of(TaskKind.PUT_ON_PLATE), 2, 3, 1.0, 0.0, 1.0);
    var learner = new ControllerDrivenLearner(ControllerDrivenLearnerTest::expertChunk, 10, 150);
    var summary = new DemonstrationGenerator(config, new DemonstrationGenerator.OnPolicy(learner, 1.0, statistics))
        .generate(dir.resolve("onpolicy"), "test", line -> { });
    var counts = summary.onPolicy();
    assertEquals(4, summary.episodes());
    assertTrue(counts.subgoalsDriven() >= 4 * 5, counts.toString());
    assertTrue(counts.subgoalsCompleted() >= counts.subgoalsDriven() * 8 / 10,
        "the expert's own plans, executed through the controller, meet most subgoals: " + counts);
  }

  @Test
  void aLatencyRangeThatIsNotOneIsRefused() {
    var error = assertThrows(IllegalArgumentException.class,
        () -> new ControllerDrivenLearner(ControllerDrivenLearnerTest::expertChunk, 100, 10));
    assertTrue(error.getMessage().contains("100..10 ms"), error.getMessage());
  }
}
