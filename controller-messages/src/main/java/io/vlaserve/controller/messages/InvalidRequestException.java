package io.vlaserve.controller.messages;

/** A request that is malformed whatever the robot's state; the message names the field. */
public final class InvalidRequestException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public InvalidRequestException(String message) {
    super(message);
  }
}
