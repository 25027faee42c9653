package io.vlaserve.sim.task;

import io.vlaserve.skills.Subgoal;
import io.vlaserve.skills.Task;
import static io.vlaserve.sim.ActionSpace.GRIPPER_CLOSED;
import static io.vlaserve.sim.ActionSpace.GRIPPER_OPEN;
import static io.vlaserve.sim.TestScenes.graspBlock;
import static io.vlaserve.sim.TestScenes.moveTo;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.skills.BlockColor;
import io.vlaserve.sim.Quaternion;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.TestScenes;
import io.vlaserve.sim.WorldState;
import org.junit.jupiter.api.Test;

/** Red at (0.40, -0.15), blue at (0.60, 0.15), plate at (0.50, 0.00); see {@link TestScenes}. */
class SuccessPredicatesTest {

  private static boolean holds(Subgoal subgoal, WorldState state) {
    return SuccessPredicates.isSatisfied(subgoal, state, state);
  }

  @Test
  void moveToNeedsHoverHeightAlignmentAndUprightOpenGripper() {
    TabletopWorld world = TestScenes.redBluePlate();
    Subgoal moveToRed = Subgoal.moveTo(BlockColor.RED);
    double hover = 0.04 + SuccessPredicates.HOVER_HEIGHT;
    moveTo(world, 0.40 + 0.008, -0.15, hover + 0.015, GRIPPER_OPEN);
    assertTrue(holds(moveToRed, world.snapshot()));
    assertFalse(holds(Subgoal.moveTo(BlockColor.BLUE), world.snapshot()));
    moveTo(world, 0.40 + 0.015, -0.15, hover, GRIPPER_OPEN);
    assertFalse(holds(moveToRed, world.snapshot()), "too far sideways");
    moveTo(world, 0.40, -0.15, hover + 0.03, GRIPPER_OPEN);
    assertFalse(holds(moveToRed, world.snapshot()), "too high");
    world.commandPose(new double[] {0.40, -0.15, hover}, Quaternion.fromRollPitchYaw(0, 0, 0.3).toArray(), 1);
    assertFalse(holds(moveToRed, world.snapshot()), "yawed");
    moveTo(world, 0.40, -0.15, hover, GRIPPER_CLOSED);
    assertFalse(holds(moveToRed, world.snapshot()), "closed");
  }

  @Test
  void graspNeedsTheNamedBlockLiftedOffItsSupport() {
    TabletopWorld world = TestScenes.redBluePlate();
    graspBlock(world, 0);
    assertFalse(holds(Subgoal.grasp(BlockColor.RED), world.snapshot()), "held but not lifted yet");
    moveTo(world, 0.40, -0.15, 0.02 + 0.012, GRIPPER_CLOSED);
    assertTrue(holds(Subgoal.grasp(BlockColor.RED), world.snapshot()));
    assertFalse(holds(Subgoal.grasp(BlockColor.BLUE), world.snapshot()));
  }

  @Test
  void liftAndMoveAbovePlate() {
    TabletopWorld world = TestScenes.redBluePlate();
    graspBlock(world, 0);
    moveTo(world, 0.40, -0.15, 0.17, GRIPPER_CLOSED);
    assertFalse(holds(Subgoal.lift(), world.snapshot()));
    moveTo(world, 0.40, -0.15, 0.19, GRIPPER_CLOSED);
    assertTrue(holds(Subgoal.lift(), world.snapshot()));
    assertFalse(holds(Subgoal.moveAbovePlate(), world.snapshot()));
    moveTo(world, 0.52, 0.02, 0.19, GRIPPER_CLOSED);
    assertTrue(holds(Subgoal.moveAbovePlate(), world.snapshot()));
    moveTo(world, 0.52, 0.02, 0.02 + 0.005 + 0.01, GRIPPER_CLOSED);
    assertFalse(holds(Subgoal.moveAbovePlate(), world.snapshot()), "too low over the plate");
  }

