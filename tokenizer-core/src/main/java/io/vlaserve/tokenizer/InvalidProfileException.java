package io.vlaserve.tokenizer;

/** A profile or statistics file is malformed; the message names the field and what was expected. */
public class InvalidProfileException extends TokenizerException {
  public InvalidProfileException(String message) {
    super(message);
  }

  public InvalidProfileException(String message, Throwable cause) {
    super(message, cause);
  }
}
