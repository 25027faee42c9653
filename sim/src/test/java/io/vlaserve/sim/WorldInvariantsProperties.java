package io.vlaserve.sim;

import static io.vlaserve.sim.TabletopGeometry.BLOCK_EDGE;
import static io.vlaserve.sim.TabletopGeometry.FINGER_BELOW_TCP;
import static io.vlaserve.sim.TabletopGeometry.WORKSPACE_MAX;
import static io.vlaserve.sim.TabletopGeometry.WORKSPACE_MIN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;

/**
 * Physical invariants over random and adversarial command sequences: huge deltas, snapping onto
 * blocks, rapid open/close, leaving the workspace.
 */
class WorldInvariantsProperties {

  /** One command: either a delta step, or an absolute pose near a block (to provoke grasps). */
  record Command(boolean absolute, double[] values, int block, double gripper) {

    void applyTo(TabletopWorld world) {
      if (!absolute) {
        world.step(values);
        return;
      }
      int index = block % world.blockCount();
      double[] target = {
        world.blockX(index) + values[0], world.blockY(index) + values[1], world.blockZ(index) + values[2]
      };
      double[] orientation = Quaternion.fromRollPitchYaw(values[3], values[4], values[5]).toArray();
      world.commandPose(target, orientation, gripper);
    }

    @Override
    public String toString() {
      return (absolute ? "pose near block " + block + " " : "step ") + java.util.Arrays.toString(values)
          + (absolute ? " gripper " + gripper : "");
    }
  }

  @Property(tries = 300)
  void invariantsHoldAfterEveryCommand(
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 4) int blockCount,
      @ForAll("commands") List<Command> commands) {
    TabletopWorld world = new TabletopWorld(seed, WorldConfig.withBlocks(blockCount));
    int grasps = 0;
    int releases = 0;
    for (Command command : commands) {
      WorldState before = world.snapshot();
      command.applyTo(world);
      WorldState after = world.snapshot();
      checkInvariants(after);
      if (before.isHolding() && after.heldIndex() == before.heldIndex()) {
        Vec3 offsetBefore = before.blocks().get(before.heldIndex()).center().minus(before.eePosition());
        Vec3 offsetAfter = after.blocks().get(after.heldIndex()).center().minus(after.eePosition());
        assertEquals(offsetBefore.x(), offsetAfter.x(), 1e-9, "held block moves with the gripper");
        assertEquals(offsetBefore.y(), offsetAfter.y(), 1e-9, "held block moves with the gripper");
        assertEquals(offsetBefore.z(), offsetAfter.z(), 1e-9, "held block moves with the gripper");
      }
      if (!before.isHolding() && after.isHolding()) {
        grasps++;
      }
      if (before.isHolding() && !after.isHolding()) {
        releases++;
      }
    }
    // The invariants only mean something if carrying and dropping actually happen often.
    Statistics.label("grasped").collect(grasps > 0);
    Statistics.label("released").collect(releases > 0);
    Statistics.label("grasped").coverage(check -> check.check(true).percentage(p -> p >= 20));
    Statistics.label("released").coverage(check -> check.check(true).percentage(p -> p >= 10));
  }

  static void checkInvariants(WorldState state) {
    Vec3 ee = state.eePosition();
    assertTrue(ee.x() >= WORKSPACE_MIN.x() && ee.x() <= WORKSPACE_MAX.x(), "x in workspace: " + ee);
    assertTrue(ee.y() >= WORKSPACE_MIN.y() && ee.y() <= WORKSPACE_MAX.y(), "y in workspace: " + ee);
    assertTrue(ee.z() >= WORKSPACE_MIN.z() && ee.z() <= WORKSPACE_MAX.z(), "z in workspace: " + ee);
    assertTrue(ee.z() - FINGER_BELOW_TCP >= 0, "fingertips above the table: " + ee);
    Quaternion q = state.eeOrientation();
    assertEquals(1, q.x() * q.x() + q.y() * q.y() + q.z() * q.z() + q.w() * q.w(), 1e-9, "unit quaternion");
    if (state.isHolding()) {
      assertTrue(state.gripper() < ActionSpace.GRIPPER_THRESHOLD, "holding implies closed");
    }
    List<BlockState> blocks = state.blocks();
    for (int i = 0; i < blocks.size(); i++) {
      BlockState block = blocks.get(i);
      assertTrue(block.bottom() >= -1e-12, "block above the table: " + block);
      if (i != state.heldIndex()) {
        assertTrue(state.isResting(i), "block at rest on its support: " + block + " in " + state.describe());
      } else {
        assertTrue(block.bottom() >= state.supportUnder(i).height() - 1e-9,
            "carried block above the surface under it: " + state.describe());
      }
      for (int j = 0; j < i; j++) {
        Vec3 a = block.center();
        Vec3 b = blocks.get(j).center();
        boolean sameColumn = TabletopGeometry.footprintsOverlap(a.x(), a.y(), b.x(), b.y());
        assertTrue(!sameColumn || Math.abs(a.z() - b.z()) >= BLOCK_EDGE - 1e-9,
            "blocks do not interpenetrate: " + state.describe());
      }
    }
  }

  /** Doubles in [low, high] with 5 decimals (jqwik's default scale of 2 is too coarse here). */
  private static Arbitrary<Double> range(double low, double high) {
    return Arbitraries.doubles().between(low, high).ofScale(5);
  }

  @Provide
  Arbitrary<List<Command>> commands() {
    Arbitrary<Double> translation = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(8, range(-0.06, 0.06)),
        net.jqwik.api.Tuple.of(1, range(-1e6, 1e6)),
        net.jqwik.api.Tuple.of(1, Arbitraries.of(-0.05, 0.0, 0.05)));
    Arbitrary<Double> rotation = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(8, range(-0.5, 0.5)),
        net.jqwik.api.Tuple.of(1, range(-100, 100)),
        net.jqwik.api.Tuple.of(3, Arbitraries.just(0.0)));
    Arbitrary<Double> gripper = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(4, Arbitraries.of(0.0, 1.0)),
        net.jqwik.api.Tuple.of(1, range(-5, 5)));
    Arbitrary<Command> step = Combinators.combine(
            translation, translation, translation, rotation, rotation, rotation, gripper)
        .as((dx, dy, dz, rx, ry, rz, g) ->
            new Command(false, new double[] {dx, dy, dz, rx, ry, rz, g}, 0, 0));
    // Near-block poses: mostly within grasp tolerance, some just outside, small tilts.
    Arbitrary<Double> near = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(3, range(-0.01, 0.01)),
        net.jqwik.api.Tuple.of(1, range(-0.03, 0.03)));
    Arbitrary<Double> above = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(3, range(-0.012, 0.012)),
        net.jqwik.api.Tuple.of(1, range(-0.03, 0.15)));
    Arbitrary<Double> tilt = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(4, Arbitraries.just(0.0)),
        net.jqwik.api.Tuple.of(1, range(-0.6, 0.6)));
    Arbitrary<Command> pose = Combinators.combine(
            near, near, above, tilt, tilt, range(-3, 3),
            Arbitraries.integers().between(0, 3), gripper)
        .as((x, y, z, roll, pitch, yaw, block, g) ->
            new Command(true, new double[] {x, y, z, roll, pitch, yaw}, block, g));
    return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(3, step), net.jqwik.api.Tuple.of(2, pose))
        .list().ofMinSize(1).ofMaxSize(120);
  }
}
