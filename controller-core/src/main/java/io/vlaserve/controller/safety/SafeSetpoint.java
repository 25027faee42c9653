package io.vlaserve.controller.safety;

/**
 * One setpoint that has passed the {@link SafetyGate}: the only thing a robot driver accepts.
 *
 * <p>Only the gate can create or change one (the constructor and setters are package-private), so
 * a value of this type is proof that every limit was applied. Drivers read it during
 * {@code RobotDriver.send} and copy what they need; the gate reuses the instance on the next tick.
 * Confined to the control-loop thread; not thread-safe.
 */
public final class SafeSetpoint {
  final double[] position = new double[3];
  final double[] orientation = {0, 0, 0, 1};
  double gripper;
  long timeNanos;
  long sequence;

  SafeSetpoint() {}

  /** Returns position component {@code axis} (0 = x, 1 = y, 2 = z), metres. */
  public double position(int axis) {
    return position[axis];
  }

  /** Returns quaternion component {@code index} of {@code [x, y, z, w]} (unit length). */
  public double orientation(int index) {
    return orientation[index];
  }

  /** Returns the gripper opening, 0 = closed .. 1 = open. */
  public double gripper() {
    return gripper;
  }

  /** Returns the loop-clock time at which this target applies. */
  public long timeNanos() {
    return timeNanos;
  }

  /** Returns the setpoint's number, increasing by one per setpoint sent. */
  public long sequence() {
    return sequence;
  }

  /** Copies the position into {@code out[0..2]}. */
  public void copyPosition(double[] out) {
    System.arraycopy(position, 0, out, 0, 3);
  }

  /** Copies the orientation into {@code out[0..3]}. */
  public void copyOrientation(double[] out) {
    System.arraycopy(orientation, 0, out, 0, 4);
  }
}
