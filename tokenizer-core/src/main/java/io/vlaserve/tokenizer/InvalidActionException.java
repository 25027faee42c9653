package io.vlaserve.tokenizer;

/** An action cannot be encoded: a non-finite value or the wrong number of dimensions. */
public class InvalidActionException extends TokenizerException {
  private final int actionIndex;
  private final int dimension;
  private final double value;

  public InvalidActionException(int actionIndex, int dimension, double value, String message) {
    super(message);
    this.actionIndex = actionIndex;
    this.dimension = dimension;
    this.value = value;
  }

  /** Index of the offending action within its batch, or 0 for a single action. */
  public int actionIndex() {
    return actionIndex;
  }

  /** Offending dimension, or -1 when the dimension count itself is wrong. */
  public int dimension() {
    return dimension;
  }

  /** The offending value (NaN when the count was wrong). */
  public double value() {
    return value;
  }

  static InvalidActionException nonFinite(int actionIndex, int dimension, String dimensionName, double value) {
    return new InvalidActionException(actionIndex, dimension, value,
        "action[" + actionIndex + "][" + dimension + "] (" + dimensionName + "): " + value
            + " (expected: a finite number)");
  }

  static InvalidActionException wrongLength(int actionIndex, int length, int expected) {
    return new InvalidActionException(actionIndex, -1, Double.NaN,
        "action[" + actionIndex + "]: " + length + " values (expected: " + expected + ", one per dimension)");
  }
}
