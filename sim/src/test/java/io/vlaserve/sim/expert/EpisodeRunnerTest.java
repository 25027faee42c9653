package io.vlaserve.sim.expert;

import io.vlaserve.sim.task.TaskSampler;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.sim.ActionSpace;
import io.vlaserve.skills.BlockColor;
import io.vlaserve.sim.BlockState;
import io.vlaserve.sim.TestScenes;
import io.vlaserve.sim.Vec3;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import io.vlaserve.skills.Skill;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.skills.Task;
import io.vlaserve.skills.TaskKind;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EpisodeRunnerTest {

  private final EpisodeRunner runner = new EpisodeRunner(
      WorldConfig.withBlocks(4), CameraConfig.DEFAULT, ExpertConfig.DEFAULT, true);

  @Test
  void recordsObservationInstructionAndActionForEveryStep() {
    Episode episode = runner.run(12, Task.putOnPlate(BlockColor.GREEN));
    assertTrue(episode.success());
    assertEquals("put the green block on the plate", episode.instruction());
    List<Subgoal> plan = Task.putOnPlate(BlockColor.GREEN).subgoals();
    assertEquals(plan.size(), episode.subgoals().size());
    assertEquals(episode.steps().size(), episode.subgoals().stream().mapToInt(SubgoalOutcome::steps).sum());

    TabletopRenderer renderer = new TabletopRenderer(CameraConfig.DEFAULT);
    TabletopWorld replay = new TabletopWorld(12, WorldConfig.withBlocks(4));
    int previousSubgoal = 0;
    for (int i = 0; i < episode.steps().size(); i++) {
      EpisodeStep step = episode.steps().get(i);
      assertEquals(i, step.index());
      assertTrue(step.subgoalIndex() >= previousSubgoal, "subgoals advance in order");
      previousSubgoal = step.subgoalIndex();
      assertEquals(plan.get(step.subgoalIndex()).instruction(), step.instruction());
      assertEquals(64 * 64 * 3, step.image().length);
      assertEquals(ActionSpace.PROPRIO_DIMENSIONS, step.proprio().length);
      assertEquals(ActionSpace.DIMENSIONS, step.action().length);
      // Replaying the recorded actions reproduces the recorded observations exactly.
      assertArrayEquals(replay.snapshot().proprio(), step.proprio());
      byte[] frame = renderer.newFrame();
      renderer.render(replay, frame);
      assertArrayEquals(frame, step.image());
      replay.step(step.action());
    }
    assertEquals(episode.finalState(), replay.snapshot());
    assertEquals(plan.size() - 1, previousSubgoal);
  }

  @Test
  void sameSeedGivesTheSameEpisode() {
    Episode first = runner.run(5, Task.stack(BlockColor.RED, BlockColor.YELLOW));
    Episode second = runner.run(5, Task.stack(BlockColor.RED, BlockColor.YELLOW));
    assertEquals(first.steps().size(), second.steps().size());
    for (int i = 0; i < first.steps().size(); i++) {
      assertArrayEquals(first.steps().get(i).action(), second.steps().get(i).action());
      assertArrayEquals(first.steps().get(i).image(), second.steps().get(i).image());
    }
    assertEquals(first.finalState(), second.finalState());
  }

  @Test
  void randomTasksAreApplicableAndReproducible() {
    EpisodeRunner fast = new EpisodeRunner(WorldConfig.DEFAULT, CameraConfig.DEFAULT, ExpertConfig.DEFAULT, false);
    for (long seed = 0; seed < 10; seed++) {
      Episode episode = fast.runRandomTask(seed, List.of(TaskKind.values()));
      assertTrue(TaskSampler.isApplicable(episode.task(), episode.initialState()));
      assertEquals(episode.task(), fast.runRandomTask(seed, List.of(TaskKind.values())).task());
      assertEquals(0, episode.steps().get(0).image().length, "no images when not recording");
    }
  }

  @Test
  void aTaskNamingAnAbsentBlockIsRejected() {
    EpisodeRunner oneBlock = new EpisodeRunner(
        WorldConfig.withBlocks(1), CameraConfig.DEFAULT, ExpertConfig.DEFAULT, false);
    BlockColor present = new TabletopWorld(0, WorldConfig.withBlocks(1)).blockColor(0);
    BlockColor absent = present == BlockColor.RED ? BlockColor.BLUE : BlockColor.RED;
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> oneBlock.run(0, Task.pickUp(absent)));
    assertTrue(e.getMessage().contains("names a block that seed 0 does not place"), e.getMessage());
  }

  @Test
  void aFailedSubgoalEndsTheEpisode() {
    // Red carries blue, so red cannot be grasped: the grasp subgoal must time out.
    TabletopWorld world = TestScenes.world(new Vec3(0.5, 0, 0.25), 0.60, 0.15,
        TestScenes.onTable(BlockColor.RED, 0.40, -0.15),
        new BlockState(BlockColor.BLUE, new Vec3(0.40, -0.15, 0.06)));
    ScriptedExpert expert = new ScriptedExpert(ExpertConfig.DEFAULT, new SplittableRandom(0));
    Episode episode = runner.run(world, Task.pickUp(BlockColor.RED), expert, 0);
    assertFalse(episode.success());
    assertEquals(2, episode.subgoals().size(), "lift is never attempted");
    assertTrue(episode.subgoals().get(0).succeeded());
    SubgoalOutcome grasp = episode.subgoals().get(1);
    assertFalse(grasp.succeeded());
    assertEquals(Skill.GRASP.stepBudget(), grasp.steps());
    assertEquals(episode.subgoals().get(0).steps() + grasp.steps(), episode.steps().size());
  }
}
