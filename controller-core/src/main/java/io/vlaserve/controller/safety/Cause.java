package io.vlaserve.controller.safety;

import java.util.Locale;

/**
 * The specific reason behind a {@link SafetyEvent}, and the sentence that explains it.
 *
 * <p>The control loop records only this constant and a few numbers (allocation-free); the
 * sentence is composed later, off the loop thread, when the event is drained.
 */
public enum Cause {
  TARGET_OUTSIDE_WORKSPACE(SafetyEventKind.WORKSPACE,
      "target %s = %.4f m is outside the workspace (bound %.4f m)"),
  BRAKING_FOR_WORKSPACE(SafetyEventKind.WORKSPACE,
      "slowing early so %s stays inside the workspace: it would have reached %.4f m (bound %.4f m)"),
  OUTSIDE_WORKSPACE(SafetyEventKind.WORKSPACE,
      "%s = %.4f m is outside the workspace (bound %.4f m), e.g. after the limits changed; widen the box or move the robot inside"),
  GRIPPER_OUT_OF_RANGE(SafetyEventKind.WORKSPACE,
      "%s command %.3f is outside 0..1 (bound %.0f)"),
  VELOCITY_REQUESTED(SafetyEventKind.VELOCITY,
      "requested %s velocity %.3f m/s exceeds the limit %.3f m/s"),
  BRAKING_FOR_VELOCITY(SafetyEventKind.VELOCITY,
      "easing acceleration early so %s velocity stays within the limit: it would have reached %.3f m/s (limit %.3f m/s)"),
  VELOCITY_ABOVE_LIMIT(SafetyEventKind.VELOCITY,
      "%s velocity %.3f m/s is above the limit %.3f m/s, e.g. after the limits changed"),
  ACCELERATION_REQUESTED(SafetyEventKind.ACCELERATION,
      "requested %s acceleration %.3f m/s^2 exceeds the limit %.3f m/s^2"),
  JERK_REQUESTED(SafetyEventKind.JERK,
      "requested %s jerk %.1f m/s^3 exceeds the limit %.1f m/s^3"),
  ROTATION_RATE_REQUESTED(SafetyEventKind.ROTATION_RATE,
      "requested %s rate %.3f rad/s exceeds the limit %.3f rad/s"),
  GRIPPER_RATE_REQUESTED(SafetyEventKind.GRIPPER_RATE,
      "requested %s rate %.3f /s exceeds the limit %.3f /s"),
  BRAKING_FOR_ROTATION_RATE(SafetyEventKind.ROTATION_RATE,
      "easing angular acceleration early so the %s rate stays within the per-axis limit: it would have reached"
          + " %.3f rad/s (limit %.3f rad/s)"),
  ROTATION_RATE_ABOVE_LIMIT(SafetyEventKind.ROTATION_RATE,
      "%s rate %.3f rad/s is above the per-axis limit %.3f rad/s, e.g. after the limits changed"),
  ANGULAR_ACCELERATION_REQUESTED(SafetyEventKind.ANGULAR_ACCELERATION,
      "requested %s angular acceleration %.3f rad/s^2 exceeds the per-axis limit %.3f rad/s^2"),
  ANGULAR_JERK_REQUESTED(SafetyEventKind.ANGULAR_JERK,
      "requested %s angular jerk %.1f rad/s^3 exceeds the per-axis limit %.1f rad/s^3"),
  GRIPPER_ACCELERATION_REQUESTED(SafetyEventKind.GRIPPER_ACCELERATION,
      "requested %s acceleration %.3f /s^2 exceeds the limit %.3f /s^2"),
  BRAKING_FOR_GRIPPER_RATE(SafetyEventKind.GRIPPER_RATE,
      "easing the %s early so its rate stays within the limit: it would have reached %.3f /s (limit %.3f /s)"),
  BRAKING_FOR_GRIPPER_RANGE(SafetyEventKind.WORKSPACE,
      "slowing the %s early so it stops within 0..1: it would have reached %.3f (bound %.0f)"),
  TILT_OUTSIDE_CONE(SafetyEventKind.ORIENTATION_WORKSPACE,
      "target %s tilt %.4f rad is outside the orientation workspace (max tilt %.4f rad)"),
  BRAKING_FOR_TILT(SafetyEventKind.ORIENTATION_WORKSPACE,
      "slowing rotation early so the %s stays inside the orientation workspace: its tilt could have reached"
          + " %.4f rad (max tilt %.4f rad)"),
  OUTSIDE_CONE(SafetyEventKind.ORIENTATION_WORKSPACE,
      "%s tilt %.4f rad is outside the orientation workspace (max tilt %.4f rad), e.g. after the limits changed;"
          + " widen the cone or turn the tool back inside"),
  NON_FINITE(SafetyEventKind.NON_FINITE,
      "the reference %s is not finite (%s); the robot never receives it"),
  WATCHDOG(SafetyEventKind.WATCHDOG,
      "the chunk ran out %.0f ms ago and no fresh chunk arrived (watchdog timeout %.0f ms)"),
  HALT_REQUESTED(SafetyEventKind.HALT, "halt requested: %s"),
  CONTROLLER_FAULT(SafetyEventKind.HALT, "controller fault: %s; the robot was told to hold"),
  ESTOP_REQUESTED(SafetyEventKind.ESTOP, "emergency stop: %s; no setpoints are sent and the robot holds on its own"),
  LINK_LOSS(SafetyEventKind.LINK_LOSS,
      "no state from the robot for %.0f ms (limit %.0f ms); setpoints stopped and the robot holds on its own"),
  INVALID_STATE(SafetyEventKind.INVALID_STATE,
      "the robot reported %s = %s (expected: finite numbers, a unit quaternion, a gripper opening in 0..1);"
          + " the report was ignored and the last valid state kept"),
  SETPOINT_REFUSED(SafetyEventKind.SETPOINT_REFUSED,
      "the robot's agent refused a setpoint: %s; the robot holds on its own"),
  LIMITS_CHANGED(SafetyEventKind.LIMITS_CHANGED, "safety limits changed: %s");

