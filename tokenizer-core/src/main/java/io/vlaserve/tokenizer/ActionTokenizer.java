package io.vlaserve.tokenizer;

/**
 * Maps continuous robot actions to discrete action tokens and back.
 *
 * <p>Implementations are immutable and thread-safe. The array methods allocate nothing: callers
 * own the buffers, so a batch of any size is encoded without per-action garbage. Non-finite values
 * and out-of-range token ids are always rejected, never silently mapped to a bin (OpenVLA maps NaN
 * to its last bin; this library refuses).
 */
public interface ActionTokenizer {

  ActionProfile profile();

  /** Number of dimensions, hence tokens per action. */
  default int dimensions() {
    return profile().dimensionCount();
  }

  /** The token ids dimension {@code d} may take: the slice a policy masks its logits to. */
  TokenRange allowedTokens(int dimension);

  /**
   * Encodes one value of one dimension.
   *
   * @throws InvalidActionException if the value is NaN or infinite
   */
  int encodeValue(int dimension, double value);

  /**
   * Decodes one token of one dimension to a value in the dimension's unit.
   *
   * @throws InvalidTokenException if the token is outside {@link #allowedTokens(int)}
   */
  double decodeToken(int dimension, int token);

  /**
   * Encodes {@code count} actions stored back to back in {@code actions} from {@code actionOffset}
   * into {@code tokens} from {@code tokenOffset}, one token per dimension.
   *
   * @throws InvalidActionException naming the first offending action (counted from 0 within this
   *     call) and dimension; tokens of earlier actions may already be written
   */
  default void encode(double[] actions, int actionOffset, int[] tokens, int tokenOffset, int count) {
    int dims = dimensions();
    for (int a = 0; a < count; a++) {
      int base = a * dims;
      for (int d = 0; d < dims; d++) {
        double value = actions[actionOffset + base + d];
        if (!Double.isFinite(value)) {
          throw InvalidActionException.nonFinite(a, d, profile().dimensions().get(d).name(), value);
        }
        tokens[tokenOffset + base + d] = encodeValue(d, value);
      }
    }
  }

  /**
   * Decodes {@code count} token sequences stored back to back into actions.
   *
   * @throws InvalidTokenException naming the first offending sequence and position
   */
  default void decode(int[] tokens, int tokenOffset, double[] actions, int actionOffset, int count) {
    int dims = dimensions();
    for (int s = 0; s < count; s++) {
      int base = s * dims;
      for (int d = 0; d < dims; d++) {
        int token = tokens[tokenOffset + base + d];
        TokenRange allowed = allowedTokens(d);
        if (!allowed.contains(token)) {
          throw InvalidTokenException.outOfRange(s, d, token, allowed);
        }
        actions[actionOffset + base + d] = decodeToken(d, token);
      }
    }
  }

  /** Encodes one action; convenience for callers off the hot path. */
  default int[] encode(double[] action) {
    if (action.length != dimensions()) {
      throw InvalidActionException.wrongLength(0, action.length, dimensions());
    }
    int[] tokens = new int[action.length];
    encode(action, 0, tokens, 0, 1);
    return tokens;
  }

  /** Decodes one token sequence; convenience for callers off the hot path. */
  default double[] decode(int[] tokens) {
    if (tokens.length != dimensions()) {
      throw InvalidTokenException.wrongLength(0, tokens.length, dimensions());
    }
    double[] action = new double[tokens.length];
    decode(tokens, 0, action, 0, 1);
    return action;
  }

  /**
   * Checks that a decoded sequence is valid for this profile: the right length and each token in
   * its dimension's range.
   *
   * @throws InvalidTokenException describing the first problem
   */
  default void validate(int[] tokens, int offset, int length, int sequenceIndex) {
    if (length != dimensions()) {
      throw InvalidTokenException.wrongLength(sequenceIndex, length, dimensions());
    }
    for (int d = 0; d < length; d++) {
      TokenRange allowed = allowedTokens(d);
      if (!allowed.contains(tokens[offset + d])) {
        throw InvalidTokenException.outOfRange(sequenceIndex, d, tokens[offset + d], allowed);
      }
    }
  }
}
