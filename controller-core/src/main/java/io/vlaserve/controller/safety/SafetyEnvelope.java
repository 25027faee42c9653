package io.vlaserve.controller.safety;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The widest limits a robot may ever run under: its hard envelope, set from configuration when the
 * bridge starts and never changeable over the API. Limits set at run time may only tighten within
 * it: a smaller box, lower rates, a shorter watchdog. Without it, one {@code SetSafetyLimits} call
 * with a 1e6 m/s velocity limit and a ±1e6 m box would switch the gate off.
 *
 * <p>Immutable and thread-safe.
 */
public final class SafetyEnvelope {
  private static final String[] AXES = {"x", "y", "z"};

  private final SafetyLimits widest;

  /** Creates the envelope whose widest allowed limits are {@code widest}. */
  public SafetyEnvelope(SafetyLimits widest) {
    this.widest = widest;
  }

  /** Returns the widest limits allowed. */
  public SafetyLimits widest() {
    return widest;
  }

  /**
   * Checks that {@code limits} lie within the envelope.
   *
   * @throws InvalidSafetyLimitsException naming the first field that is wider, with the envelope's value
   */
  public void check(SafetyLimits limits) {
    for (int axis = 0; axis < 3; axis++) {
      double low = limits.workspaceMin().get(axis);
      double high = limits.workspaceMax().get(axis);
      double lowest = widest.workspaceMin().get(axis);
      double highest = widest.workspaceMax().get(axis);
      if (low < lowest) {
        throw wider("workspace_min." + AXES[axis], low, ">= " + lowest, "m");
      }
      if (high > highest) {
        throw wider("workspace_max." + AXES[axis], high, "<= " + highest, "m");
      }
    }
    atMost("max_linear_velocity", limits.maxLinearVelocity(), widest.maxLinearVelocity(), "m/s");
    atMost("max_linear_acceleration", limits.maxLinearAcceleration(), widest.maxLinearAcceleration(), "m/s^2");
    atMost("max_linear_jerk", limits.maxLinearJerk(), widest.maxLinearJerk(), "m/s^3");
    atMost("max_angular_velocity", limits.maxAngularVelocity(), widest.maxAngularVelocity(), "rad/s");
    atMost("max_angular_acceleration", limits.maxAngularAcceleration(), widest.maxAngularAcceleration(), "rad/s^2");
    atMost("max_angular_jerk", limits.maxAngularJerk(), widest.maxAngularJerk(), "rad/s^3");
    atMost("max_gripper_rate", limits.maxGripperRate(), widest.maxGripperRate(), "per second");
    atMost("max_gripper_acceleration", limits.maxGripperAcceleration(), widest.maxGripperAcceleration(),
        "per second^2");
    OrientationLimit cone = limits.orientationWorkspace();
    OrientationLimit widestCone = widest.orientationWorkspace();
    // The requested cone must lie inside the envelope's: same tool axis, and its whole cone within.
    double axisAngle = angle(cone.toolAxis(), widestCone.toolAxis());
    if (axisAngle > 1e-9) {
      throw new InvalidSafetyLimitsException("orientation_workspace.tool_axis", String.format(Locale.ROOT,
          "%s (expected: the envelope's tool axis %s; the tool is a property of the robot)", cone.toolAxis(),
          widestCone.toolAxis()));
    }
    double offset = angle(cone.nominalDirection(), widestCone.nominalDirection());
    if (offset + cone.maxTilt() > widestCone.maxTilt() + 1e-9) {
      throw new InvalidSafetyLimitsException("orientation_workspace.max_tilt", String.format(Locale.ROOT,
          "%.4f rad around a direction %.4f rad from the envelope's (expected: a cone inside the envelope's,"
              + " max_tilt <= %.4f rad around its nominal direction %s)", cone.maxTilt(), offset,
          widestCone.maxTilt() - offset, widestCone.nominalDirection()));
    }
    if (limits.watchdogTimeout().compareTo(widest.watchdogTimeout()) > 0) {
      throw new InvalidSafetyLimitsException("watchdog_timeout", String.format(Locale.ROOT,
          "%.3f s (expected: <= %.3f s, the robot's envelope)", limits.watchdogTimeout().toNanos() * 1e-9,
          widest.watchdogTimeout().toNanos() * 1e-9));
    }
  }

