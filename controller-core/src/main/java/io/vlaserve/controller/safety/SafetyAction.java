package io.vlaserve.controller.safety;

/** What the controller did about a safety event. */
public enum SafetyAction {
  /** Brought the setpoint within the limit and carried on. */
  CLAMP,
  /** Decelerating to a hold (or stopped at once, for an e-stop); Resume required. */
  HALT,
  /** Decelerating to a hold after the watchdog fired; a fresh chunk resumes, no Resume needed. */
  HOLD,
  /** Nothing was clamped or stopped: a record for the audit trail (the limits changed). */
  NOTICE
}
