package io.vlaserve.sim;

import java.util.List;

/**
 * The 7-D end-effector delta action space and the 8-D proprioception layout of the simulator.
 *
 * <p>An action is {@code double[7] = [dx, dy, dz, droll, dpitch, dyaw, gripper]}: translation of
 * the tool centre point per control step in metres and rotation increments per step in radians,
 * both in the world frame (rotations compose as extrinsic roll, then pitch, then yaw, applied on
 * the left of the current orientation), and an absolute gripper command, 0 = closed .. 1 = open.
 * This matches the project's default {@code eef-delta-7dof} tokenizer profile. One action is
 * meant to be applied every {@link #CONTROL_PERIOD_SECONDS}.
 *
 * <p>Proprioception is {@code double[8] = [x, y, z, qx, qy, qz, qw, gripper]}: the tool centre
 * point in metres, the orientation quaternion (canonical, {@code qw >= 0}) and the gripper
 * opening. Stateless and thread-safe.
 */
public final class ActionSpace {

  /** Number of action dimensions. */
  public static final int DIMENSIONS = 7;

  /** Index of dx in an action. */
  public static final int DX = 0;
  /** Index of dy in an action. */
  public static final int DY = 1;
  /** Index of dz in an action. */
  public static final int DZ = 2;
  /** Index of droll in an action. */
  public static final int DROLL = 3;
  /** Index of dpitch in an action. */
  public static final int DPITCH = 4;
  /** Index of dyaw in an action. */
  public static final int DYAW = 5;
  /** Index of the gripper command in an action. */
  public static final int GRIPPER = 6;

  /** Largest translation per step along each axis, metres; larger commands are clamped. */
  public static final double MAX_TRANSLATION_PER_STEP = 0.05;

  /** Largest rotation increment per step about each axis, radians; larger are clamped. */
  public static final double MAX_ROTATION_PER_STEP = 0.4;

  /** Gripper command for fully closed. */
  public static final double GRIPPER_CLOSED = 0.0;

  /** Gripper command for fully open. */
  public static final double GRIPPER_OPEN = 1.0;

  /**
   * Opening below which the gripper counts as closed and at or above which it counts as open;
   * crossing it is what grasps or releases.
   */
  public static final double GRIPPER_THRESHOLD = 0.5;

  /** Period of one control step (10 Hz), seconds; the deltas above are per such step. */
  public static final double CONTROL_PERIOD_SECONDS = 0.1;

  /** Dimension names in order, as the tokenizer profile lists them. */
  public static final List<String> DIMENSION_NAMES =
      List.of("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper");

  /** Number of proprioception values. */
  public static final int PROPRIO_DIMENSIONS = 8;

  /** Proprioception names in order. */
  public static final List<String> PROPRIO_NAMES =
      List.of("x", "y", "z", "qx", "qy", "qz", "qw", "gripper");

  private ActionSpace() {}

  /**
   * Checks that {@code action} has {@link #DIMENSIONS} finite values.
   *
   * @throws IllegalArgumentException naming the first bad index and its value
   */
  public static void checkFinite(double[] action) {
    if (action.length != DIMENSIONS) {
      throw new IllegalArgumentException(
          "action length " + action.length + " (expected " + DIMENSIONS + ": " + DIMENSION_NAMES + ")");
    }
    for (int i = 0; i < DIMENSIONS; i++) {
      if (!Double.isFinite(action[i])) {
        throw new IllegalArgumentException(
            "action[" + i + "] (" + DIMENSION_NAMES.get(i) + ") = " + action[i]
                + " (expected a finite number)");
      }
    }
  }

  /**
   * Returns the per-dimension bound {@code b} such that valid values lie in {@code [-b, b]}
   * (translations, rotations) or {@code [0, b]} (gripper).
   */
  public static double bound(int index) {
    if (index < DROLL) {
      return MAX_TRANSLATION_PER_STEP;
    }
    return index < GRIPPER ? MAX_ROTATION_PER_STEP : GRIPPER_OPEN;
  }

  /**
   * Clamps {@code action} in place to the per-step bounds.
   *
   * @return whether any value changed
   */
  public static boolean clampInPlace(double[] action) {
    boolean clamped = false;
    for (int i = 0; i < DIMENSIONS; i++) {
      double bound = bound(i);
      double low = i == GRIPPER ? GRIPPER_CLOSED : -bound;
      double value = Math.max(low, Math.min(bound, action[i]));
      if (value != action[i]) {
        action[i] = value;
        clamped = true;
      }
    }
    return clamped;
  }
}
