package io.vlaserve.controller.safety;

import io.vlaserve.controller.Vector3;
import java.time.Duration;

/**
 * The limits every setpoint of one robot must respect, and what to do when a request breaks one.
 *
 * <p>Linear limits apply to each of x, y and z separately (the contract's per-axis limits), in the
 * robot base frame: velocity m/s, acceleration m/s^2, jerk m/s^3. The rotation rate (rad/s) bounds
 * the angle turned per tick; the gripper rate (fraction per second) bounds the opening's change.
 * The angular limits are magnitudes: the gate enforces each per base-frame axis at 1/sqrt(3) of it,
 * so the magnitude holds whatever the direction (see {@link SafetyGate}).
 *
 * <p>Construction validates: every number finite, every maximum positive, every mode set, a
 * non-empty workspace box, a watchdog timeout in (0, 10 s]. Immutable and thread-safe.
 *
 * @param workspaceMin lower corner of the end-effector position box, metres
 * @param workspaceMax upper corner, metres
 * @param workspaceMode what to do with a target outside the box (or one that could not stop before it)
 * @param maxLinearVelocity per-axis velocity, m/s
 * @param maxLinearAcceleration per-axis acceleration, m/s^2
 * @param maxLinearJerk per-axis jerk, m/s^3
 * @param maxAngularVelocity rotation rate, rad/s
 * @param maxGripperRate gripper opening rate, per second; the opening is also kept in 0..1 (with
 *     {@code workspaceMode})
 * @param watchdogTimeout how long a finished chunk may be extrapolated before decelerating to a hold
 * @param maxAngularAcceleration magnitude of the angular acceleration, rad/s^2
 * @param maxAngularJerk magnitude of the angular jerk, rad/s^3
 * @param maxGripperAcceleration gripper opening acceleration, per second^2
 * @param orientationWorkspace the cone the tool axis must stay in
 */
