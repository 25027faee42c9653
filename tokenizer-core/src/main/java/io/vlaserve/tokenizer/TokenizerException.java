package io.vlaserve.tokenizer;

/** Base of every error the tokenizer reports; messages say what was wrong and what was expected. */
public class TokenizerException extends IllegalArgumentException {
  public TokenizerException(String message) {
    super(message);
  }

  public TokenizerException(String message, Throwable cause) {
    super(message, cause);
  }
}
