package io.vlaserve.controller.safety;

/** The degree of freedom a safety event concerns. */
public enum Axis {
  X("x"),
  Y("y"),
  Z("z"),
  ROTATION("rotation"),
  /** Rotation about the base frame's x axis (angular velocity component). */
  ROLL("roll"),
  /** Rotation about the base frame's y axis. */
  PITCH("pitch"),
  /** Rotation about the base frame's z axis. */
  YAW("yaw"),
  /** The tool axis, for the orientation workspace. */
  TOOL("tool"),
  GRIPPER("gripper"),
  /** Not axis-specific. */
  NONE("");

  private final String label;

  Axis(String label) {
    this.label = label;
  }

  /** Returns the name the wire contract uses ({@code "x"}, {@code "gripper"}, empty for NONE). */
  public String label() {
    return label;
  }

  static Axis angular(int index) {
    return switch (index) {
      case 0 -> ROLL;
      case 1 -> PITCH;
      default -> YAW;
    };
  }

  static Axis linear(int index) {
    return switch (index) {
      case 0 -> X;
      case 1 -> Y;
      default -> Z;
    };
  }
}
