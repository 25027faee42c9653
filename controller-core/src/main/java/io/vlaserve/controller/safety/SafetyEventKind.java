package io.vlaserve.controller.safety;

/** Why the controller intervened; mirrors {@code vla.controller.v1.SafetyEventKind}. */
public enum SafetyEventKind {
  /** A target outside the workspace box, or braking early so as not to leave it. */
  WORKSPACE,
  VELOCITY,
  ACCELERATION,
  JERK,
  ROTATION_RATE,
  GRIPPER_RATE,
  /** A NaN or Inf reached the gate; always halts. */
  NON_FINITE,
  /** The chunk ran out with no fresh one in time; decelerating to a hold. */
  WATCHDOG,
  /** Halt requested (or a controller fault). */
  HALT,
  ESTOP,
  /** The robot stopped reporting its state. */
  LINK_LOSS,
  /** The robot reported a state that is not finite, not a unit quaternion, or a gripper outside 0..1. */
  INVALID_STATE,
  ANGULAR_ACCELERATION,
  ANGULAR_JERK,
  GRIPPER_ACCELERATION,
  /** The tool axis would leave the cone of allowed directions. */
  ORIENTATION_WORKSPACE,
  /** The robot's agent refused a setpoint its own check found unsafe. */
  SETPOINT_REFUSED,
  /** The limits changed; an audit record, not an intervention. */
  LIMITS_CHANGED
}
