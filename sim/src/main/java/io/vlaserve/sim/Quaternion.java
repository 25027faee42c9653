package io.vlaserve.sim;

/**
 * A unit quaternion (x, y, z, w), Hamilton convention, describing the end-effector orientation.
 *
 * <p>The identity is the nominal gripper pose: pointing straight down at the table with the
 * fingers closing along the world y axis. Roll, pitch and yaw are extrinsic rotations about the
 * world x, y and z axes applied in that order, i.e. {@code R = Rz(yaw) * Ry(pitch) * Rx(roll)}.
 * The factory methods return quaternions normalised and canonicalised to {@code w >= 0}, so that
 * one orientation has one representation (useful for proprioception fed to a learned policy).
 * Trigonometry uses {@link StrictMath} so results are identical on every JVM.
 *
 * <p>Instances are immutable and therefore thread-safe.
 *
 * @param x vector part, x
 * @param y vector part, y
 * @param z vector part, z
 * @param w scalar part
 */
public record Quaternion(double x, double y, double z, double w) {

  /** The nominal, pointing-down orientation. */
  public static final Quaternion IDENTITY = new Quaternion(0, 0, 0, 1);

  /** Returns the orientation {@code Rz(yaw) * Ry(pitch) * Rx(roll)}, angles in radians. */
  public static Quaternion fromRollPitchYaw(double roll, double pitch, double yaw) {
    double[] q = new double[4];
    QuaternionMath.fromRollPitchYaw(roll, pitch, yaw, q);
    return fromArray(q);
  }

  /**
   * Returns a normalised, canonical ({@code w >= 0}) quaternion from {@code [x, y, z, w]}.
   *
   * @throws IllegalArgumentException if a component is not finite or the norm is (nearly) zero
   */
  public static Quaternion fromArray(double[] xyzw) {
    double[] q = xyzw.clone();
    QuaternionMath.normalizeInPlace(q, "orientation");
    return new Quaternion(q[0], q[1], q[2], q[3]);
  }

  /** Returns {@code [x, y, z, w]} as a new array. */
  public double[] toArray() {
    return new double[] {x, y, z, w};
  }

  /** Returns {@code [roll, pitch, yaw]} in radians such that {@link #fromRollPitchYaw} gives this. */
  public double[] toRollPitchYaw() {
    double[] rpy = new double[3];
    QuaternionMath.toRollPitchYaw(x, y, z, w, rpy);
    return rpy;
  }

  /** Returns the angle of the rotation from this orientation to {@code other}, radians in [0, pi]. */
  public double angleTo(Quaternion other) {
    double dot = Math.abs(x * other.x + y * other.y + z * other.z + w * other.w);
    return 2 * StrictMath.acos(Math.min(1.0, dot));
  }

  /**
   * Returns the angle between the gripper's approach axis and straight down, radians in [0, pi].
   * Yaw about the vertical does not count as tilt.
   */
  public double tilt() {
    return QuaternionMath.tilt(x, y, z, w);
  }

  @Override
  public String toString() {
    return String.format(java.util.Locale.ROOT, "(x=%.4f, y=%.4f, z=%.4f, w=%.4f)", x, y, z, w);
  }
}
