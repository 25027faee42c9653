package io.vlaserve.sim;

import io.vlaserve.skills.BlockColor;
import java.util.List;

/** Hand-built scenes for tests. */
public final class TestScenes {

  private TestScenes() {}

  /** A block of {@code color} resting on the table at (x, y). */
  public static BlockState onTable(BlockColor color, double x, double y) {
    return new BlockState(color, new Vec3(x, y, TabletopGeometry.BLOCK_HALF));
  }

  /**
   * A world with the gripper open and pointing down at {@code ee}, the plate at (plateX, plateY)
   * and the given resting blocks.
   */
  public static TabletopWorld world(Vec3 ee, double plateX, double plateY, BlockState... blocks) {
    return new TabletopWorld(new WorldState(
        ee, Quaternion.IDENTITY, ActionSpace.GRIPPER_OPEN, -1, List.of(blocks),
        new Vec3(plateX, plateY, 0), 0));
  }

  /** The standard test layout: red at (0.40, -0.15), blue at (0.60, 0.15), plate at (0.50, 0.0). */
  public static TabletopWorld redBluePlate() {
    return world(new Vec3(0.5, 0, 0.25), 0.50, 0.0,
        onTable(BlockColor.RED, 0.40, -0.15), onTable(BlockColor.BLUE, 0.60, 0.15));
  }

  /** Moves the TCP to (x, y, z), pointing down, with the given gripper command. */
  public static StepResult moveTo(TabletopWorld world, double x, double y, double z, double gripper) {
    return world.commandPose(new double[] {x, y, z}, new double[] {0, 0, 0, 1}, gripper);
  }

  /** Opens the gripper above block {@code index}, descends to its centre and closes. */
  public static StepResult graspBlock(TabletopWorld world, int index) {
    double x = world.blockX(index);
    double y = world.blockY(index);
    double z = world.blockZ(index);
    moveTo(world, x, y, z + 0.1, ActionSpace.GRIPPER_OPEN);
    moveTo(world, x, y, z, ActionSpace.GRIPPER_OPEN);
    return moveTo(world, x, y, z, ActionSpace.GRIPPER_CLOSED);
  }
}
