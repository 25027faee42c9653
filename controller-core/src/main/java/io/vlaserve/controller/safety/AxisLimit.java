package io.vlaserve.controller.safety;

/**
 * One limit: a positive maximum magnitude and what to do when a request exceeds it.
 *
 * <p>Immutable and thread-safe; validated by {@link SafetyLimits}.
 *
 * @param max the largest allowed magnitude, in the limit's unit
 * @param mode clamp or halt
 */
public record AxisLimit(double max, LimitMode mode) {

  /** A clamping limit. */
  public static AxisLimit clamp(double max) {
    return new AxisLimit(max, LimitMode.CLAMP);
  }

  /** A halting limit. */
  public static AxisLimit halt(double max) {
    return new AxisLimit(max, LimitMode.HALT);
  }
}
