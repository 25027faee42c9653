package io.vlaserve.tokenizer;

/** A token sequence cannot be decoded: an id outside its dimension's range, or the wrong length. */
public class InvalidTokenException extends TokenizerException {
  private final int sequenceIndex;
  private final int position;
  private final int token;

  public InvalidTokenException(int sequenceIndex, int position, int token, String message) {
    super(message);
    this.sequenceIndex = sequenceIndex;
    this.position = position;
    this.token = token;
  }

  public int sequenceIndex() {
    return sequenceIndex;
  }

  /** Offending position in the sequence, or -1 when the length itself is wrong. */
  public int position() {
    return position;
  }

  public int token() {
    return token;
  }

  static InvalidTokenException outOfRange(int sequenceIndex, int position, int token, TokenRange allowed) {
    return new InvalidTokenException(sequenceIndex, position, token,
        "tokens[" + sequenceIndex + "][" + position + "]: " + token + " (expected: a token in " + allowed
            + " for dimension " + position + ")");
  }

  static InvalidTokenException wrongLength(int sequenceIndex, int length, int expected) {
    return new InvalidTokenException(sequenceIndex, -1, 0,
        "tokens[" + sequenceIndex + "]: " + length + " tokens (expected: " + expected + ", one per dimension)");
  }
}
