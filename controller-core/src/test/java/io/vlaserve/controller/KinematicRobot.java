package io.vlaserve.controller;

import io.vlaserve.controller.driver.MeasuredState;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.safety.SafeSetpoint;

/**
 * A robot that reaches every setpoint exactly, like the simulator's kinematic arm in free space,
 * starting at the simulator's centre pose (0.5, 0, 0.23), pointing down, gripper open. The measured
 * time is that of the last setpoint (or of construction). Allocation-free; loop thread only.
 */
public final class KinematicRobot implements RobotDriver {
  private final MeasuredState state = new MeasuredState();
  private boolean holding;
  private long commands;

  public KinematicRobot(long startNanos) {
    state.position[0] = 0.5;
    state.position[1] = 0;
    state.position[2] = 0.23;
    state.gripper = 1;
    state.timeNanos = startNanos;
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
    holding = false;
    commands++;
  }

  @Override
  public void hold(String reason) {
    holding = true;
  }

  /** Returns whether the last instruction was to hold. */
  public boolean holding() {
    return holding;
  }

  /** Returns how many setpoints were commanded. */
  public long commands() {
    return commands;
  }
}
