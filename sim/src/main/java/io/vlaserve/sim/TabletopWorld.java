package io.vlaserve.sim;

import io.vlaserve.skills.BlockColor;
import static io.vlaserve.sim.TabletopGeometry.BLOCK_HALF;
import static io.vlaserve.sim.TabletopGeometry.WORKSPACE_MAX;
import static io.vlaserve.sim.TabletopGeometry.WORKSPACE_MIN;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A kinematic tabletop world: a parallel gripper, a few cube blocks and a plate on a table.
 *
 * <p>The end effector moves exactly to each commanded pose, clamped to the workspace box. Closing
 * the gripper (its opening crossing below {@link ActionSpace#GRIPPER_THRESHOLD}) while the
 * fingers surround a block attaches that block, which is then carried rigidly (translation only:
 * blocks stay axis-aligned). Opening drops the carried block straight down onto the highest
 * surface under its footprint: table, plate or another block. There are no forces, velocities,
 * friction or toppling; the empty gripper passes through blocks, but neither it nor a carried
 * block ever goes below the table, and a carried block is lifted over whatever is under it, so
 * blocks never interpenetrate.
 *
 * <p>Reset from a seed is reproducible on every JVM: randomness comes from {@link SplittableRandom}
 * (SplitMix64) only. {@link #step} and {@link #commandPose} allocate nothing.
 *
 * <p>Not thread-safe: confine each world to one thread, or guard it externally.
 */
public final class TabletopWorld {

  private static final int MAX_BLOCKS = BlockColor.values().length;
  private static final int PLACEMENT_ATTEMPTS = 10_000;
  private static final double COS_GRASP_MAX_TILT = StrictMath.cos(TabletopGeometry.GRASP_MAX_TILT);

  private final WorldConfig config;

  private int blockCount;
  private final BlockColor[] colors = new BlockColor[MAX_BLOCKS];
  private final double[] blockX = new double[MAX_BLOCKS];
  private final double[] blockY = new double[MAX_BLOCKS];
  private final double[] blockZ = new double[MAX_BLOCKS];
  private double plateX;
  private double plateY;

  private double eeX;
  private double eeY;
  private double eeZ;
  /** Orientation as {@code [x, y, z, w]}, unit, canonical. */
  private final double[] orientation = new double[4];
  private double gripper;
  /** Index of the carried block, or -1. */
  private int held = -1;
  private double heldOffsetX;
  private double heldOffsetY;
  private double heldOffsetZ;
  private long stepCount;

  private final double[] actionScratch = new double[ActionSpace.DIMENSIONS];
  private final double[] rotationScratch = new double[4];

  /** Creates a world and resets it from {@code seed}. */
  public TabletopWorld(long seed, WorldConfig config) {
    this.config = Objects.requireNonNull(config, "config");
    reset(seed);
  }

  /**
   * Creates a world in exactly the given state (see {@link #restore}); a later {@link #reset}
   * places as many blocks as the state has, from a random start pose.
   */
  public TabletopWorld(WorldState state) {
    this.config = new WorldConfig(state.blocks().size(), true);
    restore(state);
  }

  /** Returns the config used by {@link #reset}. */
  public WorldConfig config() {
    return config;
  }

  /**
   * Re-randomises the scene from {@code seed}: block colours, non-overlapping block and plate
   * positions, and the start pose; the gripper starts open and empty.
   */
  public void reset(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    BlockColor[] shuffled = BlockColor.values();
    for (int i = shuffled.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      BlockColor swap = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = swap;
    }
    blockCount = config.blockCount();
    System.arraycopy(shuffled, 0, colors, 0, blockCount);
    // Sorted by colour so that block order reads red, green, blue, yellow whatever the shuffle.
    Arrays.sort(colors, 0, blockCount);

    plateX = uniform(random, TabletopGeometry.PLACEMENT_MIN_X, TabletopGeometry.PLACEMENT_MAX_X);
    plateY = uniform(random, TabletopGeometry.PLACEMENT_MIN_Y, TabletopGeometry.PLACEMENT_MAX_Y);
    for (int i = 0; i < blockCount; i++) {
      placeBlock(random, i);
    }

    if (config.randomStartPose()) {
      eeX = uniform(random, TabletopGeometry.START_MIN.x(), TabletopGeometry.START_MAX.x());
      eeY = uniform(random, TabletopGeometry.START_MIN.y(), TabletopGeometry.START_MAX.y());
      eeZ = uniform(random, TabletopGeometry.START_MIN.z(), TabletopGeometry.START_MAX.z());
      double roll = uniform(random, -TabletopGeometry.START_MAX_TILT, TabletopGeometry.START_MAX_TILT);
      double pitch = uniform(random, -TabletopGeometry.START_MAX_TILT, TabletopGeometry.START_MAX_TILT);
      double yaw = uniform(random, -TabletopGeometry.START_MAX_YAW, TabletopGeometry.START_MAX_YAW);
      QuaternionMath.fromRollPitchYaw(roll, pitch, yaw, orientation);
    } else {
      eeX = (TabletopGeometry.START_MIN.x() + TabletopGeometry.START_MAX.x()) / 2;
      eeY = (TabletopGeometry.START_MIN.y() + TabletopGeometry.START_MAX.y()) / 2;
      eeZ = (TabletopGeometry.START_MIN.z() + TabletopGeometry.START_MAX.z()) / 2;
      QuaternionMath.fromRollPitchYaw(0, 0, 0, orientation);
    }
    gripper = ActionSpace.GRIPPER_OPEN;
    held = -1;
    stepCount = 0;
  }

  private void placeBlock(SplittableRandom random, int index) {
    for (int attempt = 0; attempt < PLACEMENT_ATTEMPTS; attempt++) {
      double x = uniform(random, TabletopGeometry.PLACEMENT_MIN_X, TabletopGeometry.PLACEMENT_MAX_X);
      double y = uniform(random, TabletopGeometry.PLACEMENT_MIN_Y, TabletopGeometry.PLACEMENT_MAX_Y);
      if (Math.hypot(x - plateX, y - plateY) < TabletopGeometry.MIN_BLOCK_PLATE_SPACING) {
        continue;
      }
      boolean clear = true;
      for (int other = 0; other < index && clear; other++) {
        clear = Math.hypot(x - blockX[other], y - blockY[other]) >= TabletopGeometry.MIN_BLOCK_SPACING;
      }
      if (clear) {
        blockX[index] = x;
        blockY[index] = y;
        blockZ[index] = BLOCK_HALF;
        return;
      }
    }
    // Four blocks and a plate use well under half the placement region, so this means a bug.
    throw new IllegalStateException("could not place block " + index + " without overlap");
  }

  private static double uniform(SplittableRandom random, double low, double high) {
    return low + (high - low) * random.nextDouble();
  }

  /**
   * Puts the world into exactly {@code state}.
   *
   * @throws IllegalArgumentException if the state is not physically consistent: TCP outside the
   *     workspace, a carried block with the gripper open, overlapping blocks, a block that does not
   *     rest exactly on the surface under it, or a carried block below that surface
   */
  public void restore(WorldState state) {
    Vec3 ee = state.eePosition();
    if (!insideWorkspace(ee.x(), ee.y(), ee.z())) {
      throw new IllegalArgumentException(
          "eePosition " + ee + " (expected inside " + WORKSPACE_MIN + ".." + WORKSPACE_MAX + ")");
    }
    if (state.isHolding() && state.gripper() >= ActionSpace.GRIPPER_THRESHOLD) {
      throw new IllegalArgumentException(
          "gripper " + state.gripper() + " while holding a block (expected < " + ActionSpace.GRIPPER_THRESHOLD + ")");
    }
    if (state.blocks().isEmpty()) {
      throw new IllegalArgumentException("no blocks (expected 1.." + MAX_BLOCKS + ")");
    }
    for (int i = 0; i < state.blocks().size(); i++) {
      BlockState block = state.blocks().get(i);
      for (int j = 0; j < i; j++) {
        Vec3 a = block.center();
        Vec3 b = state.blocks().get(j).center();
        if (TabletopGeometry.footprintsOverlap(a.x(), a.y(), b.x(), b.y())
            && Math.abs(a.z() - b.z()) < TabletopGeometry.BLOCK_EDGE - 1e-6) {
          throw new IllegalArgumentException(block.color().word() + " block at " + a + " overlaps the "
              + state.blocks().get(j).color().word() + " block at " + b + " (expected disjoint blocks)");
        }
      }
      double support = state.supportUnder(i).height();
      boolean consistent = i == state.heldIndex()
          ? block.bottom() >= support - 1e-6
          : Math.abs(block.bottom() - support) <= 1e-6;
      if (!consistent) {
        throw new IllegalArgumentException(
            block.color().word() + " block bottom at " + block.bottom() + " over a surface at "
                + support + " (expected resting on it, or above it if carried)");
      }
    }
    blockCount = state.blocks().size();
    for (int i = 0; i < blockCount; i++) {
      BlockState block = state.blocks().get(i);
      colors[i] = block.color();
      blockX[i] = block.center().x();
      blockY[i] = block.center().y();
      blockZ[i] = block.center().z();
    }
    plateX = state.plateCenter().x();
    plateY = state.plateCenter().y();
    eeX = ee.x();
    eeY = ee.y();
    eeZ = ee.z();
    Quaternion q = state.eeOrientation();
    orientation[0] = q.x();
    orientation[1] = q.y();
    orientation[2] = q.z();
    orientation[3] = q.w();
    QuaternionMath.normalizeInPlace(orientation, "eeOrientation");
    gripper = state.gripper();
    held = state.heldIndex();
    if (held >= 0) {
      heldOffsetX = blockX[held] - eeX;
      heldOffsetY = blockY[held] - eeY;
      heldOffsetZ = blockZ[held] - eeZ;
    }
    stepCount = state.stepCount();
  }

  /**
   * Applies one control step of end-effector deltas; see {@link ActionSpace} for the layout.
   * Deltas beyond the per-step bounds are clamped (and reported).
   *
   * @param action {@code [dx, dy, dz, droll, dpitch, dyaw, gripper]}; not modified
   * @throws IllegalArgumentException if the length is not 7 or a value is NaN or infinite; the
   *     message names the index and the value. The world is unchanged then.
   */
  public StepResult step(double[] action) {
    ActionSpace.checkFinite(action);
    double[] a = actionScratch;
    System.arraycopy(action, 0, a, 0, ActionSpace.DIMENSIONS);
    boolean actionClamped = ActionSpace.clampInPlace(a);
    QuaternionMath.fromRollPitchYaw(
        a[ActionSpace.DROLL], a[ActionSpace.DPITCH], a[ActionSpace.DYAW], rotationScratch);
    // Extrinsic increments act in the world frame, so they multiply on the left.
    QuaternionMath.multiply(rotationScratch, orientation, orientation);
    renormalize(orientation);
    return apply(eeX + a[ActionSpace.DX], eeY + a[ActionSpace.DY], eeZ + a[ActionSpace.DZ],
        a[ActionSpace.GRIPPER], actionClamped);
  }

  /**
   * Moves the end effector to an absolute pose, as a high-rate (e.g. 1 kHz) controller would;
   * the same clamping, grasp and release rules as {@link #step} apply.
   *
   * @param position target TCP {@code [x, y, z]}, metres; clamped to the workspace
   * @param orientationXyzw target orientation {@code [x, y, z, w]}, normalised here; not modified
   * @param gripperCommand target opening, clamped to 0..1
   * @throws IllegalArgumentException if a value is NaN or infinite, an array has the wrong length,
   *     or the quaternion is zero. The world is unchanged then.
   */
  public StepResult commandPose(double[] position, double[] orientationXyzw, double gripperCommand) {
    if (position.length != 3) {
      throw new IllegalArgumentException("position length " + position.length + " (expected 3: x, y, z)");
    }
    for (int i = 0; i < 3; i++) {
      if (!Double.isFinite(position[i])) {
        throw new IllegalArgumentException(
            "position[" + i + "] = " + position[i] + " (expected a finite number)");
      }
    }
    if (!Double.isFinite(gripperCommand)) {
      throw new IllegalArgumentException("gripper = " + gripperCommand + " (expected a finite number in 0..1)");
    }
    if (orientationXyzw.length != 4) {
      throw new IllegalArgumentException(
          "orientation length " + orientationXyzw.length + " (expected 4: x, y, z, w)");
    }
    System.arraycopy(orientationXyzw, 0, rotationScratch, 0, 4);
    QuaternionMath.normalizeInPlace(rotationScratch, "orientation");
    System.arraycopy(rotationScratch, 0, orientation, 0, 4);
    double command = Math.max(ActionSpace.GRIPPER_CLOSED, Math.min(ActionSpace.GRIPPER_OPEN, gripperCommand));
    return apply(position[0], position[1], position[2], command, command != gripperCommand);
  }

  /** Convenience form of {@link #commandPose(double[], double[], double)}; allocates. */
  public StepResult commandPose(Vec3 position, Quaternion orientation, double gripperCommand) {
    return commandPose(position.toArray(), orientation.toArray(), gripperCommand);
  }

  private StepResult apply(double x, double y, double z, double gripperCommand, boolean actionClamped) {
    eeX = clamp(x, WORKSPACE_MIN.x(), WORKSPACE_MAX.x());
    eeY = clamp(y, WORKSPACE_MIN.y(), WORKSPACE_MAX.y());
    eeZ = clamp(z, WORKSPACE_MIN.z(), WORKSPACE_MAX.z());
    boolean workspaceClamped = eeX != x || eeY != y || eeZ != z;

    boolean supportClamped = false;
    if (held >= 0) {
      double carriedX = eeX + heldOffsetX;
      double carriedY = eeY + heldOffsetY;
      int support = Supports.highest(
          carriedX, carriedY, plateX, plateY, blockX, blockY, blockZ, blockCount, held, -1,
          Double.POSITIVE_INFINITY);
      double deficit = Supports.height(support, blockZ) - (eeZ + heldOffsetZ - BLOCK_HALF);
      if (deficit > 0) {
        // Lifting over the obstacle keeps blocks from interpenetrating. The stack is at most
        // 0.13 m high, so this never pushes the TCP above the workspace.
        eeZ += deficit;
        supportClamped = true;
      }
      blockX[held] = carriedX;
      blockY[held] = carriedY;
      blockZ[held] = eeZ + heldOffsetZ;
    }

    boolean wasOpen = gripper >= ActionSpace.GRIPPER_THRESHOLD;
    boolean nowOpen = gripperCommand >= ActionSpace.GRIPPER_THRESHOLD;
    gripper = gripperCommand;
    GripperEvent event = GripperEvent.NONE;
    if (wasOpen && !nowOpen) {
      event = tryGrasp() ? GripperEvent.GRASPED : GripperEvent.GRASP_MISSED;
    } else if (!wasOpen && nowOpen) {
      event = held >= 0 ? GripperEvent.RELEASED : GripperEvent.OPENED;
      release();
    }
    stepCount++;
    return StepResult.of(actionClamped, workspaceClamped, supportClamped, event);
  }

  private boolean tryGrasp() {
    if (QuaternionMath.cosTilt(orientation[0], orientation[1], orientation[2], orientation[3])
        < COS_GRASP_MAX_TILT) {
      return false;
    }
    int best = -1;
    double bestDistance = Double.POSITIVE_INFINITY;
    for (int i = 0; i < blockCount; i++) {
      double horizontal = Math.hypot(blockX[i] - eeX, blockY[i] - eeY);
      boolean between = horizontal <= TabletopGeometry.GRASP_HORIZONTAL_TOLERANCE
          && Math.abs(blockZ[i] - eeZ) <= TabletopGeometry.GRASP_VERTICAL_TOLERANCE;
      // A block with another on top cannot be lifted out without the top one floating.
      if (between && horizontal < bestDistance && !supportsAnotherBlock(i)) {
        best = i;
        bestDistance = horizontal;
      }
    }
    if (best < 0) {
      return false;
    }
    held = best;
    heldOffsetX = blockX[best] - eeX;
    heldOffsetY = blockY[best] - eeY;
    heldOffsetZ = blockZ[best] - eeZ;
    return true;
  }

  private boolean supportsAnotherBlock(int index) {
    double top = blockZ[index] + BLOCK_HALF;
    for (int i = 0; i < blockCount; i++) {
      if (i != index
          && TabletopGeometry.footprintsOverlap(blockX[i], blockY[i], blockX[index], blockY[index])
          && Math.abs(blockZ[i] - BLOCK_HALF - top) <= 1e-6) {
        return true;
      }
    }
    return false;
  }

  private void release() {
    if (held < 0) {
      return;
    }
    int support = Supports.highest(
        blockX[held], blockY[held], plateX, plateY, blockX, blockY, blockZ, blockCount, held, -1,
        // Carrying keeps the block above everything under it, so nothing is excluded here.
        Double.POSITIVE_INFINITY);
    blockZ[held] = Supports.height(support, blockZ) + BLOCK_HALF;
    held = -1;
  }

  private static void renormalize(double[] q) {
    double norm = Math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    for (int i = 0; i < 4; i++) {
      q[i] /= norm;
    }
    QuaternionMath.canonicalize(q);
  }

  private static double clamp(double value, double low, double high) {
    return Math.max(low, Math.min(high, value));
  }

  private static boolean insideWorkspace(double x, double y, double z) {
    return x >= WORKSPACE_MIN.x() && x <= WORKSPACE_MAX.x()
        && y >= WORKSPACE_MIN.y() && y <= WORKSPACE_MAX.y()
        && z >= WORKSPACE_MIN.z() && z <= WORKSPACE_MAX.z();
  }

  /** Returns an immutable snapshot of the current state; allocates. */
  public WorldState snapshot() {
    List<BlockState> blocks = new ArrayList<>(blockCount);
    for (int i = 0; i < blockCount; i++) {
      blocks.add(new BlockState(colors[i], new Vec3(blockX[i], blockY[i], blockZ[i])));
    }
    return new WorldState(
        new Vec3(eeX, eeY, eeZ),
        new Quaternion(orientation[0], orientation[1], orientation[2], orientation[3]),
        gripper, held, blocks, new Vec3(plateX, plateY, 0), stepCount);
  }

  /**
   * Writes the proprioception vector, laid out as {@link ActionSpace#PROPRIO_NAMES}, into
   * {@code out[0..7]} without allocating.
   */
  public void writeProprio(double[] out) {
    out[0] = eeX;
    out[1] = eeY;
    out[2] = eeZ;
    out[3] = orientation[0];
    out[4] = orientation[1];
    out[5] = orientation[2];
    out[6] = orientation[3];
    out[7] = gripper;
  }

  /** Returns the number of blocks. */
  public int blockCount() {
    return blockCount;
  }

  /** Returns the colour of block {@code index}. */
  public BlockColor blockColor(int index) {
    checkBlockIndex(index);
    return colors[index];
  }

  /** Returns the x of block {@code index}'s centre, metres. */
  public double blockX(int index) {
    checkBlockIndex(index);
    return blockX[index];
  }

  /** Returns the y of block {@code index}'s centre, metres. */
  public double blockY(int index) {
    checkBlockIndex(index);
    return blockY[index];
  }

  /** Returns the z of block {@code index}'s centre, metres. */
  public double blockZ(int index) {
    checkBlockIndex(index);
    return blockZ[index];
  }

  private void checkBlockIndex(int index) {
    if (index < 0 || index >= blockCount) {
      throw new IndexOutOfBoundsException("block " + index + " (expected 0.." + (blockCount - 1) + ")");
    }
  }

  /** Returns the index of the carried block, or -1. */
  public int heldIndex() {
    return held;
  }

  /** Returns the x of the plate's centre, metres. */
  public double plateX() {
    return plateX;
  }

  /** Returns the y of the plate's centre, metres. */
  public double plateY() {
    return plateY;
  }

  /** Returns the TCP x, metres. */
  public double eeX() {
    return eeX;
  }

  /** Returns the TCP y, metres. */
  public double eeY() {
    return eeY;
  }

  /** Returns the TCP z, metres. */
  public double eeZ() {
    return eeZ;
  }

  /** Writes the orientation {@code [x, y, z, w]} into {@code out[0..3]}. */
  public void copyOrientation(double[] out) {
    System.arraycopy(orientation, 0, out, 0, 4);
  }

  /** Returns the gripper opening, 0 = closed .. 1 = open. */
  public double gripper() {
    return gripper;
  }

  /** Returns the number of steps and pose commands since the last reset. */
  public long stepCount() {
    return stepCount;
  }
}
