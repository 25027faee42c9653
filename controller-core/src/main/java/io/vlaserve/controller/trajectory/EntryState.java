package io.vlaserve.controller.trajectory;

/**
 * The motion a spliced trajectory must continue: the commanded linear and angular velocity and
 * acceleration at the instant it takes over, so the seam has no step in velocity (and, with
 * minimum-jerk segments, none in acceleration).
 *
 * <p>Angular values are the derivatives of the rotation vector in the world frame (rad/s, rad/s²).
 * A reusable buffer; not thread-safe.
 */
public final class EntryState {
  /** Linear velocity {@code [x, y, z]}, m/s. */
  public final double[] velocity = new double[3];
  /** Linear acceleration, m/s². */
  public final double[] acceleration = new double[3];
  /** Angular velocity, rad/s. */
  public final double[] angularVelocity = new double[3];
  /** Angular acceleration, rad/s². */
  public final double[] angularAcceleration = new double[3];
}
