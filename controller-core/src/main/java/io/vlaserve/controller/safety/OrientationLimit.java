package io.vlaserve.controller.safety;

import io.vlaserve.controller.Vector3;

/**
 * The orientation workspace: a cone of allowed tool directions. The tool axis (a direction fixed in
 * the end-effector frame, e.g. the gripper's approach axis) must stay within {@code maxTilt} of a
 * nominal direction in the robot base frame (e.g. straight down). Rotation about the tool axis
 * itself is free.
 *
 * <p>Construction validates (finite, non-zero directions, {@code maxTilt} in (0, pi], a mode) and
 * normalises both directions. Immutable and thread-safe.
 *
 * @param toolAxis direction in the end-effector frame; unit after construction
 * @param nominalDirection direction in the base frame; unit after construction
 * @param maxTilt largest angle between the two, radians
 * @param mode what to do with a target outside the cone
 */
public record OrientationLimit(Vector3 toolAxis, Vector3 nominalDirection, double maxTilt, LimitMode mode) {

  /** No restriction: any tool direction, clamping (for tests and robots without a tool cone). */
  public static final OrientationLimit ANY =
      new OrientationLimit(new Vector3(0, 0, 1), new Vector3(0, 0, 1), Math.PI, LimitMode.CLAMP);

  public OrientationLimit {
    toolAxis = unit("orientation_workspace.tool_axis", toolAxis, "the end-effector frame");
    nominalDirection = unit("orientation_workspace.nominal_direction", nominalDirection, "the base frame");
    if (!(maxTilt > 0 && maxTilt <= Math.PI)) {
      throw new InvalidSafetyLimitsException("orientation_workspace.max_tilt",
          maxTilt + " (expected: radians in (0, pi]; pi allows every direction)");
    }
    if (mode == null) {
      throw new InvalidSafetyLimitsException("orientation_workspace.mode", "unspecified (expected: CLAMP or HALT)");
    }
  }

  private static Vector3 unit(String field, Vector3 v, String frame) {
    if (v == null) {
      throw new InvalidSafetyLimitsException(field, "missing (expected: a direction in " + frame + ")");
    }
    double norm = Math.sqrt(v.x() * v.x() + v.y() * v.y() + v.z() * v.z());
    if (!Double.isFinite(norm) || !(norm > 1e-9)) {
      throw new InvalidSafetyLimitsException(field, v + " (expected: a finite, non-zero direction in " + frame + ")");
    }
    return new Vector3(v.x() / norm, v.y() / norm, v.z() / norm);
  }
}
