package io.vlaserve.controller.trajectory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.ActionChunk;
import io.vlaserve.controller.CartesianPose;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ChunkTrajectoryTest {
  private static final long T = 100_000_000;
  private static final long START = 5_000_000_000L;

  private static ActionChunk randomChunk(long seed, int steps, double maxDelta, double maxRotation) {
    SplittableRandom random = new SplittableRandom(seed);
    List<double[]> values = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      values.add(new double[] {
        random.nextDouble(-maxDelta, maxDelta), random.nextDouble(-maxDelta, maxDelta),
        random.nextDouble(-maxDelta, maxDelta), random.nextDouble(-maxRotation, maxRotation),
        random.nextDouble(-maxRotation, maxRotation), random.nextDouble(-maxRotation, maxRotation),
        random.nextDouble()
      });
    }
    return ActionChunk.of(1, 0, T, values, 128);
  }

  private static CartesianPose anchor() {
    double[] q = new double[4];
    Quaternions.fromRollPitchYaw(0.05, -0.08, 0.4, q);
    return new CartesianPose().set(0.5, 0.0, 0.2, q[0], q[1], q[2], q[3], 1.0);
  }

  private static ChunkTrajectory build(ActionChunk chunk, Interpolation interpolation) {
    ChunkTrajectory trajectory = new ChunkTrajectory(128);
    trajectory.build(chunk, 0, anchor(), START, interpolation);
    return trajectory;
  }

  @ParameterizedTest
  @EnumSource(Interpolation.class)
  void passesThroughEveryWaypointOnTime(Interpolation interpolation) {
    ActionChunk chunk = randomChunk(3, 8, 0.03, 0.3);
    ChunkTrajectory trajectory = build(chunk, interpolation);
    CartesianPose pose = new CartesianPose();
    double[] position = new double[3];
    double[] orientation = new double[4];
    for (int i = 0; i <= chunk.steps(); i++) {
      trajectory.evaluate(START + i * T, pose);
      trajectory.waypointPosition(i, position);
      trajectory.waypointOrientation(i, orientation);
      for (int axis = 0; axis < 3; axis++) {
        assertEquals(position[axis], pose.position[axis], 1e-12);
      }
      assertEquals(0, Quaternions.angleBetween(orientation, pose.orientation), 1e-9);
      assertEquals(i == 0 ? 1.0 : chunk.value(i - 1, 6), pose.gripper, 1e-12);
    }
    assertEquals(START + chunk.steps() * T, trajectory.endNanos());
  }

  /** Finite-difference derivatives of x(t) at t, using a step of dt seconds. */
  private static double[] derivatives(ChunkTrajectory trajectory, long t, long dt, int axis, boolean left) {
    CartesianPose pose = new CartesianPose();
    double[] x = new double[4];
    for (int k = 0; k < 4; k++) {
      trajectory.evaluate(left ? t - k * dt : t + k * dt, pose);
      x[k] = pose.position[axis];
    }
    double h = dt * 1e-9;
    double sign = left ? -1 : 1;
    double velocity = sign * (-1.5 * x[0] + 2 * x[1] - 0.5 * x[2]) / h;
    double acceleration = (2 * x[0] - 5 * x[1] + 4 * x[2] - x[3]) / (h * h);
    return new double[] {velocity, acceleration};
  }

  @Nested
  class Smoothness {
    private final ActionChunk chunk = randomChunk(7, 10, 0.04, 0.2);

    @Test
    void linearVelocityJumpsAtWaypoints() {
      ChunkTrajectory trajectory = build(chunk, Interpolation.LINEAR);
      double jump = 0;
      for (int i = 1; i < chunk.steps(); i++) {
        double left = derivatives(trajectory, START + i * T, 10_000, 0, true)[0];
        double right = derivatives(trajectory, START + i * T, 10_000, 0, false)[0];
        jump = Math.max(jump, Math.abs(left - right));
      }
      assertTrue(jump > 0.05, "piecewise linear: velocity jumps by " + jump + " m/s");
    }

    @Test
    void cubicVelocityIsContinuousAtWaypoints() {
      ChunkTrajectory trajectory = build(chunk, Interpolation.CUBIC);
      for (int i = 1; i < chunk.steps(); i++) {
        for (int axis = 0; axis < 3; axis++) {
          double left = derivatives(trajectory, START + i * T, 10_000, axis, true)[0];
          double right = derivatives(trajectory, START + i * T, 10_000, axis, false)[0];
          assertEquals(left, right, 1e-3, "velocity at waypoint " + i + " axis " + axis);
        }
      }
    }

    @Test
    void minimumJerkHasContinuousVelocityAndZeroAccelerationAtWaypoints() {
      ChunkTrajectory trajectory = build(chunk, Interpolation.MINIMUM_JERK);
      for (int i = 1; i < chunk.steps(); i++) {
        for (int axis = 0; axis < 3; axis++) {
          double[] left = derivatives(trajectory, START + i * T, 10_000, axis, true);
          double[] right = derivatives(trajectory, START + i * T, 10_000, axis, false);
          assertEquals(left[0], right[0], 1e-3, "velocity at waypoint " + i);
          assertEquals(0, left[1], 0.05, "acceleration before waypoint " + i);
          assertEquals(0, right[1], 0.05, "acceleration after waypoint " + i);
        }
      }
    }

    @Test
    void smoothOrientationsNeverJumpEvenPastHalfATurn() {
      // 0.4 rad per step about a tilted axis for 25 steps: 10 rad in all.
      List<double[]> steps = new ArrayList<>();
      for (int i = 0; i < 25; i++) {
        steps.add(new double[] {0, 0, 0, 0.1, 0.05, 0.4, 1});
      }
      ChunkTrajectory trajectory = build(ActionChunk.of(1, 0, T, steps, 128), Interpolation.MINIMUM_JERK);
      CartesianPose previous = new CartesianPose();
      CartesianPose pose = new CartesianPose();
      trajectory.evaluate(START, previous);
      double largest = 0;
      for (long t = START + 1_000_000; t <= START + 25 * T; t += 1_000_000) {
        trajectory.evaluate(t, pose);
        largest = Math.max(largest, Quaternions.angleBetween(previous.orientation, pose.orientation));
        previous.set(pose);
      }
      assertTrue(largest < 0.01, "largest rotation in 1 ms: " + largest + " rad");
    }
  }

  @Test
  void continuesAtTheFinalVelocityAfterTheLastWaypoint() {
    List<double[]> steps = List.of(new double[] {0.01, 0, 0, 0, 0, 0.1, 1}, new double[] {0.02, -0.01, 0, 0, 0, 0.1, 0});
    for (Interpolation interpolation : Interpolation.values()) {
      ChunkTrajectory trajectory = build(ActionChunk.of(1, 0, T, steps, 128), interpolation);
      CartesianPose end = new CartesianPose();
      CartesianPose later = new CartesianPose();
      trajectory.evaluate(trajectory.endNanos(), end);
      trajectory.evaluate(trajectory.endNanos() + 50_000_000, later);
      // Tangent at the last waypoint: (p[n] - p[n-1]) / T = (0.02, -0.01, 0) / 0.1 s.
      assertEquals(end.position[0] + 0.2 * 0.05, later.position[0], 1e-12, interpolation.name());
      assertEquals(end.position[1] - 0.1 * 0.05, later.position[1], 1e-12, interpolation.name());
      assertEquals(0.05, Quaternions.angleBetween(end.orientation, later.orientation), 1e-9, interpolation.name());
      assertEquals(0, later.gripper, 0);
    }
  }

  @Test
  void gripperNeverOvershootsItsCommands() {
    ActionChunk chunk = ActionChunk.of(1, 0, T, List.of(new double[] {0, 0, 0, 0, 0, 0, 0},
        new double[] {0, 0, 0, 0, 0, 0, 1}, new double[] {0, 0, 0, 0, 0, 0, 0}), 128);
    for (Interpolation interpolation : Interpolation.values()) {
      ChunkTrajectory trajectory = build(chunk, interpolation);
      CartesianPose pose = new CartesianPose();
      for (long t = START; t <= START + 3 * T; t += 1_000_000) {
        trajectory.evaluate(t, pose);
        assertTrue(pose.gripper >= 0 && pose.gripper <= 1, interpolation + ": " + pose.gripper);
      }
    }
  }

  @Test
  void skippedStepsAreNotIntegrated() {
    ActionChunk chunk = ActionChunk.of(1, 0, T, List.of(new double[] {0.05, 0, 0, 0, 0, 0, 1},
        new double[] {0, 0.02, 0, 0, 0, 0, 1}), 128);
    ChunkTrajectory trajectory = new ChunkTrajectory(8);
    trajectory.build(chunk, 1, anchor(), START, Interpolation.LINEAR);
    CartesianPose pose = new CartesianPose();
    trajectory.evaluate(START + T, pose);
    assertEquals(0.5, pose.position[0], 1e-12);
    assertEquals(0.02, pose.position[1], 1e-12);
    assertEquals(1, trajectory.stepIndex(START));
    assertEquals(2, trajectory.stepIndex(START + T));
  }

  @Nested
  class Splicing {
    private final ActionChunk chunk = randomChunk(11, 6, 0.02, 0.1);

    private EntryState entry() {
      EntryState entry = new EntryState();
      entry.velocity[0] = 0.12;
      entry.velocity[1] = -0.05;
      entry.velocity[2] = 0.03;
      entry.acceleration[0] = 0.8;
      entry.acceleration[1] = -0.4;
      entry.acceleration[2] = 0.2;
      entry.angularVelocity[2] = 0.3;
      entry.angularAcceleration[2] = -0.5;
      return entry;
    }

    @Test
    void aSplicedMinimumJerkTrajectoryStartsWithTheEntryVelocityAndAcceleration() {
      ChunkTrajectory trajectory = new ChunkTrajectory(128);
      EntryState entry = entry();
      trajectory.build(chunk, 0, anchor(), START, Interpolation.MINIMUM_JERK, entry);
      assertTrue(trajectory.spliced());
      for (int axis = 0; axis < 3; axis++) {
        double[] start = derivatives(trajectory, START, 10_000, axis, false);
        assertEquals(entry.velocity[axis], start[0], 1e-4, "velocity along " + axis);
        assertEquals(entry.acceleration[axis], start[1], 2e-2, "acceleration along " + axis);
      }
      // It still passes through every waypoint on time, and later segments are as unspliced ones.
      ChunkTrajectory plain = build(chunk, Interpolation.MINIMUM_JERK);
      CartesianPose a = new CartesianPose();
      CartesianPose b = new CartesianPose();
      for (int i = 1; i <= chunk.steps(); i++) {
        trajectory.evaluate(START + i * T, a);
        plain.evaluate(START + i * T, b);
        for (int axis = 0; axis < 3; axis++) {
          assertEquals(b.position[axis], a.position[axis], 1e-12);
        }
        assertEquals(0, Quaternions.angleBetween(a.orientation, b.orientation), 1e-9);
      }
      trajectory.evaluate(START + T + T / 2, a);
      plain.evaluate(START + T + T / 2, b);
      assertEquals(b.position[0], a.position[0], 1e-12);
    }

    @Test
    void aSplicedTrajectoryTurnsAtTheEntryAngularVelocity() {
      ChunkTrajectory trajectory = new ChunkTrajectory(128);
      trajectory.build(chunk, 0, anchor(), START, Interpolation.MINIMUM_JERK, entry());
      CartesianPose at = new CartesianPose();
      CartesianPose later = new CartesianPose();
      trajectory.evaluate(START, at);
      trajectory.evaluate(START + 100_000, later);
      double[] relative = new double[4];
      double[] rotation = new double[3];
      Quaternions.multiplyConjugate(later.orientation, at.orientation, relative);
      Quaternions.toRotationVector(relative, rotation);
      assertEquals(0.3, rotation[2] / 1e-4, 1e-3, "world-frame yaw rate at the seam, rad/s");
      assertEquals(0, rotation[0] / 1e-4, 1e-3);
    }

    @Test
    void aSplicedCubicKeepsTheEntryVelocityAndALinearOneItsWaypoints() {
      ChunkTrajectory cubic = new ChunkTrajectory(128);
      cubic.build(chunk, 0, anchor(), START, Interpolation.CUBIC, entry());
      assertEquals(0.12, derivatives(cubic, START, 10_000, 0, false)[0], 1e-4);
      ChunkTrajectory linear = new ChunkTrajectory(128);
      linear.build(chunk, 0, anchor(), START, Interpolation.LINEAR, entry());
      ChunkTrajectory plain = build(chunk, Interpolation.LINEAR);
      CartesianPose a = new CartesianPose();
      CartesianPose b = new CartesianPose();
      linear.evaluate(START + T / 3, a);
      plain.evaluate(START + T / 3, b);
      assertEquals(b.position[0], a.position[0], 1e-15, "piecewise linear has no tangents to continue");
    }

    @Test
    void stepIndicesCountTheCommittedPrefix() {
      double[] step = {0.01, 0, 0, 0, 0, 0, 1};
      ActionChunk continuation = ActionChunk.of(2, 0, T, 4, List.of(step, step, step), 128);
      ChunkTrajectory trajectory = new ChunkTrajectory(128);
      trajectory.build(continuation, 1, anchor(), START, Interpolation.MINIMUM_JERK, entry());
      assertEquals(5, trajectory.stepIndex(START));
      assertEquals(6, trajectory.stepIndex(START + T + 1));
      assertEquals(7, trajectory.stepIndex(START + 10 * T));
    }
  }
}
