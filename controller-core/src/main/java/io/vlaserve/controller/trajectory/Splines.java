package io.vlaserve.controller.trajectory;

/**
 * Hermite segment shapes over the normalised time {@code s} in [0, 1] of one segment.
 *
 * <p>Tangents are given pre-multiplied by the segment duration ({@code m * T}), so the shapes are
 * independent of time units. Stateless and thread-safe.
 */
public final class Splines {
  private Splines() {}

  /** Cubic Hermite from {@code p0} to {@code p1} with scaled tangents {@code m0}, {@code m1}. */
  public static double cubic(double p0, double m0, double p1, double m1, double s) {
    double s2 = s * s;
    double s3 = s2 * s;
    return (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * m0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * m1;
  }

  /**
   * Quintic Hermite from {@code p0} to {@code p1} with scaled tangents {@code m0}, {@code m1} and
   * zero acceleration at both ends: the minimum-jerk segment for those boundary conditions.
   */
  public static double quintic(double p0, double m0, double p1, double m1, double s) {
    double s2 = s * s;
    double s3 = s2 * s;
    double s4 = s3 * s;
    double s5 = s4 * s;
    double h0 = 1 - 10 * s3 + 15 * s4 - 6 * s5;
    double h1 = s - 6 * s3 + 8 * s4 - 3 * s5;
    double h4 = -4 * s3 + 7 * s4 - 3 * s5;
    double h5 = 10 * s3 - 15 * s4 + 6 * s5;
    return h0 * p0 + h1 * m0 + h4 * m1 + h5 * p1;
  }

  /**
   * Quintic Hermite from {@code p0} to {@code p1} with scaled tangents {@code m0}, {@code m1}, a
   * scaled start acceleration {@code a0} ({@code acceleration * T^2}) and zero acceleration at the
   * end: a segment that takes over a motion without a step in acceleration.
   */
  public static double quintic(double p0, double m0, double a0, double p1, double m1, double s) {
    double s2 = s * s;
    double s3 = s2 * s;
    double s4 = s3 * s;
    double s5 = s4 * s;
    double h2 = 0.5 * s2 - 1.5 * s3 + 1.5 * s4 - 0.5 * s5;
    return quintic(p0, m0, p1, m1, s) + h2 * a0;
  }

  /** Cubic smoothstep {@code 3s^2 - 2s^3}: 0 to 1 with zero slope at both ends. */
  public static double smoothstep(double s) {
    return s * s * (3 - 2 * s);
  }

  /**
   * The minimum-jerk profile {@code 10s^3 - 15s^4 + 6s^5}: 0 to 1 with zero first and second
   * derivatives at both ends. {@code s} is clamped to [0, 1].
   */
  public static double minimumJerk(double s) {
    if (s <= 0) {
      return 0;
    }
    if (s >= 1) {
      return 1;
    }
    return s * s * s * (10 + s * (-15 + 6 * s));
  }
}
