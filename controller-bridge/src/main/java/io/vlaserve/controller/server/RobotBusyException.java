package io.vlaserve.controller.server;

/** Another Execute stream already drives the robot; one stream per robot. */
public final class RobotBusyException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public RobotBusyException(String robotId) {
    super("robot " + robotId + " is already driven by another Execute stream; close that stream first"
        + " (one stream per robot)");
  }
}
