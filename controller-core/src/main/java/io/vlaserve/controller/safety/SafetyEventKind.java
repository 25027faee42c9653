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
  LINK_LOSS
}
