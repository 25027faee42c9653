package io.vlaserve.controller.trajectory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vlaserve.controller.ActionChunk;
import io.vlaserve.controller.CartesianPose;
import io.vlaserve.sim.QuaternionMath;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The controller and the simulator read an action the same way: roll, pitch and yaw, the Hamilton
 * product, and the integration of a chunk's deltas into waypoints. Here, where both are on the class
 * path, since controller-core no longer depends on the simulator.
 */
class ConventionsTest {
  private static final long T = 100_000_000;
  private static final long START = 5_000_000_000L;

  @Test
  void rollPitchYawMatchesTheSimulatorsConvention() {
    SplittableRandom random = new SplittableRandom(3);
    for (int i = 0; i < 200; i++) {
      double roll = random.nextDouble(-3, 3);
      double pitch = random.nextDouble(-1.5, 1.5);
      double yaw = random.nextDouble(-3, 3);
      double[] ours = new double[4];
      Quaternions.fromRollPitchYaw(roll, pitch, yaw, ours);
      double[] sims = new double[4];
      QuaternionMath.fromRollPitchYaw(roll, pitch, yaw, sims);
      assertEquals(0, Quaternions.angleBetween(ours, sims), 1e-12);
    }
  }

  @Test
  void theHamiltonProductIsTheSimulatorsBitForBit() {
    SplittableRandom random = new SplittableRandom(5);
    for (int i = 0; i < 1000; i++) {
      double[] a = {random.nextDouble(-1, 1), random.nextDouble(-1, 1), random.nextDouble(-1, 1), random.nextDouble(-1, 1)};
      double[] b = {random.nextDouble(-1, 1), random.nextDouble(-1, 1), random.nextDouble(-1, 1), random.nextDouble(-1, 1)};
      double[] ours = new double[4];
      double[] sims = new double[4];
      Quaternions.multiply(a, b, ours);
      QuaternionMath.multiply(a, b, sims);
      assertArrayEquals(sims, ours, 0);
    }
  }

  @Test
  void waypointsAreTheSimulatorsIntegrationOfTheDeltas() {
    SplittableRandom random = new SplittableRandom(11);
    List<double[]> values = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      values.add(new double[] {random.nextDouble(-0.04, 0.04), random.nextDouble(-0.04, 0.04),
          random.nextDouble(-0.04, 0.04), random.nextDouble(-0.3, 0.3), random.nextDouble(-0.3, 0.3),
          random.nextDouble(-0.3, 0.3), random.nextDouble()});
    }
    ActionChunk chunk = ActionChunk.of(1, 0, T, values, 128);
    double[] q = new double[4];
    Quaternions.fromRollPitchYaw(0.05, -0.08, 0.4, q);
    CartesianPose anchor = new CartesianPose().set(0.5, 0.0, 0.2, q[0], q[1], q[2], q[3], 1.0);
    ChunkTrajectory trajectory = new ChunkTrajectory(128);
    trajectory.build(chunk, 0, anchor, START, Interpolation.LINEAR);
    TabletopWorld world = new TabletopWorld(1, new WorldConfig(1, false));
    world.commandPose(anchor.position, anchor.orientation, anchor.gripper);
    double[] proprio = new double[8];
    double[] position = new double[3];
    double[] orientation = new double[4];
    for (int i = 0; i < chunk.steps(); i++) {
      double[] action = new double[7];
      for (int d = 0; d < 7; d++) {
        action[d] = chunk.value(i, d);
      }
      world.step(action);
      world.writeProprio(proprio);
      trajectory.waypointPosition(i + 1, position);
      trajectory.waypointOrientation(i + 1, orientation);
      // The simulator clamps to its workspace; these deltas stay well inside it.
      for (int axis = 0; axis < 3; axis++) {
        assertEquals(proprio[axis], position[axis], 1e-12, "waypoint " + (i + 1) + " axis " + axis);
      }
      double[] simOrientation = {proprio[3], proprio[4], proprio[5], proprio[6]};
      assertEquals(0, Quaternions.angleBetween(simOrientation, orientation), 1e-9, "waypoint " + (i + 1));
    }
  }
}
