package io.vlaserve.controller.safety;

/**
 * Safety limits that cannot be enforced: a non-finite or non-positive rate, an empty workspace box,
 * a missing mode. {@link #field()} names the offending field as the wire contract spells it
 * ({@code max_linear_velocity.max}); the message says what was expected.
 */
public final class InvalidSafetyLimitsException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private final String field;

  public InvalidSafetyLimitsException(String field, String message) {
    super(field + ": " + message);
    this.field = field;
  }

  /** Returns the offending field, e.g. {@code workspace_min.x}. */
  public String field() {
    return field;
  }
}
