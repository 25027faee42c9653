package io.vlaserve.robot.client;

import io.vlaserve.common.v1.RobotState;
import io.vlaserve.controller.v1.Setpoint;

/**
 * The robot as its agent drives it. Called from the agent's threads: implementations synchronise
 * with their own control loop.
 */
public interface RobotHardware {
  /** The robot's newest measured state (time on the robot's clock). */
  RobotState state();

  /** Moves toward one setpoint that passed the bridge's safety gate and the agent's own check ({@code SetpointCheck}). */
  void command(Setpoint setpoint);

  /**
   * Stops following setpoints and holds the current pose, on the robot's own authority: the bridge
   * asked for it, or setpoints stopped arriving (link loss).
   */
  void hold(String reason);
}
