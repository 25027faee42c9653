package io.vlaserve.controller;

/**
 * A request the robot's current state does not allow, e.g. Resume while an e-stop is latched
 * without confirmation, or while the robot's link is still down. The message says what to do.
 */
public final class ControllerStateException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ControllerStateException(String message) {
    super(message);
  }
}