  @Test
  void releaseMustLandOnTheSurfaceItWasAbove() {
    TabletopWorld world = TestScenes.redBluePlate();
    graspBlock(world, 0);
    moveTo(world, 0.50, 0.0, 0.15, GRIPPER_CLOSED);
    WorldState overPlate = world.snapshot();
    moveTo(world, 0.50, 0.0, 0.05, GRIPPER_CLOSED);
    assertFalse(SuccessPredicates.isSatisfied(Subgoal.release(), overPlate, world.snapshot()), "not yet open");
    moveTo(world, 0.50, 0.0, 0.05, GRIPPER_OPEN);
    assertTrue(SuccessPredicates.isSatisfied(Subgoal.release(), overPlate, world.snapshot()));
    assertTrue(SuccessPredicates.isSatisfied(Task.putOnPlate(BlockColor.RED), world.snapshot()));

    TabletopWorld drifted = TestScenes.redBluePlate();
    graspBlock(drifted, 0);
    moveTo(drifted, 0.50, 0.0, 0.15, GRIPPER_CLOSED);
    WorldState start = drifted.snapshot();
    moveTo(drifted, 0.30, 0.0, 0.05, GRIPPER_CLOSED);
    moveTo(drifted, 0.30, 0.0, 0.05, GRIPPER_OPEN);
    assertFalse(SuccessPredicates.isSatisfied(Subgoal.release(), start, drifted.snapshot()), "landed on the table");
    assertFalse(SuccessPredicates.isSatisfied(Task.putOnPlate(BlockColor.RED), drifted.snapshot()));
  }

  @Test
  void stackNeedsTheBlockCentredOnTheTarget() {
    TabletopWorld world = TestScenes.redBluePlate();
    graspBlock(world, 0);
    moveTo(world, 0.605, 0.155, 0.2, GRIPPER_CLOSED);
    assertTrue(holds(Subgoal.moveAbove(BlockColor.BLUE), world.snapshot()));
    moveTo(world, 0.605, 0.155, 0.2, GRIPPER_OPEN);
    assertTrue(SuccessPredicates.isSatisfied(Task.stack(BlockColor.RED, BlockColor.BLUE), world.snapshot()));
    assertFalse(SuccessPredicates.isSatisfied(Task.stack(BlockColor.BLUE, BlockColor.RED), world.snapshot()));

    TabletopWorld offCentre = TestScenes.redBluePlate();
    graspBlock(offCentre, 0);
    moveTo(offCentre, 0.63, 0.15, 0.2, GRIPPER_CLOSED);
    assertFalse(holds(Subgoal.moveAbove(BlockColor.BLUE), offCentre.snapshot()));
    moveTo(offCentre, 0.63, 0.15, 0.2, GRIPPER_OPEN);
    assertFalse(SuccessPredicates.isSatisfied(Task.stack(BlockColor.RED, BlockColor.BLUE), offCentre.snapshot()),
        "rests on blue but hangs over its edge");
  }

  @Test
  void pickUpNeedsTheBlockHeldHigh() {
    TabletopWorld world = TestScenes.redBluePlate();
    graspBlock(world, 0);
    assertFalse(SuccessPredicates.isSatisfied(Task.pickUp(BlockColor.RED), world.snapshot()));
    moveTo(world, 0.4, -0.15, 0.2, GRIPPER_CLOSED);
    assertTrue(SuccessPredicates.isSatisfied(Task.pickUp(BlockColor.RED), world.snapshot()));
    assertFalse(SuccessPredicates.isSatisfied(Task.pickUp(BlockColor.BLUE), world.snapshot()));
  }

  @Test
  void absentColoursAreNeverAchieved() {
    WorldState state = TestScenes.redBluePlate().snapshot();
    assertFalse(holds(Subgoal.moveTo(BlockColor.YELLOW), state));
    assertFalse(SuccessPredicates.isSatisfied(Task.putOnPlate(BlockColor.GREEN), state));
  }
}
