package io.vlaserve.controller.driver;

import io.vlaserve.controller.safety.Axis;

/**
 * Decides whether a state a robot reported can be used, and brings a usable one into canonical
 * form: every position finite; the orientation a quaternion whose norm is within
 * {@link #QUATERNION_NORM_TOLERANCE} of 1 (renormalised to exactly unit length); the gripper within
 * 0..1 give or take {@link #GRIPPER_TOLERANCE} (clamped into 0..1).
 *
 * <p>Why here and not only at the network edge: whatever the driver (in-process, remote agent,
 * a future one), a measured state seeds the safety gate when the controller takes control or
 * re-synchronises after a Resume, so the controller checks every state it reads, once, before
 * anything uses it. A zero quaternion (an agent that leaves {@code orientation} unset) or a NaN
 * would otherwise become non-finite setpoints.
 *
 * <p>Allocation-free; the result is a field code whose name, axis and value are looked up only
 * when an event is recorded. Stateless and thread-safe.
 */
public final class MeasuredStateCheck {
  /** How far the quaternion's norm may be from 1 and still be taken as a rotation (renormalised). */
  public static final double QUATERNION_NORM_TOLERANCE = 1e-2;
  /** How far outside 0..1 a gripper reading may be (sensor noise) and still be clamped into range. */
  public static final double GRIPPER_TOLERANCE = 1e-3;

  /** The state is usable. */
  public static final int VALID = -1;

  private static final String[] FIELDS = {
    "position.x", "position.y", "position.z",
    "orientation.x", "orientation.y", "orientation.z", "orientation.w", "orientation norm",
    "gripper"
  };
  private static final Axis[] AXES = {
    Axis.X, Axis.Y, Axis.Z, Axis.ROTATION, Axis.ROTATION, Axis.ROTATION, Axis.ROTATION, Axis.ROTATION, Axis.GRIPPER
  };
  private static final int ORIENTATION = 3;
  private static final int NORM = 7;
  private static final int GRIPPER = 8;

  private MeasuredStateCheck() {}

  /**
   * Checks {@code state}; if usable, renormalises its orientation and clamps its gripper in place.
   *
   * @return {@link #VALID}, or the code of the first unusable field (see {@link #field},
   *     {@link #axis}, {@link #value}); an unusable state is left unchanged
   */
  public static int check(MeasuredState state) {
    for (int i = 0; i < 3; i++) {
      if (!Double.isFinite(state.position[i])) {
        return i;
      }
    }
    for (int i = 0; i < 4; i++) {
      if (!Double.isFinite(state.orientation[i])) {
        return ORIENTATION + i;
      }
    }
    double norm = norm(state.orientation);
    if (!(Math.abs(norm - 1) <= QUATERNION_NORM_TOLERANCE)) {
      return NORM;
    }
    double gripper = state.gripper;
    if (!(gripper >= -GRIPPER_TOLERANCE && gripper <= 1 + GRIPPER_TOLERANCE)) {
      return GRIPPER;
    }
    for (int i = 0; i < 4; i++) {
      state.orientation[i] /= norm;
    }
    state.gripper = Math.max(0, Math.min(1, gripper));
    return VALID;
  }

  /** Returns the wire name of field {@code code}, e.g. {@code "orientation norm"}. */
  public static String field(int code) {
    return FIELDS[code];
  }

  /** Returns the axis field {@code code} belongs to. */
  public static Axis axis(int code) {
    return AXES[code];
  }

  /** Returns the offending value of field {@code code} in {@code state}. */
  public static double value(MeasuredState state, int code) {
    if (code < ORIENTATION) {
      return state.position[code];
    }
    if (code < NORM) {
      return state.orientation[code - ORIENTATION];
    }
    return code == NORM ? norm(state.orientation) : state.gripper;
  }

  private static double norm(double[] q) {
    return Math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  }
}
