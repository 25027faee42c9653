package io.vlaserve.controller;

/**
 * An action chunk that cannot be executed as sent: a non-finite value, a wrong number of
 * dimensions, no steps, too many steps or a non-positive step period. The message names the
 * offending step and dimension and says what was expected.
 */
public final class InvalidChunkException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public InvalidChunkException(String message) {
    super(message);
  }
}