public record SafetyLimits(
    Vector3 workspaceMin,
    Vector3 workspaceMax,
    LimitMode workspaceMode,
    AxisLimit maxLinearVelocity,
    AxisLimit maxLinearAcceleration,
    AxisLimit maxLinearJerk,
    AxisLimit maxAngularVelocity,
    AxisLimit maxGripperRate,
    Duration watchdogTimeout,
    AxisLimit maxAngularAcceleration,
    AxisLimit maxAngularJerk,
    AxisLimit maxGripperAcceleration,
    OrientationLimit orientationWorkspace) {

  private static final String[] AXES = {"x", "y", "z"};
  private static final Duration MAX_WATCHDOG = Duration.ofSeconds(10);

  /**
   * Validates every field.
   *
   * @throws InvalidSafetyLimitsException naming the first offending field
   */
  public SafetyLimits {
    if (workspaceMin == null) {
      throw new InvalidSafetyLimitsException("workspace_min", "missing (expected: the box's lower corner, metres)");
    }
    if (workspaceMax == null) {
      throw new InvalidSafetyLimitsException("workspace_max", "missing (expected: the box's upper corner, metres)");
    }
    for (int axis = 0; axis < 3; axis++) {
      double low = workspaceMin.get(axis);
      double high = workspaceMax.get(axis);
      if (!Double.isFinite(low)) {
        throw new InvalidSafetyLimitsException("workspace_min." + AXES[axis], low + " (expected: a finite number, metres)");
      }
      if (!Double.isFinite(high)) {
        throw new InvalidSafetyLimitsException("workspace_max." + AXES[axis], high + " (expected: a finite number, metres)");
      }
      if (!(low < high)) {
        throw new InvalidSafetyLimitsException("workspace_min." + AXES[axis],
            low + " (expected: < workspace_max." + AXES[axis] + " = " + high + ", a non-empty box)");
      }
    }
    if (workspaceMode == null) {
      throw new InvalidSafetyLimitsException("workspace_mode", "unspecified (expected: CLAMP or HALT)");
    }
    check("max_linear_velocity", maxLinearVelocity, "m/s");
    check("max_linear_acceleration", maxLinearAcceleration, "m/s^2");
    check("max_linear_jerk", maxLinearJerk, "m/s^3");
    check("max_angular_velocity", maxAngularVelocity, "rad/s");
    check("max_gripper_rate", maxGripperRate, "per second");
    if (watchdogTimeout == null || watchdogTimeout.isNegative() || watchdogTimeout.isZero()
        || watchdogTimeout.compareTo(MAX_WATCHDOG) > 0) {
      throw new InvalidSafetyLimitsException("watchdog_timeout",
          watchdogTimeout + " (expected: > 0 and <= 10 s; tens of milliseconds bridge a late chunk)");
    }
    check("max_angular_acceleration", maxAngularAcceleration, "rad/s^2");
    check("max_angular_jerk", maxAngularJerk, "rad/s^3");
    check("max_gripper_acceleration", maxGripperAcceleration, "per second^2");
    if (orientationWorkspace == null) {
      throw new InvalidSafetyLimitsException("orientation_workspace",
          "missing (expected: tool axis, nominal direction, max tilt and mode)");
    }
  }

  private static void check(String field, AxisLimit limit, String unit) {
    if (limit == null) {
      throw new InvalidSafetyLimitsException(field, "missing (expected: a maximum in " + unit + " and a mode)");
    }
    if (!(limit.max() > 0) || !Double.isFinite(limit.max())) {
      throw new InvalidSafetyLimitsException(field + ".max", limit.max() + " (expected: a finite number > 0, " + unit + ")");
    }
    if (limit.mode() == null) {
      throw new InvalidSafetyLimitsException(field + ".mode", "unspecified (expected: CLAMP or HALT)");
    }
  }

  /** Returns the mode that applies to {@code kind}; HALT for kinds without a configurable mode. */
  public LimitMode modeOf(SafetyEventKind kind) {
    return switch (kind) {
      case WORKSPACE -> workspaceMode;
      case VELOCITY -> maxLinearVelocity.mode();
      case ACCELERATION -> maxLinearAcceleration.mode();
      case JERK -> maxLinearJerk.mode();
      case ROTATION_RATE -> maxAngularVelocity.mode();
      case GRIPPER_RATE -> maxGripperRate.mode();
      case ANGULAR_ACCELERATION -> maxAngularAcceleration.mode();
      case ANGULAR_JERK -> maxAngularJerk.mode();
      case GRIPPER_ACCELERATION -> maxGripperAcceleration.mode();
      case ORIENTATION_WORKSPACE -> orientationWorkspace.mode();
      default -> LimitMode.HALT;
    };
  }

  /** Returns a copy with every limit's mode replaced by {@code mode}. */
  public SafetyLimits withAllModes(LimitMode mode) {
    return new SafetyLimits(workspaceMin, workspaceMax, mode,
        new AxisLimit(maxLinearVelocity.max(), mode), new AxisLimit(maxLinearAcceleration.max(), mode),
        new AxisLimit(maxLinearJerk.max(), mode), new AxisLimit(maxAngularVelocity.max(), mode),
        new AxisLimit(maxGripperRate.max(), mode), watchdogTimeout,
        new AxisLimit(maxAngularAcceleration.max(), mode), new AxisLimit(maxAngularJerk.max(), mode),
        new AxisLimit(maxGripperAcceleration.max(), mode), new OrientationLimit(orientationWorkspace.toolAxis(),
            orientationWorkspace.nominalDirection(), orientationWorkspace.maxTilt(), mode));
  }

  /** Returns a copy with the rotation, gripper-acceleration and orientation-workspace limits replaced. */
  public SafetyLimits withRotation(AxisLimit angularAcceleration, AxisLimit angularJerk,
      AxisLimit gripperAcceleration, OrientationLimit orientation) {
    return new SafetyLimits(workspaceMin, workspaceMax, workspaceMode, maxLinearVelocity, maxLinearAcceleration,
        maxLinearJerk, maxAngularVelocity, maxGripperRate, watchdogTimeout, angularAcceleration, angularJerk,
        gripperAcceleration, orientation);
  }
}