  private final SafetyEventKind kind;
  private final String template;

  Cause(SafetyEventKind kind, String template) {
    this.kind = kind;
    this.template = template;
  }

  /** Returns the kind this cause is reported as. */
  public SafetyEventKind kind() {
    return kind;
  }

  /** Composes the event's sentence; allocates, so never called on the control-loop thread. */
  String describe(SafetyAction action, Axis axis, double requested, double limit, String note) {
    String what = switch (this) {
      case WATCHDOG, LINK_LOSS -> String.format(Locale.ROOT, template, requested * 1e3, limit * 1e3);
      case HALT_REQUESTED, CONTROLLER_FAULT, ESTOP_REQUESTED, SETPOINT_REFUSED, LIMITS_CHANGED ->
          String.format(Locale.ROOT, template, note == null || note.isEmpty() ? "no reason given" : note);
      case NON_FINITE, INVALID_STATE -> String.format(Locale.ROOT, template, note, Double.toString(requested));
      default -> String.format(Locale.ROOT, template, axis.label(), requested, limit);
    };
    String outcome = switch (action) {
      case CLAMP -> " Clamped; execution continues.";
      case HALT -> switch (this) {
        case ESTOP_REQUESTED -> " Resume with confirm_estop_reset once the cell is safe.";
        case LINK_LOSS, SETPOINT_REFUSED, CONTROLLER_FAULT -> " Resume required.";
        default -> " Decelerating to a hold; Resume required.";
      };
      case HOLD -> " Decelerating to a hold; a fresh chunk resumes.";
      case NOTICE -> "";
    };
    return Character.toUpperCase(what.charAt(0)) + what.substring(1) + "." + outcome;
  }
}
