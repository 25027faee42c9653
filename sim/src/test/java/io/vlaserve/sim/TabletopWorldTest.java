package io.vlaserve.sim;

import io.vlaserve.skills.BlockColor;
import static io.vlaserve.sim.ActionSpace.GRIPPER_CLOSED;
import static io.vlaserve.sim.ActionSpace.GRIPPER_OPEN;
import static io.vlaserve.sim.TabletopGeometry.BLOCK_EDGE;
import static io.vlaserve.sim.TabletopGeometry.BLOCK_HALF;
import static io.vlaserve.sim.TabletopGeometry.PLATE_THICKNESS;
import static io.vlaserve.sim.TabletopGeometry.WORKSPACE_MAX;
import static io.vlaserve.sim.TabletopGeometry.WORKSPACE_MIN;
import static io.vlaserve.sim.TestScenes.graspBlock;
import static io.vlaserve.sim.TestScenes.moveTo;
import static io.vlaserve.sim.TestScenes.onTable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TabletopWorldTest {

  @Nested
  class Reset {

    @Test
    void sameSeedGivesSameSceneAndDifferentSeedsDiffer() {
      WorldState a = new TabletopWorld(7, WorldConfig.DEFAULT).snapshot();
      WorldState b = new TabletopWorld(7, WorldConfig.DEFAULT).snapshot();
      WorldState c = new TabletopWorld(8, WorldConfig.DEFAULT).snapshot();
      assertEquals(a, b);
      assertNotEquals(a, c);
    }

    @Test
    void resetRestoresTheSeededScene() {
      TabletopWorld world = new TabletopWorld(3, WorldConfig.DEFAULT);
      WorldState initial = world.snapshot();
      world.step(new double[] {0.05, 0.05, -0.05, 0.1, 0.1, 0.1, 0});
      world.reset(3);
      assertEquals(initial, world.snapshot());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void blocksAndPlateAreSeparatedAndStartPoseIsInTheUpperWorkspace(int blockCount) {
      EnumSet<BlockColor> coloursSeen = EnumSet.noneOf(BlockColor.class);
      for (long seed = 0; seed < 300; seed++) {
        WorldState state = new TabletopWorld(seed, WorldConfig.withBlocks(blockCount)).snapshot();
        assertEquals(blockCount, state.blocks().size());
        for (int i = 0; i < blockCount; i++) {
          BlockState block = state.blocks().get(i);
          coloursSeen.add(block.color());
          assertEquals(BLOCK_HALF, block.center().z(), 0.0, "rests on the table");
          assertTrue(block.center().horizontalDistanceTo(state.plateCenter())
              >= TabletopGeometry.MIN_BLOCK_PLATE_SPACING);
          assertEquals(Support.Kind.TABLE, state.supportUnder(i).kind());
          for (int j = 0; j < i; j++) {
            assertTrue(block.center().horizontalDistanceTo(state.blocks().get(j).center())
                >= TabletopGeometry.MIN_BLOCK_SPACING);
          }
        }
        Vec3 ee = state.eePosition();
        assertTrue(ee.z() >= TabletopGeometry.START_MIN.z() && ee.z() <= TabletopGeometry.START_MAX.z());
        assertEquals(GRIPPER_OPEN, state.gripper());
        assertFalse(state.isHolding());
      }
      assertEquals(EnumSet.allOf(BlockColor.class), coloursSeen, "every colour appears across seeds");
    }

    @Test
    void fixedStartPosePointsStraightDown() {
      WorldState state = new TabletopWorld(5, new WorldConfig(2, false)).snapshot();
      assertEquals(Quaternion.IDENTITY, state.eeOrientation());
      assertEquals(0.5, state.eePosition().x(), 1e-12);
    }
  }

  @Nested
  class Grasping {

    @Test
    void closingAroundABlockGraspsIt() {
      TabletopWorld world = TestScenes.redBluePlate();
      StepResult result = graspBlock(world, 0);
      assertEquals(GripperEvent.GRASPED, result.gripperEvent());
      assertEquals(0, world.heldIndex());
    }

    @Test
    void closingSlightlyOffCentreStillGrasps() {
      TabletopWorld world = TestScenes.redBluePlate();
      moveTo(world, 0.40 + 0.01, -0.15 + 0.01, BLOCK_HALF + 0.01, GRIPPER_OPEN);
      assertEquals(GripperEvent.GRASPED, moveTo(world, 0.41, -0.14, BLOCK_HALF + 0.01, GRIPPER_CLOSED).gripperEvent());
    }

    @ParameterizedTest
    @ValueSource(strings = {"horizontal", "vertical", "tilted", "elsewhere"})
    void closingAwayFromBlocksGraspsNothing(String how) {
      TabletopWorld world = TestScenes.redBluePlate();
      double x = 0.40;
      double y = -0.15;
      double z = BLOCK_HALF;
      double[] orientation = {0, 0, 0, 1};
      switch (how) {
        case "horizontal" -> x += TabletopGeometry.GRASP_HORIZONTAL_TOLERANCE + 0.002;
        case "vertical" -> z += TabletopGeometry.GRASP_VERTICAL_TOLERANCE + 0.002;
        case "tilted" -> orientation = Quaternion.fromRollPitchYaw(0.5, 0, 0).toArray();
        default -> x = 0.70;
      }
      world.commandPose(new double[] {x, y, z}, orientation, GRIPPER_OPEN);
      StepResult result = world.commandPose(new double[] {x, y, z}, orientation, GRIPPER_CLOSED);
      assertEquals(GripperEvent.GRASP_MISSED, result.gripperEvent());
      assertEquals(-1, world.heldIndex());
    }

    @Test
    void staysClosedDoesNotGraspLater() {
      TabletopWorld world = TestScenes.redBluePlate();
      moveTo(world, 0.55, -0.15, 0.05, GRIPPER_CLOSED);
      // Arriving closed around the block is not a grasp: only the closing moment counts.
      StepResult result = moveTo(world, 0.40, -0.15, BLOCK_HALF, GRIPPER_CLOSED);
      assertEquals(GripperEvent.NONE, result.gripperEvent());
      assertEquals(-1, world.heldIndex());
    }

    @Test
    void heldBlockMovesRigidlyWithTheGripper() {
      TabletopWorld world = TestScenes.redBluePlate();
      moveTo(world, 0.405, -0.155, BLOCK_HALF + 0.005, GRIPPER_OPEN);
      moveTo(world, 0.405, -0.155, BLOCK_HALF + 0.005, GRIPPER_CLOSED);
      double offsetX = world.blockX(0) - world.eeX();
      double offsetZ = world.blockZ(0) - world.eeZ();
      world.step(new double[] {0.05, 0.03, 0.05, 0.2, 0, 0.3, GRIPPER_CLOSED});
      world.step(new double[] {-0.02, 0.05, 0.04, 0, 0, 0, 0.2});
      assertEquals(offsetX, world.blockX(0) - world.eeX(), 1e-12);
      assertEquals(offsetZ, world.blockZ(0) - world.eeZ(), 1e-12);
      assertEquals(0.005, world.blockY(0) - world.eeY(), 1e-12);
    }

    @Test
    void aBlockWithAnotherOnTopCannotBeGrasped() {
      TabletopWorld world = TestScenes.world(new Vec3(0.5, 0, 0.25), 0.65, 0.2,
          onTable(BlockColor.RED, 0.40, -0.15),
          new BlockState(BlockColor.BLUE, new Vec3(0.40, -0.15, BLOCK_EDGE + BLOCK_HALF)));
      StepResult lower = graspBlock(world, 0);
      assertEquals(GripperEvent.GRASP_MISSED, lower.gripperEvent());
      StepResult upper = graspBlock(world, 1);
      assertEquals(GripperEvent.GRASPED, upper.gripperEvent());
      assertEquals(1, world.heldIndex());
    }
  }

  @Nested
  class Releasing {

    @Test
    void releasedAbovePlateLandsOnThePlate() {
      TabletopWorld world = TestScenes.redBluePlate();
      graspBlock(world, 0);
      moveTo(world, 0.52, 0.02, 0.15, GRIPPER_CLOSED);
      StepResult result = moveTo(world, 0.52, 0.02, 0.15, GRIPPER_OPEN);
      assertEquals(GripperEvent.RELEASED, result.gripperEvent());
      WorldState state = world.snapshot();
      assertEquals(PLATE_THICKNESS + BLOCK_HALF, world.blockZ(0), 1e-12);
      assertEquals(Support.Kind.PLATE, state.supportUnder(0).kind());
      assertTrue(state.isResting(0));
      assertEquals(0.52, world.blockX(0), 1e-12);
    }

    @Test
    void releasedElsewhereLandsOnTheTable() {
      TabletopWorld world = TestScenes.redBluePlate();
      graspBlock(world, 0);
      moveTo(world, 0.30, 0.20, 0.3, GRIPPER_CLOSED);
      moveTo(world, 0.30, 0.20, 0.3, GRIPPER_OPEN);
      assertEquals(BLOCK_HALF, world.blockZ(0), 1e-12);
      assertEquals(Support.Kind.TABLE, world.snapshot().supportUnder(0).kind());
    }

    @Test
    void releasedAboveAnotherBlockLandsOnIt() {
      TabletopWorld world = TestScenes.redBluePlate();
      graspBlock(world, 0);
      // Partially over the blue block: the highest surface under the footprint wins.
      moveTo(world, 0.61, 0.13, 0.2, GRIPPER_CLOSED);
      moveTo(world, 0.61, 0.13, 0.2, GRIPPER_OPEN);
      WorldState state = world.snapshot();
      assertEquals(BLOCK_EDGE + BLOCK_HALF, world.blockZ(0), 1e-12);
      Support support = state.supportUnder(0);
      assertEquals(Support.Kind.BLOCK, support.kind());
      assertEquals(1, support.blockIndex());
    }

    @Test
    void openingWithNothingHeldIsReportedAsOpened() {
      TabletopWorld world = TestScenes.redBluePlate();
      moveTo(world, 0.5, 0.0, 0.2, GRIPPER_CLOSED);
      assertEquals(GripperEvent.OPENED, moveTo(world, 0.5, 0.0, 0.2, 0.7).gripperEvent());
    }
  }

  @Nested
  class Clamping {

    @Test
    void leavingTheWorkspaceIsClampedAndReported() {
      TabletopWorld world = TestScenes.redBluePlate();
      StepResult result = moveTo(world, 2.0, -2.0, -1.0, GRIPPER_OPEN);
      assertTrue(result.workspaceClamped());
      assertFalse(result.actionClamped());
      assertEquals(WORKSPACE_MAX.x(), world.eeX());
      assertEquals(WORKSPACE_MIN.y(), world.eeY());
      assertEquals(WORKSPACE_MIN.z(), world.eeZ());
      assertFalse(moveTo(world, 0.5, 0, 0.2, GRIPPER_OPEN).workspaceClamped());
    }

    @Test
    void stepsPastTheWorkspaceEdgeAreClampedAndReported() {
      TabletopWorld world = TestScenes.redBluePlate();
      StepResult last = null;
      for (int i = 0; i < 10; i++) {
        last = world.step(new double[] {0, 0, -0.05, 0, 0, 0, GRIPPER_OPEN});
      }
      assertTrue(last.workspaceClamped());
      assertEquals(WORKSPACE_MIN.z(), world.eeZ());
    }

    @Test
    void oversizedDeltasAreClampedToThePerStepBoundsAndReported() {
      TabletopWorld world = TestScenes.redBluePlate();
      StepResult result = world.step(new double[] {1e6, -3, 0, 0, 0, 5, 9});
      assertTrue(result.actionClamped());
      assertEquals(0.55, world.eeX(), 1e-12);
      assertEquals(-0.05, world.eeY(), 1e-12);
      assertEquals(0.4, world.snapshot().eeOrientation().toRollPitchYaw()[2], 1e-9);
      assertEquals(GRIPPER_OPEN, world.gripper());
    }

    @Test
    void carriedBlockIsLiftedOverABlockInItsWay() {
      TabletopWorld world = TestScenes.redBluePlate();
      graspBlock(world, 0);
      moveTo(world, 0.50, 0.15, BLOCK_HALF, GRIPPER_CLOSED);
      StepResult result = moveTo(world, 0.60, 0.15, BLOCK_HALF, GRIPPER_CLOSED);
      assertTrue(result.supportClamped());
      assertEquals(BLOCK_EDGE, world.blockZ(0) - BLOCK_HALF, 1e-12, "rides on top of blue");
      assertEquals(BLOCK_EDGE + BLOCK_HALF, world.eeZ(), 1e-12);
    }

    @Test
    void gripperCommandOutsideZeroOneIsClampedAndReported() {
      TabletopWorld world = TestScenes.redBluePlate();
      StepResult result = world.commandPose(new double[] {0.5, 0, 0.2}, new double[] {0, 0, 0, 1}, 1.5);
      assertTrue(result.actionClamped());
      assertEquals(GRIPPER_OPEN, world.gripper());
    }
  }

  @Nested
  class Validation {

    @Test
    void nanActionIsRejectedNamingIndexAndValueAndChangesNothing() {
      TabletopWorld world = TestScenes.redBluePlate();
      WorldState before = world.snapshot();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> world.step(new double[] {0.01, 0, Double.NaN, 0, 0, 0, 1}));
      assertEquals("action[2] (dz) = NaN (expected a finite number)", e.getMessage());
      assertEquals(before, world.snapshot());
    }

    @Test
    void infiniteActionIsRejectedNamingIndexAndValue() {
      TabletopWorld world = TestScenes.redBluePlate();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> world.step(new double[] {0, 0, 0, 0, 0, Double.POSITIVE_INFINITY, 1}));
      assertEquals("action[5] (dyaw) = Infinity (expected a finite number)", e.getMessage());
    }

    @Test
    void badPoseCommandsAreRejected() {
      TabletopWorld world = TestScenes.redBluePlate();
      WorldState before = world.snapshot();
      double[] down = {0, 0, 0, 1};
      assertEquals("position[1] = NaN (expected a finite number)", assertThrows(IllegalArgumentException.class,
          () -> world.commandPose(new double[] {0.5, Double.NaN, 0.2}, down, 1)).getMessage());
      assertTrue(assertThrows(IllegalArgumentException.class,
          () -> world.commandPose(new double[] {0.5, 0, 0.2}, new double[] {0, 0, 0, 0}, 1))
          .getMessage().contains("non-zero quaternion"));
      assertTrue(assertThrows(IllegalArgumentException.class,
          () -> world.commandPose(new double[] {0.5, 0, 0.2}, down, Double.NEGATIVE_INFINITY))
          .getMessage().startsWith("gripper = -Infinity"));
      assertEquals(before, world.snapshot());
    }
  }

  @Test
  void steppingAllocatesNothing() {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    TabletopWorld world = new TabletopWorld(2, WorldConfig.withBlocks(4));
    double[] action = {0.01, -0.02, -0.03, 0.1, 0.05, -0.2, GRIPPER_OPEN};
    double[] pose = {0.5, 0.0, 0.2};
    double[] down = {0, 0, 0, 1};
    double[] proprio = new double[ActionSpace.PROPRIO_DIMENSIONS];
    for (int i = 0; i < 1000; i++) {
      world.step(action);
      world.commandPose(pose, down, i % 2);
    }
    long thread = Thread.currentThread().threadId();
    long before = threads.getThreadAllocatedBytes(thread);
    for (int i = 0; i < 10_000; i++) {
      action[ActionSpace.GRIPPER] = i % 3 == 0 ? GRIPPER_CLOSED : GRIPPER_OPEN;
      action[ActionSpace.DZ] = i % 2 == 0 ? -0.03 : 0.03;
      world.step(action);
      world.commandPose(pose, down, i % 2);
      world.writeProprio(proprio);
    }
    long allocated = threads.getThreadAllocatedBytes(thread) - before;
    // One object per command would be at least 16 bytes * 20,000 commands = 320 KB; allow a few
    // KB for whatever the JIT or the measurement itself allocates on this thread.
    assertTrue(allocated < 8 * 1024, "allocated " + allocated + " bytes in 20,000 commands");
  }

  @Nested
  class Snapshots {

    @Test
    void restoringASnapshotReproducesTheFuture() {
      TabletopWorld world = new TabletopWorld(11, WorldConfig.withBlocks(4));
      graspBlock(world, 2);
      WorldState middle = world.snapshot();
      double[] action = {0.03, -0.02, 0.04, 0.1, -0.1, 0.2, GRIPPER_CLOSED};
      world.step(action);
      TabletopWorld copy = new TabletopWorld(middle);
      copy.step(action);
      assertEquals(world.snapshot(), copy.snapshot());
    }

    @Test
    void restoreRejectsOverlappingBlocks() {
      WorldState overlapping = new WorldState(new Vec3(0.5, 0, 0.2), Quaternion.IDENTITY, 1, -1,
          List.of(onTable(BlockColor.RED, 0.4, 0), onTable(BlockColor.GREEN, 0.42, 0.01)),
          new Vec3(0.6, 0.15, 0), 0);
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> new TabletopWorld(overlapping));
      assertTrue(e.getMessage().endsWith("(expected disjoint blocks)"), e.getMessage());
    }

    @Test
    void restoreRejectsAFloatingBlock() {
      WorldState floating = new WorldState(new Vec3(0.5, 0, 0.2), Quaternion.IDENTITY, 1, -1,
          List.of(new BlockState(BlockColor.RED, new Vec3(0.4, 0, 0.1))), new Vec3(0.6, 0.1, 0), 0);
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> new TabletopWorld(floating));
      assertTrue(e.getMessage().startsWith("red block bottom at 0.08"), e.getMessage());
    }

    @Test
    void proprioMatchesTheSnapshot() {
      TabletopWorld world = new TabletopWorld(4, WorldConfig.DEFAULT);
      double[] proprio = new double[ActionSpace.PROPRIO_DIMENSIONS];
      world.writeProprio(proprio);
      assertArrayEquals(world.snapshot().proprio(), proprio);
    }

    @Test
    void describeNamesEveryBlockAndItsSupport() {
      TabletopWorld world = TestScenes.redBluePlate();
      graspBlock(world, 0);
      moveTo(world, 0.6, 0.15, 0.2, GRIPPER_CLOSED);
      moveTo(world, 0.6, 0.15, 0.2, GRIPPER_OPEN);
      String text = world.snapshot().describe();
      assertTrue(text.contains("red block at (0.60, 0.15, 0.06) on the blue block."), text);
      assertTrue(text.contains("blue block at (0.60, 0.15, 0.02) on the table."), text);
      assertTrue(text.endsWith("gripper open, holding nothing."), text);
    }
  }
}
