package io.vlaserve.controller;

/**
 * A point or displacement in the robot base frame, metres (or a per-axis triple of limits).
 *
 * <p>Immutable and thread-safe.
 */
public record Vector3(double x, double y, double z) {

  /** Returns component {@code axis}: 0 = x, 1 = y, 2 = z. */
  public double get(int axis) {
    return switch (axis) {
      case 0 -> x;
      case 1 -> y;
      case 2 -> z;
      default -> throw new IndexOutOfBoundsException("axis " + axis + " (expected: 0, 1 or 2)");
    };
  }
}
