package io.vlaserve.controller.trajectory;

/**
 * How the bridge moves between the waypoints of a chunk; mirrors {@code vla.controller.v1.Interpolation}.
 *
 * <p>Orientation is never interpolated as Euler angles: {@link #LINEAR} slerps between waypoint
 * quaternions, and the smooth kinds interpolate rotation vectors relative to the chunk's first
 * waypoint (a smooth curve on SO(3) through every waypoint).
 */
public enum Interpolation {
  /** Piecewise linear positions, slerp orientations; velocity jumps at waypoints. */
  LINEAR,
  /** Cubic Hermite through the waypoints with Catmull-Rom tangents; continuous velocity. */
  CUBIC,
  /**
   * Quintic minimum-jerk segments with the same tangents and zero acceleration at every waypoint;
   * continuous velocity and acceleration.
   */
  MINIMUM_JERK
}
