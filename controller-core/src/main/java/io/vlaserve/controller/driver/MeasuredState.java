package io.vlaserve.controller.driver;

import java.util.Arrays;

/**
 * What a robot last reported about itself: end-effector pose and gripper opening, and when.
 *
 * <p>A reusable buffer the loop reads into every tick. Not thread-safe.
 */
public final class MeasuredState {
  /** End-effector position {@code [x, y, z]}, metres, base frame. */
  public final double[] position = new double[3];
  /** End-effector orientation {@code [x, y, z, w]}. */
  public final double[] orientation = {0, 0, 0, 1};
  /** Gripper opening, 0 = closed .. 1 = open. */
  public double gripper;
  /** When the robot measured it, loop-clock nanoseconds (converted by the driver). */
  public long timeNanos;

  /** Copies {@code other} into this. */
  public void set(MeasuredState other) {
    System.arraycopy(other.position, 0, position, 0, 3);
    System.arraycopy(other.orientation, 0, orientation, 0, 4);
    gripper = other.gripper;
    timeNanos = other.timeNanos;
  }

  @Override
  public String toString() {
    return "MeasuredState{position=" + Arrays.toString(position) + ", orientation="
        + Arrays.toString(orientation) + ", gripper=" + gripper + ", time=" + timeNanos + "}";
  }
}
