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
    return expertSteps(new TabletopWorld(state), subgoal, 4);
  }

  /** The noiseless expert's next {@code steps} actions, each applied to {@code copy}. */
  private static double[][] expertSteps(TabletopWorld copy, Subgoal subgoal, int steps) {
    double[][] chunk = new double[steps][];
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

  /** The expert as a policy of 8-step chunks that continues a committed prefix from where it leads. */
  private static final class ExpertContinuing implements DemonstrationGenerator.ChunkPolicy {
    final List<double[][]> prefixes = new java.util.ArrayList<>();

    @Override
    public double[][] chunk(byte[] image, WorldState state, Subgoal subgoal) {
      return continuation(image, state, subgoal, new double[0][]);
    }

    @Override
    public double[][] continuation(byte[] image, WorldState state, Subgoal subgoal, double[][] prefix) {
      prefixes.add(prefix);
      TabletopWorld copy = new TabletopWorld(state);
      for (double[] step : prefix) {
        copy.step(step);
      }
      return expertSteps(copy, subgoal, 8 - prefix.length);
    }
  }

  @Test
  void inPrefixModeEachRequestCarriesTheStepsItsLatencyCoversAndFramesReportThem() {
    TabletopWorld world = new TabletopWorld(11, new WorldConfig(3, true));
    Subgoal moveTo = new Subgoal(Skill.MOVE_TO, world.snapshot().blocks().get(0).color());
    ExpertContinuing policy = new ExpertContinuing();
    var driver = new ControllerDrivenLearner(policy, 250, 250, ControllerDrivenLearner.Execution.PREFIX)
        .start(world, new SplittableRandom(1));
    List<Integer> reported = new java.util.ArrayList<>();
    for (int frame = 0; frame < 12; frame++) {
      reported.add(driver.advance(new byte[0], world.snapshot(), moveTo).length);
    }
    // One request per 300 ms (the next frame after each arrival). The first carries nothing (nothing
    // is committed yet); from then on each covers the 250 ms a request takes: 3 steps of 100 ms.
    assertEquals(List.of(0, 3, 3, 3), policy.prefixes.stream().map(p -> p.length).toList());
    // Frames report the prefix of the request they sent, and none when they sent none.
    assertEquals(List.of(0, 0, 0, 3, 0, 0, 3, 0, 0, 3, 0, 0), reported);
  }

  @Test
  void aPolicyThatKnowsTheWayCompletesWhatItDrivesInPrefixMode(@TempDir Path dir) throws Exception {
    Path statistics = dir.resolve("statistics.json");
    GeneratorConfig demos = new GeneratorConfig(3, 1, 16, List.of(TaskKind.PUT_ON_PLATE), 2, 3, 1.0, 0.0, 1.0);
    new DemonstrationGenerator(demos).generate(dir.resolve("demos"), "test", line -> { });
    Files.copy(dir.resolve("demos/dataset_statistics.json"), statistics);

    GeneratorConfig config = new GeneratorConfig(4, 2, 16, List.of(TaskKind.PUT_ON_PLATE), 2, 3, 1.0, 0.0, 1.0);
    var learner = new ControllerDrivenLearner(new ExpertContinuing(), 120, 320, ControllerDrivenLearner.Execution.PREFIX);
    var summary = new DemonstrationGenerator(config, new DemonstrationGenerator.OnPolicy(learner, 1.0, statistics))
        .generate(dir.resolve("onpolicy"), "test", line -> { });
    var counts = summary.onPolicy();
    assertEquals(4, summary.episodes());
    assertTrue(counts.subgoalsCompleted() >= counts.subgoalsDriven() * 8 / 10,
        "the expert's continuations, spliced after 120..320 ms, meet most subgoals: " + counts);
    var committed = io.vlaserve.dataset.NpyArray.read(dir.resolve("onpolicy/committed_steps.npy"));
    int withPrefix = 0;
    for (int row = 0; row < summary.steps(); row++) {
      int d = committed.getInt(row);
      assertTrue(d >= 0 && d <= 4, "120..320 ms cover at most 4 steps: " + d);
      withPrefix += d > 0 ? 1 : 0;
    }
    assertTrue(withPrefix > counts.rows() / 8, withPrefix + " rows with a prefix of " + counts.rows() + " on-policy");
  }

  @Test
  void aLatencyRangeThatIsNotOneIsRefused() {
    var error = assertThrows(IllegalArgumentException.class,
        () -> new ControllerDrivenLearner(ControllerDrivenLearnerTest::expertChunk, 100, 10));
    assertTrue(error.getMessage().contains("100..10 ms"), error.getMessage());
  }
}
