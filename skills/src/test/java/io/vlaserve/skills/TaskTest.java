package io.vlaserve.skills;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
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
}
