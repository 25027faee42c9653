package io.vlaserve.controller.safety;

/** The degree of freedom a safety event concerns. */
public enum Axis {
  X("x"),
  Y("y"),
  Z("z"),
  ROTATION("rotation"),
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

  static Axis linear(int index) {
    return switch (index) {
      case 0 -> X;
      case 1 -> Y;
      default -> Z;
    };
  }
}
