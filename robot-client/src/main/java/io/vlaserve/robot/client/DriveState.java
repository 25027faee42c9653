package io.vlaserve.robot.client;

/**
 * Whether the gateway is driving the robot, as its session sees it. Anything but {@link #DRIVEN}
 * means the robot must hold (its agent also holds on its own when setpoints stop).
 */
public enum DriveState {
  /** The gateway is executing the task: setpoints are expected through the robot's agent. */
  DRIVEN,
  /** The session is alive but not driving now (opening, planning, told to hold, halted). Hold. */
  HOLD,
  /** The session is over (outcome, error or closed); nothing more will drive the robot from it. Hold. */
  ENDED
}
