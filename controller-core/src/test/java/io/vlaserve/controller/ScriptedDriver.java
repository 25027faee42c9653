package io.vlaserve.controller;

import io.vlaserve.controller.driver.MeasuredState;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.safety.SafeSetpoint;
import java.util.ArrayList;
import java.util.List;

/**
 * A driver whose robot reaches every setpoint exactly (like the simulator's kinematic arm in free
 * space) and whose link and faults a test controls. Loop thread only.
 */
public final class ScriptedDriver implements RobotDriver {
  final MeasuredState state = new MeasuredState();
  boolean reported = true;
  boolean alive = true;
  boolean failOnSend;
  long lastReportNanos;
  long sent;
  final List<String> holds = new ArrayList<>();
  private boolean holding;

  /** A robot at the simulator's centre start pose (0.5, 0, 0.23), pointing down, gripper open. */
  public static ScriptedDriver atCentre(long startNanos) {
    ScriptedDriver driver = new ScriptedDriver(0.5, 0, 0.23);
    driver.state.timeNanos = startNanos;
    driver.lastReportNanos = startNanos;
    return driver;
  }

  ScriptedDriver(double x, double y, double z) {
    state.position[0] = x;
    state.position[1] = y;
    state.position[2] = z;
    state.gripper = 1;
  }

  @Override
  public boolean readState(MeasuredState out) {
    out.set(state);
    return reported;
  }

  @Override
  public boolean linkAlive(long nowNanos) {
    return alive;
  }

  @Override
  public long stateAgeNanos(long nowNanos) {
    return alive ? 0 : nowNanos - lastReportNanos;
  }

  @Override
  public long linkTimeoutNanos() {
    return 20_000_000;
  }

  @Override
  public void send(SafeSetpoint setpoint) {
    if (failOnSend) {
      throw new IllegalStateException("driver bug");
    }
    setpoint.copyPosition(state.position);
    setpoint.copyOrientation(state.orientation);
    state.gripper = setpoint.gripper();
    state.timeNanos = setpoint.timeNanos();
    lastReportNanos = setpoint.timeNanos();
    sent++;
    holding = false;
  }

  @Override
  public void hold(String reason) {
    holds.add(reason);
    holding = true;
  }

  /** Returns whether the last instruction was to hold. */
  public boolean holding() {
    return holding;
  }

  /** Returns how many setpoints were commanded. */
  public long commands() {
    return sent;
  }
}
