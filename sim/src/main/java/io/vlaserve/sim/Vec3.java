package io.vlaserve.sim;

/**
 * A point or displacement in the world frame, in metres.
 *
 * <p>The world frame is right-handed: x points away from the robot base across the table, y to
 * the robot's left, z up; the table top is the plane z = 0. Instances are immutable and therefore
 * thread-safe.
 *
 * @param x metres along the world x axis
 * @param y metres along the world y axis
 * @param z metres along the world z axis (up)
 */
public record Vec3(double x, double y, double z) {

  /** The origin. */
  public static final Vec3 ZERO = new Vec3(0, 0, 0);

  /** Returns {@code this + other}. */
  public Vec3 plus(Vec3 other) {
    return new Vec3(x + other.x, y + other.y, z + other.z);
  }

  /** Returns {@code this - other}. */
  public Vec3 minus(Vec3 other) {
    return new Vec3(x - other.x, y - other.y, z - other.z);
  }

  /** Returns the Euclidean distance to {@code other}, metres. */
  public double distanceTo(Vec3 other) {
    double dx = x - other.x;
    double dy = y - other.y;
    double dz = z - other.z;
    return Math.sqrt(dx * dx + dy * dy + dz * dz);
  }

  /** Returns the distance to {@code other} in the horizontal (x, y) plane, metres. */
  public double horizontalDistanceTo(Vec3 other) {
    double dx = x - other.x;
    double dy = y - other.y;
    return Math.sqrt(dx * dx + dy * dy);
  }

  /** Returns the components as a new array {@code [x, y, z]}. */
  public double[] toArray() {
    return new double[] {x, y, z};
  }

  @Override
  public String toString() {
    return String.format(java.util.Locale.ROOT, "(%.4f, %.4f, %.4f)", x, y, z);
  }
}
