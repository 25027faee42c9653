package io.vlaserve.robot.sim;

import io.vlaserve.controller.driver.MeasuredState;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.safety.SafeSetpoint;
import io.vlaserve.sim.TabletopWorld;

/**
 * A robot driver over the project's kinematic {@link TabletopWorld}: every setpoint becomes an
 * absolute {@code commandPose}, and the measured state is the world's proprioception. It lives here,
 * beside the simulator, so that the safety library (controller-core) carries no simulator; the
 * bridge finds it through {@link SimulatedRobotDriverProvider} when it is configured to simulate.
 *
 * <p>The simulated arm reaches each setpoint exactly (it may lift over a carried block's obstacle),
 * so "hold" simply means no further commands. The measured time is the time of the last setpoint
 * (or of construction), as if the robot measured at the moment it moved.
 *
 * <p>Allocation-free. Confined to the control-loop thread, like the world it owns: read the world
 * from elsewhere only while the loop is stopped.
 */
public final class SimulatedRobotDriver implements RobotDriver {
  private final TabletopWorld world;
  private final double[] proprio = new double[8];
  private final double[] position = new double[3];
  private final double[] orientation = new double[4];
  private long lastTimeNanos;
  private boolean holding;
  private long commands;

  /**
   * Creates a driver over {@code world}.
   *
   * @param startNanos loop-clock time reported as the measurement time before the first setpoint
   */
  public SimulatedRobotDriver(TabletopWorld world, long startNanos) {
    this.world = world;
    this.lastTimeNanos = startNanos;
  }

  @Override
  public boolean readState(MeasuredState out) {
    world.writeProprio(proprio);
    out.position[0] = proprio[0];
    out.position[1] = proprio[1];
    out.position[2] = proprio[2];
    out.orientation[0] = proprio[3];
    out.orientation[1] = proprio[4];
    out.orientation[2] = proprio[5];
    out.orientation[3] = proprio[6];
    out.gripper = proprio[7];
    out.timeNanos = lastTimeNanos;
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
    setpoint.copyPosition(position);
    setpoint.copyOrientation(orientation);
    world.commandPose(position, orientation, setpoint.gripper());
    lastTimeNanos = setpoint.timeNanos();
    holding = false;
    commands++;
  }

  @Override
  public void hold(String reason) {
    holding = true;
  }

  /** Returns whether the last instruction was to hold; for tests. */
  public boolean holding() {
    return holding;
  }

  /** Returns how many setpoints were commanded; for tests. */
  public long commands() {
    return commands;
  }

  /** Returns the simulated world; touch it only from the loop thread or while the loop is stopped. */
  public TabletopWorld world() {
    return world;
  }
}
