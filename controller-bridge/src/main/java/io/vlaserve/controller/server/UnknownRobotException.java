package io.vlaserve.controller.server;

import java.util.Collection;

/** A request names a robot this bridge does not drive; the message lists the ones it does. */
public final class UnknownRobotException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UnknownRobotException(String robotId, Collection<String> known) {
    super("robot_id: " + (robotId.isEmpty() ? "empty" : "'" + robotId + "' is not driven by this bridge")
        + " (expected one of: " + String.join(", ", known) + ")");
  }
}
