package io.vlaserve.controller.trajectory;

/**
 * Allocation-free unit-quaternion arithmetic on {@code double[4]} laid out {@code [x, y, z, w]}
 * (Hamilton convention), for the per-tick path.
 *
 * <p>Rotation vectors are {@code axis * angle} in radians. Stateless and thread-safe.
 */
public final class Quaternions {
  private Quaternions() {}

  /** Below this angle (radians) series expansions replace sin(x)/x, which loses precision. */
  private static final double SMALL_ANGLE = 1e-6;

  /** Writes {@code a * b} into {@code out}; {@code out} may alias either input. */
  public static void multiply(double[] a, double[] b, double[] out) {
    // The simulator's product term for term (sim-robot's ConventionsTest checks they agree).
    double x = a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1];
    double y = a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0];
    double z = a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3];
    double w = a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2];
    out[0] = x;
    out[1] = y;
    out[2] = z;
    out[3] = w;
  }

  /** Writes {@code a * conjugate(b)} into {@code out}: the world-frame rotation taking b to a. */
  public static void multiplyConjugate(double[] a, double[] b, double[] out) {
    double bx = -b[0];
    double by = -b[1];
    double bz = -b[2];
    double bw = b[3];
    double x = a[3] * bx + a[0] * bw + a[1] * bz - a[2] * by;
    double y = a[3] * by - a[0] * bz + a[1] * bw + a[2] * bx;
    double z = a[3] * bz + a[0] * by - a[1] * bx + a[2] * bw;
    double w = a[3] * bw - a[0] * bx - a[1] * by - a[2] * bz;
    out[0] = x;
    out[1] = y;
    out[2] = z;
    out[3] = w;
  }

  /** Writes {@code (vx, vy, vz)} rotated by unit quaternion {@code q} into {@code out[0..2]}. */
  public static void rotate(double[] q, double vx, double vy, double vz, double[] out) {
    // v' = v + 2 w (u x v) + 2 u x (u x v), u the vector part.
    double ux = q[0];
    double uy = q[1];
    double uz = q[2];
    double w = q[3];
    double cx = uy * vz - uz * vy;
    double cy = uz * vx - ux * vz;
    double cz = ux * vy - uy * vx;
    out[0] = vx + 2 * (w * cx + uy * cz - uz * cy);
    out[1] = vy + 2 * (w * cy + uz * cx - ux * cz);
    out[2] = vz + 2 * (w * cz + ux * cy - uy * cx);
  }

  /** Returns the 4-D dot product. */
  public static double dot(double[] a, double[] b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
  }

  /** Returns the Euclidean norm. */
  public static double norm(double[] q) {
    return Math.sqrt(dot(q, q));
  }

  /** Scales {@code q} to unit length in place; the caller guarantees a non-zero, finite norm. */
  public static void normalize(double[] q) {
    double inverse = 1.0 / norm(q);
    q[0] *= inverse;
    q[1] *= inverse;
    q[2] *= inverse;
    q[3] *= inverse;
  }

  /**
   * Writes the extrinsic rotation {@code Rz(yaw) Ry(pitch) Rx(roll)} (about world x, then y, then z)
   * into {@code out}: the convention of the action space and of the simulator.
   */
  public static void fromRollPitchYaw(double roll, double pitch, double yaw, double[] out) {
    double cr = Math.cos(roll * 0.5);
    double sr = Math.sin(roll * 0.5);
    double cp = Math.cos(pitch * 0.5);
    double sp = Math.sin(pitch * 0.5);
    double cy = Math.cos(yaw * 0.5);
    double sy = Math.sin(yaw * 0.5);
    out[0] = sr * cp * cy - cr * sp * sy;
    out[1] = cr * sp * cy + sr * cp * sy;
    out[2] = cr * cp * sy - sr * sp * cy;
    out[3] = cr * cp * cy + sr * sp * sy;
  }

  /** Writes the quaternion of rotation vector {@code (rx, ry, rz)} (the exponential map) into {@code out}. */
  public static void fromRotationVector(double rx, double ry, double rz, double[] out) {
    double angle = Math.sqrt(rx * rx + ry * ry + rz * rz);
    double half = angle * 0.5;
    // sin(angle/2)/angle, with its series where the quotient would cancel.
    double k = angle < SMALL_ANGLE ? 0.5 - angle * angle / 48 : Math.sin(half) / angle;
    out[0] = k * rx;
    out[1] = k * ry;
    out[2] = k * rz;
    out[3] = Math.cos(half);
  }

  /**
   * Writes the rotation vector of unit quaternion {@code q} (the logarithm map, shortest rotation,
   * angle in [0, pi]) into {@code out[0..2]}.
   */
  public static void toRotationVector(double[] q, double[] out) {
    // q and -q are the same rotation; w >= 0 picks the angle in [0, pi].
    double sign = q[3] < 0 ? -1 : 1;
    double x = sign * q[0];
    double y = sign * q[1];
    double z = sign * q[2];
    double w = sign * q[3];
    double sinHalf = Math.sqrt(x * x + y * y + z * z);
    double angle = 2 * Math.atan2(sinHalf, w);
    double k = sinHalf < SMALL_ANGLE ? 2 / w : angle / sinHalf;
    out[0] = k * x;
    out[1] = k * y;
    out[2] = k * z;
  }

  /**
   * Returns the angle (radians, in [0, pi]) of the rotation between {@code a} and {@code b}.
   * Accurate for small angles too (atan2, not acos of the dot product).
   */
  public static double angleBetween(double[] a, double[] b) {
    // Vector and scalar parts of a * conjugate(b), inlined to stay allocation-free.
    double x = -a[3] * b[0] + a[0] * b[3] - a[1] * b[2] + a[2] * b[1];
    double y = -a[3] * b[1] + a[0] * b[2] + a[1] * b[3] - a[2] * b[0];
    double z = -a[3] * b[2] - a[0] * b[1] + a[1] * b[0] + a[2] * b[3];
    double w = dot(a, b);
    return 2 * Math.atan2(Math.sqrt(x * x + y * y + z * z), Math.abs(w));
  }

  /**
   * Writes the spherical linear interpolation from {@code a} (t = 0) to {@code b} (t = 1) along the
   * shorter arc into {@code out}; {@code out} may alias {@code a} or {@code b}. Constant angular
   * velocity in t, unlike interpolating Euler angles.
   */
  public static void slerp(double[] a, double[] b, double t, double[] out) {
    // b and -b are one rotation: take the sign that gives the shorter arc.
    double sign = dot(a, b) < 0 ? -1 : 1;
    // The angle between a and sign*b as 4-vectors, from |a - b| and |a + b|: accurate at every
    // angle, unlike acos of the dot product near 1 (and nlerp is not constant-rate).
    double dx = a[0] - sign * b[0];
    double dy = a[1] - sign * b[1];
    double dz = a[2] - sign * b[2];
    double dw = a[3] - sign * b[3];
    double sx = a[0] + sign * b[0];
    double sy = a[1] + sign * b[1];
    double sz = a[2] + sign * b[2];
    double sw = a[3] + sign * b[3];
    double theta = 2 * Math.atan2(Math.sqrt(dx * dx + dy * dy + dz * dz + dw * dw),
        Math.sqrt(sx * sx + sy * sy + sz * sz + sw * sw));
    double wa;
    double wb;
    if (theta < 1e-12) {
      wa = 1 - t;
      wb = t;
    } else {
      double sin = Math.sin(theta);
      wa = Math.sin((1 - t) * theta) / sin;
      wb = Math.sin(t * theta) / sin;
    }
    wb *= sign;
    double x = wa * a[0] + wb * b[0];
    double y = wa * a[1] + wb * b[1];
    double z = wa * a[2] + wb * b[2];
    double w = wa * a[3] + wb * b[3];
    double inverse = 1.0 / Math.sqrt(x * x + y * y + z * z + w * w);
    out[0] = x * inverse;
    out[1] = y * inverse;
    out[2] = z * inverse;
    out[3] = w * inverse;
  }
}
