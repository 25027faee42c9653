package io.vlaserve.sim.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.sim.ActionSpace;
import io.vlaserve.skills.BlockColor;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.skills.Skill;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.sim.task.SuccessPredicates;
import io.vlaserve.skills.Task;
import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Success rates of the scripted expert over seeded episodes, with the default noise. Counts only,
 * never wall-clock time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ScriptedExpertTest {

  private static final int EPISODES = 50;

  private final Map<Skill, int[]> attemptsAndSuccesses = new EnumMap<>(Skill.class);
  private int putOnPlateSuccesses;
  private int stackSuccesses;
  private int pickUpSuccesses;

  @BeforeAll
  void runEpisodes() {
    EpisodeRunner runner = new EpisodeRunner(
        WorldConfig.withBlocks(4), CameraConfig.DEFAULT, ExpertConfig.DEFAULT, false);
    BlockColor[] colours = BlockColor.values();
    for (int seed = 0; seed < EPISODES; seed++) {
      BlockColor block = colours[seed % 4];
      BlockColor target = colours[(seed + 1 + seed / 4 % 3) % 4];
      putOnPlateSuccesses += tally(runner.run(seed, Task.putOnPlate(block))) ? 1 : 0;
      stackSuccesses += tally(runner.run(1000 + seed, Task.stack(block, target))) ? 1 : 0;
      pickUpSuccesses += tally(runner.run(2000 + seed, Task.pickUp(block))) ? 1 : 0;
    }
  }

  private boolean tally(Episode episode) {
    for (SubgoalOutcome outcome : episode.subgoals()) {
      int[] counts = attemptsAndSuccesses.computeIfAbsent(outcome.subgoal().skill(), skill -> new int[2]);
      counts[0]++;
      counts[1] += outcome.succeeded() ? 1 : 0;
      assertTrue(outcome.steps() <= outcome.subgoal().skill().stepBudget());
    }
    return episode.success();
  }

  @Test
  void everySubgoalTypeSucceedsAtLeast98PercentWithinItsBudget() {
    assertEquals(Skill.values().length, attemptsAndSuccesses.size(), "every skill exercised");
    attemptsAndSuccesses.forEach((skill, counts) -> {
      assertTrue(counts[0] >= EPISODES, skill + " attempted " + counts[0] + " times");
      assertTrue(counts[1] >= Math.ceil(0.98 * counts[0]),
          skill + ": " + counts[1] + " of " + counts[0] + " succeeded");
    });
  }

  @Test
  void putOnPlateSucceedsAtLeast95Percent() {
    assertTrue(putOnPlateSuccesses >= 48, putOnPlateSuccesses + " of " + EPISODES);
  }

  @Test
  void stackAndPickUpSucceedAtLeast95Percent() {
    assertTrue(stackSuccesses >= 48, "stack: " + stackSuccesses + " of " + EPISODES);
    assertTrue(pickUpSuccesses >= 48, "pick up: " + pickUpSuccesses + " of " + EPISODES);
  }

  @Test
  void actionsStayWithinThePerStepBounds() {
    ScriptedExpert expert = new ScriptedExpert(new ExpertConfig(1.0, 0.02, 0.2), new SplittableRandom(5));
    for (long seed = 0; seed < 20; seed++) {
      TabletopWorld world = new TabletopWorld(seed, WorldConfig.DEFAULT);
      Subgoal subgoal = Subgoal.moveTo(world.blockColor(0));
      for (int step = 0; step < 10; step++) {
        double[] action = expert.act(world.snapshot(), subgoal);
        double[] clamped = action.clone();
        assertEquals(false, ActionSpace.clampInPlace(clamped), java.util.Arrays.toString(action));
        world.step(action);
      }
    }
  }

  @Test
  void noiselessExpertIsDeterministicAndNoisyExpertIsSeeded() {
    WorldState state = new TabletopWorld(3, WorldConfig.DEFAULT).snapshot();
    Subgoal subgoal = Subgoal.moveTo(state.blocks().get(0).color());
    double[] a = new ScriptedExpert(ExpertConfig.NOISELESS, new SplittableRandom(1)).act(state, subgoal);
    double[] b = new ScriptedExpert(ExpertConfig.NOISELESS, new SplittableRandom(2)).act(state, subgoal);
    assertArrayEquals(a, b);
    double[] c = new ScriptedExpert(ExpertConfig.DEFAULT, new SplittableRandom(1)).act(state, subgoal);
    double[] d = new ScriptedExpert(ExpertConfig.DEFAULT, new SplittableRandom(1)).act(state, subgoal);
    double[] e = new ScriptedExpert(ExpertConfig.DEFAULT, new SplittableRandom(2)).act(state, subgoal);
    assertArrayEquals(c, d);
    assertNotEquals(c[0], e[0]);
  }

  @Test
  void graspRecoversFromAClosedEmptyGripper() {
    TabletopWorld world = new TabletopWorld(8, WorldConfig.DEFAULT);
    world.step(new double[] {0, 0, 0, 0, 0, 0, ActionSpace.GRIPPER_CLOSED});
    ScriptedExpert expert = new ScriptedExpert(ExpertConfig.DEFAULT, new SplittableRandom(8));
    Subgoal grasp = Subgoal.grasp(world.blockColor(0));
    WorldState start = world.snapshot();
    int steps = 0;
    while (!SuccessPredicates.isSatisfied(grasp, start, world.snapshot()) && steps < grasp.skill().stepBudget()) {
      world.step(expert.act(world.snapshot(), grasp));
      steps++;
    }
    assertTrue(SuccessPredicates.isSatisfied(grasp, start, world.snapshot()), "grasped after " + steps + " steps");
  }

  @Test
  void expertHoldsStillForAnAbsentBlock() {
    TabletopWorld world = new TabletopWorld(0, WorldConfig.withBlocks(1));
    BlockColor absent = world.blockColor(0) == BlockColor.RED ? BlockColor.BLUE : BlockColor.RED;
    double[] action = new ScriptedExpert(ExpertConfig.NOISELESS, new SplittableRandom(0))
        .act(world.snapshot(), Subgoal.moveTo(absent));
    assertEquals(0, action[ActionSpace.DX], 1e-12);
    assertEquals(0, action[ActionSpace.DY], 1e-12);
    assertEquals(0, action[ActionSpace.DZ], 1e-12);
  }
}
