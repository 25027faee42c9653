package io.vlaserve.controller.server;

/**
 * An Execute stream for a remote robot whose agent is not linked to this bridge: nothing here can
 * move it (a standby shard that lists the robot, or its agent not connected yet). UNAVAILABLE, so
 * that the gateway holds the robot and looks for the bridge its agent is linked to.
 */
public final class AgentNotLinkedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public AgentNotLinkedException(String robotId) {
    super("robot " + robotId + "'s agent is not linked to this controller bridge (not connected yet, or linked to"
        + " another bridge): it cannot be driven here; open its execution where its agent is linked");
  }
}
