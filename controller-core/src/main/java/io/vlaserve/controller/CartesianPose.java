package io.vlaserve.controller;

import java.util.Arrays;

/**
 * A mutable end-effector target: position (metres), orientation as a unit quaternion
 * {@code [x, y, z, w]} and gripper opening (0 = closed .. 1 = open).
 *
 * <p>A reusable buffer for the per-tick path, where records would allocate. Not thread-safe.
 */
public final class CartesianPose {
  /** {@code [x, y, z]}, metres. */
  public final double[] position = new double[3];
  /** {@code [x, y, z, w]}, Hamilton convention. */
  public final double[] orientation = {0, 0, 0, 1};
  /** Opening, 0 = closed .. 1 = open. */
  public double gripper;

  /** Copies every value of {@code other} into this pose and returns this. */
  public CartesianPose set(CartesianPose other) {
    System.arraycopy(other.position, 0, position, 0, 3);
    System.arraycopy(other.orientation, 0, orientation, 0, 4);
    gripper = other.gripper;
    return this;
  }

  /** Sets every value and returns this; the quaternion is stored as given. */
  public CartesianPose set(double x, double y, double z, double qx, double qy, double qz, double qw,
      double gripperOpening) {
    position[0] = x;
    position[1] = y;
    position[2] = z;
    orientation[0] = qx;
    orientation[1] = qy;
    orientation[2] = qz;
    orientation[3] = qw;
    gripper = gripperOpening;
    return this;
  }

  @Override
  public String toString() {
    return "CartesianPose{position=" + Arrays.toString(position) + ", orientation="
        + Arrays.toString(orientation) + ", gripper=" + gripper + "}";
  }
}
