package io.vlaserve.controller.driver;

import io.vlaserve.controller.safety.SafeSetpoint;

/**
 * A robot that is exactly where it was last told to be: no dynamics, no lag, a link that never
 * drops. For running the controller without a robot, as the bridge's warm-up and {@code vla
 * replay} do. Used on the control-loop thread only.
 */
public final class FollowingDriver implements RobotDriver {
  private final MeasuredState state = new MeasuredState();
  private long setpoints;

  /**
   * At {@code position} (metres), {@code orientation} (x, y, z, w) and {@code gripper} (0 closed
   * .. 1 open) at {@code timeNanos}.
   */
  public FollowingDriver(double[] position, double[] orientation, double gripper, long timeNanos) {
    System.arraycopy(position, 0, state.position, 0, 3);
    System.arraycopy(orientation, 0, state.orientation, 0, 4);
    state.gripper = gripper;
    state.timeNanos = timeNanos;
  }

  /** Setpoints received so far. */
  public long setpoints() {
    return setpoints;
  }

  @Override
  public boolean readState(MeasuredState out) {
    out.set(state);
    return true;
  }

  @Override
  public boolean linkAlive(long nowNanos) {
    return true;
  }

  @Override
  public long stateAgeNanos(long nowNanos) {
    return 0;
  }

  @Override
  public void send(SafeSetpoint setpoint) {
    setpoint.copyPosition(state.position);
    setpoint.copyOrientation(state.orientation);
    state.gripper = setpoint.gripper();
    state.timeNanos = setpoint.timeNanos();
    setpoints++;
  }

  @Override
  public void hold(String reason) {}
}
