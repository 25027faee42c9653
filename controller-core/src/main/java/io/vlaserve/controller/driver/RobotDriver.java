package io.vlaserve.controller.driver;

import io.vlaserve.controller.safety.SafeSetpoint;
import io.vlaserve.controller.safety.SafetyLimits;

/**
 * The robot as the control loop sees it: measured state in, gated setpoints out.
 *
 * <p>{@link #send} accepts only a {@link SafeSetpoint}, which only the safety gate can produce:
 * there is no way to command a robot around the gate. Every method is called on the control-loop
 * thread, once per tick at most, and must neither block nor allocate on the steady path;
 * implementations that talk to a network hand the work to another thread.
 */
public interface RobotDriver {

  /**
   * Copies the newest measured state into {@code out}.
   *
   * @return false if the robot has not reported any state yet
   */
  boolean readState(MeasuredState out);

  /**
   * Returns whether the link to the robot is alive at {@code nowNanos} (the robot reported state
   * recently enough). Always true for an in-process robot.
   */
  boolean linkAlive(long nowNanos);

  /** Returns how long ago (ns) the robot last reported, at {@code nowNanos}; 0 for an in-process robot. */
  long stateAgeNanos(long nowNanos);

  /** Returns how long the robot may stay silent before its link counts as lost, ns; 0 if never. */
  default long linkTimeoutNanos() {
    return 0;
  }

  /**
   * Tells the robot the limits its setpoints are made under: once when the controller takes
   * control and again whenever they change, always before the first setpoint made under them. A
   * robot that checks setpoints itself (robot-client's agent) refuses those outside them. Called on
   * the loop thread, rarely; may allocate.
   */
  default void announceLimits(SafetyLimits limits) {}

  /** Commands one setpoint that passed the gate. */
  void send(SafeSetpoint setpoint);

  /**
   * Tells the robot to stop following setpoints and hold its pose on its own (e-stop, link loss,
   * controller fault). Setpoints resume with the next {@link #send}.
   */
  void hold(String reason);
}
