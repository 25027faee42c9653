package io.vlaserve.controller.safety;

/** What the gate does when a request breaks a limit; mirrors {@code vla.controller.v1.LimitMode}. */
public enum LimitMode {
  /** Bring the setpoint within the limit and carry on. */
  CLAMP,
  /** Decelerate to a hold within the limits; Resume required. */
  HALT
}