  private static void atMost(String field, AxisLimit limit, AxisLimit envelope, String unit) {
    if (limit.max() > envelope.max()) {
      throw wider(field + ".max", limit.max(), "<= " + envelope.max(), unit);
    }
  }

  private static InvalidSafetyLimitsException wider(String field, double value, String expected, String unit) {
    return new InvalidSafetyLimitsException(field, value + " " + unit + " (expected: " + expected + " " + unit
        + ", the robot's envelope; limits set over the API may only tighten within it)");
  }

  private static double angle(io.vlaserve.controller.Vector3 a, io.vlaserve.controller.Vector3 b) {
    double dot = a.x() * b.x() + a.y() * b.y() + a.z() * b.z();
    double cx = a.y() * b.z() - a.z() * b.y();
    double cy = a.z() * b.x() - a.x() * b.z();
    double cz = a.x() * b.y() - a.y() * b.x();
    return Math.atan2(Math.sqrt(cx * cx + cy * cy + cz * cz), dot);
  }

  /**
   * Describes what changed from {@code before} to {@code after}, field by field ("max_linear_velocity
   * 1.0 -> 0.5 (clamp)"), for the audit trail; "no change" if nothing did.
   */
  public static String changes(SafetyLimits before, SafetyLimits after) {
    List<String> changes = new ArrayList<>();
    for (int axis = 0; axis < 3; axis++) {
      change(changes, "workspace_min." + AXES[axis], before.workspaceMin().get(axis), after.workspaceMin().get(axis));
      change(changes, "workspace_max." + AXES[axis], before.workspaceMax().get(axis), after.workspaceMax().get(axis));
    }
    if (before.workspaceMode() != after.workspaceMode()) {
      changes.add("workspace_mode " + before.workspaceMode() + " -> " + after.workspaceMode());
    }
    change(changes, "max_linear_velocity", before.maxLinearVelocity(), after.maxLinearVelocity());
    change(changes, "max_linear_acceleration", before.maxLinearAcceleration(), after.maxLinearAcceleration());
    change(changes, "max_linear_jerk", before.maxLinearJerk(), after.maxLinearJerk());
    change(changes, "max_angular_velocity", before.maxAngularVelocity(), after.maxAngularVelocity());
    change(changes, "max_angular_acceleration", before.maxAngularAcceleration(), after.maxAngularAcceleration());
    change(changes, "max_angular_jerk", before.maxAngularJerk(), after.maxAngularJerk());
    change(changes, "max_gripper_rate", before.maxGripperRate(), after.maxGripperRate());
    change(changes, "max_gripper_acceleration", before.maxGripperAcceleration(), after.maxGripperAcceleration());
    if (!before.orientationWorkspace().equals(after.orientationWorkspace())) {
      changes.add("orientation_workspace " + before.orientationWorkspace() + " -> " + after.orientationWorkspace());
    }
    if (!before.watchdogTimeout().equals(after.watchdogTimeout())) {
      changes.add("watchdog_timeout " + before.watchdogTimeout().toMillis() + " ms -> "
          + after.watchdogTimeout().toMillis() + " ms");
    }
    return changes.isEmpty() ? "no change" : String.join(", ", changes);
  }

  private static void change(List<String> changes, String field, double before, double after) {
    if (Double.compare(before, after) != 0) {
      changes.add(field + " " + before + " -> " + after);
    }
  }

  private static void change(List<String> changes, String field, AxisLimit before, AxisLimit after) {
    if (!before.equals(after)) {
      changes.add(field + " " + before.max() + " (" + before.mode().name().toLowerCase(Locale.ROOT) + ") -> "
          + after.max() + " (" + after.mode().name().toLowerCase(Locale.ROOT) + ")");
    }
  }
}
