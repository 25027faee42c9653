package io.vlaserve.sim.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.sim.BlockColor;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TaskTest {

  @Test
  void putOnPlateDecomposesIntoFiveSubgoals() {
    assertEquals(List.of(
            Subgoal.moveTo(BlockColor.RED), Subgoal.grasp(BlockColor.RED), Subgoal.lift(),
            Subgoal.moveAbovePlate(), Subgoal.release()),
        Task.putOnPlate(BlockColor.RED).subgoals());
    assertEquals(30 + 30 + 20 + 30 + 20, Task.putOnPlate(BlockColor.RED).stepBudget());
  }

  @Test
  void stackAndPickUpDecompose() {
    assertEquals(List.of(
            Subgoal.moveTo(BlockColor.GREEN), Subgoal.grasp(BlockColor.GREEN), Subgoal.lift(),
            Subgoal.moveAbove(BlockColor.BLUE), Subgoal.release()),
        Task.stack(BlockColor.GREEN, BlockColor.BLUE).subgoals());
    assertEquals(List.of(
            Subgoal.moveTo(BlockColor.YELLOW), Subgoal.grasp(BlockColor.YELLOW), Subgoal.lift()),
        Task.pickUp(BlockColor.YELLOW).subgoals());
  }

  @Test
  void sampledTasksOnlyNamePresentBlocksAndCoverEveryKind() {
    SplittableRandom random = new SplittableRandom(3);
    EnumSet<TaskKind> kinds = EnumSet.noneOf(TaskKind.class);
    for (long seed = 0; seed < 200; seed++) {
      WorldState state = new TabletopWorld(seed, WorldConfig.withBlocks(2)).snapshot();
      Task task = Task.sample(state, List.of(TaskKind.values()), random);
      assertTrue(task.isApplicableTo(state), task + " in " + state.describe());
      if (task.target() != null) {
        assertNotEquals(task.block(), task.target());
      }
      kinds.add(task.kind());
    }
    assertEquals(EnumSet.allOf(TaskKind.class), kinds);
  }

  @Test
  void singleBlockScenesNeverGetStackTasks() {
    SplittableRandom random = new SplittableRandom(4);
    for (long seed = 0; seed < 50; seed++) {
      WorldState state = new TabletopWorld(seed, WorldConfig.withBlocks(1)).snapshot();
      assertNotEquals(TaskKind.STACK, Task.sample(state, List.of(TaskKind.values()), random).kind());
    }
  }
}
