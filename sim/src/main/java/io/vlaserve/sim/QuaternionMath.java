package io.vlaserve.sim;

/**
 * Allocation-free quaternion arithmetic on {@code double[4]} arrays laid out {@code [x, y, z, w]}.
 *
 * <p>Used on the per-step and per-frame paths, where {@link Quaternion} records would allocate.
 * Transcendental functions come from {@link StrictMath} so results are bit-identical on every JVM.
 * Stateless and thread-safe.
 */
public final class QuaternionMath {

  private QuaternionMath() {}

  /** Largest |half angle| for which {@link #sinSmall} and {@link #cosSmall} are used. */
  private static final double SMALL_HALF_ANGLE = 0.25;

  /** Writes {@code Rz(yaw) * Ry(pitch) * Rx(roll)} into {@code out}; allocates nothing. */
  public static void fromRollPitchYaw(double roll, double pitch, double yaw, double[] out) {
    double hr = roll * 0.5;
    double hp = pitch * 0.5;
    double hy = yaw * 0.5;
    double cr = cos(hr);
    double sr = sin(hr);
    double cp = cos(hp);
    double sp = sin(hp);
    double cy = cos(hy);
    double sy = sin(hy);
    out[0] = sr * cp * cy - cr * sp * sy;
    out[1] = cr * sp * cy + sr * cp * sy;
    out[2] = cr * cp * sy - sr * sp * cy;
    out[3] = cr * cp * cy + sr * sp * sy;
    canonicalize(out);
  }

  // Per-step rotations are at most 0.4 rad, so half angles are small; there a Taylor polynomial
  // (error below 1e-20) replaces StrictMath, whose argument reduction allocates a scratch array.
  private static double sin(double x) {
    return Math.abs(x) <= SMALL_HALF_ANGLE ? sinSmall(x) : StrictMath.sin(x);
  }

  private static double cos(double x) {
    return Math.abs(x) <= SMALL_HALF_ANGLE ? cosSmall(x) : StrictMath.cos(x);
  }

  static double sinSmall(double x) {
    double x2 = x * x;
    return x * (1 + x2 * (-1.0 / 6 + x2 * (1.0 / 120 + x2 * (-1.0 / 5040 + x2 * (1.0 / 362880
        + x2 * (-1.0 / 39916800 + x2 * (1.0 / 6227020800L)))))));
  }

  static double cosSmall(double x) {
    double x2 = x * x;
    return 1 + x2 * (-1.0 / 2 + x2 * (1.0 / 24 + x2 * (-1.0 / 720 + x2 * (1.0 / 40320
        + x2 * (-1.0 / 3628800 + x2 * (1.0 / 479001600 + x2 * (-1.0 / 87178291200L)))))));
  }

  /** Writes {@code [roll, pitch, yaw]} of the given unit quaternion into {@code out}. */
  public static void toRollPitchYaw(double x, double y, double z, double w, double[] out) {
    double sinPitch = 2 * (w * y - z * x);
    out[0] = StrictMath.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y));
    out[1] = Math.abs(sinPitch) >= 1 ? Math.copySign(Math.PI / 2, sinPitch) : StrictMath.asin(sinPitch);
    out[2] = StrictMath.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
  }

  /**
   * Writes the Hamilton product {@code a * b} into {@code out}; {@code out} may alias either input.
   */
  public static void multiply(double[] a, double[] b, double[] out) {
    double x = a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1];
    double y = a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0];
    double z = a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3];
    double w = a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2];
    out[0] = x;
    out[1] = y;
    out[2] = z;
    out[3] = w;
  }

  /**
   * Normalises {@code q} in place and makes {@code w >= 0}.
   *
   * @param what names the argument in the exception message
   * @throws IllegalArgumentException if a component is not finite or the norm is below 1e-9
   */
  public static void normalizeInPlace(double[] q, String what) {
    if (q.length != 4) {
      throw new IllegalArgumentException(what + " length " + q.length + " (expected 4: x, y, z, w)");
    }
    for (int i = 0; i < 4; i++) {
      if (!Double.isFinite(q[i])) {
        throw new IllegalArgumentException(
            what + "[" + i + "] = " + q[i] + " (expected a finite number)");
      }
    }
    double norm = Math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    if (norm < 1e-9) {
      throw new IllegalArgumentException(what + " norm " + norm + " (expected a non-zero quaternion)");
    }
    for (int i = 0; i < 4; i++) {
      q[i] /= norm;
    }
    canonicalize(q);
  }

  /** Flips the sign of {@code q} if needed so that {@code w >= 0}; q and -q are one rotation. */
  public static void canonicalize(double[] q) {
    if (q[3] < 0) {
      // 0.0 - v rather than -v: never produces -0.0, which records would treat as a different value.
      q[0] = 0.0 - q[0];
      q[1] = 0.0 - q[1];
      q[2] = 0.0 - q[2];
      q[3] = 0.0 - q[3];
    }
  }

  /** Returns the angle between the rotated gripper z axis and the world z axis, radians. */
  public static double tilt(double x, double y, double z, double w) {
    return StrictMath.acos(Math.max(-1.0, Math.min(1.0, cosTilt(x, y, z, w))));
  }

  /** Returns the cosine of {@link #tilt}; cheaper, for comparisons against a fixed limit. */
  public static double cosTilt(double x, double y, double z, double w) {
    // Third column of the rotation matrix, z component: how much the gripper axis still points up.
    return 1 - 2 * (x * x + y * y);
  }

  /**
   * Writes the row-major 3x3 rotation matrix of the unit quaternion into {@code out[0..8]};
   * columns are the gripper's x, y, z axes expressed in the world frame.
   */
  public static void toMatrix(double x, double y, double z, double w, double[] out) {
    out[0] = 1 - 2 * (y * y + z * z);
    out[1] = 2 * (x * y - z * w);
    out[2] = 2 * (x * z + y * w);
    out[3] = 2 * (x * y + z * w);
    out[4] = 1 - 2 * (x * x + z * z);
    out[5] = 2 * (y * z - x * w);
    out[6] = 2 * (x * z - y * w);
    out[7] = 2 * (y * z + x * w);
    out[8] = 1 - 2 * (x * x + y * y);
  }
}
