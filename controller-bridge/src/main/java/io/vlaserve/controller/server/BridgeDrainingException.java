package io.vlaserve.controller.server;

/**
 * An Execute stream opened while this bridge drains: its robots are being brought to rest and their
 * agents sent to another bridge, so nothing may start here any more. UNAVAILABLE, so that the gateway
 * holds the robot and opens its execution where the robot's agent goes next.
 */
public final class BridgeDrainingException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BridgeDrainingException(String robotId) {
    super("the controller bridge is draining: it starts no execution (robot " + robotId + "); open it again where"
        + " the robot's agent reconnects");
  }
}
