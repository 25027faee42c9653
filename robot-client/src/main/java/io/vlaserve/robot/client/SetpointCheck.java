package io.vlaserve.robot.client;

import io.vlaserve.proto.ProtoTimes;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.controller.v1.Setpoint;
import java.util.Locale;

/**
 * The agent's own check of every setpoint before the robot's hardware sees it, against the safety
 * limits the bridge last announced. The bridge's safety gate already made every setpoint safe; this
 * is the robot's second opinion, so that a bug or a corrupted message between the gate and the
 * motors cannot move the robot.
 *
 * <p>A setpoint is refused when: no usable limits were announced; any number is not finite; the
 * time is missing or not after the previous setpoint's; the orientation is not a unit quaternion
 * (within {@value #UNIT_TOLERANCE}: the bridge always sends unit quaternions, so this is no
 * rounding allowance but a corruption check); the gripper opening is outside 0..1; the position is
 * outside the workspace box (by more than {@value #POSITION_TOLERANCE_M} m); the tool axis tilts
 * outside the announced orientation workspace (by more than {@value #TILT_TOLERANCE_RAD} rad); or,
 * measured from the previous accepted setpoint, any axis moves faster than the linear velocity
 * limit, the end effector turns faster than the angular velocity limit or the gripper moves faster
 * than its rate limit (within a relative {@value #RATE_TOLERANCE} and {@value #TIME_ROUNDING_NANOS}
 * ns of timestamp rounding).
 *
 * <p>The rate checks need a previous setpoint the robot really followed: they are skipped for the
 * first setpoint, after {@link #reset} (the robot held: it is wherever it stopped, and the bridge
 * re-synchronises to its measured pose) and across a gap in the sequence numbers larger than one.
 *
 * <p>When the limits are lowered, the bridge's gate decelerates to them within its acceleration
 * limits, so for a few ticks its setpoints are still faster than the new limit: until a setpoint
 * within the new rate limit arrives, the old (higher) one applies. Workspace changes take effect at
 * once.
 *
 * <p>Not thread-safe: the agent calls it under its lock.
 */
final class SetpointCheck {
  static final double UNIT_TOLERANCE = 1e-6;
  static final double POSITION_TOLERANCE_M = 1e-9;
  static final double RATE_TOLERANCE = 1e-6;
  static final long TIME_ROUNDING_NANOS = 1_000;
  static final double ANGLE_TOLERANCE_RAD = 1e-9;
  static final double TILT_TOLERANCE_RAD = 1e-7;
  static final double GRIPPER_TOLERANCE = 1e-9;

  private static final String[] AXES = {"x", "y", "z"};

  /** Why a setpoint was refused: the field at fault ("target.position.x", "gripper", ...), its value, and a sentence. */
  record Refusal(long sequence, String field, double value, String reason) {
    /** "target.position.x = 0.9: outside ..." */
    String describe() {
      return field + " = " + value + ": " + reason;
    }
  }

  /**
   * Limits as checked: the box, the rate limits (m/s per axis, rad/s, gripper per second), and the
   * tool cone (tool axis in the end-effector frame, nominal direction in the base frame, unit
   * vectors; max tilt in radians, pi when there is none).
   */
  private record Limits(double[] min, double[] max, double linear, double angular, double gripper,
      double[] toolAxis, double[] nominal, double maxTilt) {}

  private Limits limits;
  // Set instead of limits when the bridge announced limits this check cannot use.
  private Refusal unusableLimits;
  // While the bridge decelerates to lowered limits: the higher rate limits still allowed (0: none).
  private double linearGrace;
  private double angularGrace;
  private double gripperGrace;

  private boolean hasPrevious;
  private long previousSequence;
  private long previousTimeNanos;
  private final double[] previousPosition = new double[3];
  private final double[] previousOrientation = new double[4];
  private double previousGripper;

  /**
   * Takes the limits the bridge announced; later setpoints are checked against them.
   *
   * @return null, or why these limits are unusable (then every setpoint is refused until usable ones arrive)
   */
  String announce(SafetyLimits announced) {
    Refusal problem = validate(announced);
    if (problem != null) {
      limits = null;
      unusableLimits = problem;
      return problem.describe();
    }
    double[] tool = {0, 0, 1};
    double[] nominal = {0, 0, 1};
    double maxTilt = Math.PI;
    if (announced.hasOrientationWorkspace()) {
      var cone = announced.getOrientationWorkspace();
      tool = unit(vector(cone.getToolAxis()));
      nominal = unit(vector(cone.getNominalDirection()));
      maxTilt = cone.getMaxTilt();
    }
    double gripperRate = announced.hasMaxGripperRate() ? announced.getMaxGripperRate().getMax() : Double.POSITIVE_INFINITY;
    Limits next = new Limits(
        vector(announced.getWorkspaceMin()), vector(announced.getWorkspaceMax()),
        announced.getMaxLinearVelocity().getMax(), announced.getMaxAngularVelocity().getMax(), gripperRate, tool,
        nominal, maxTilt);
    if (limits != null) {
      linearGrace = limits.linear() > next.linear() ? Math.max(linearGrace, limits.linear()) : linearGrace;
      angularGrace = limits.angular() > next.angular() ? Math.max(angularGrace, limits.angular()) : angularGrace;
      gripperGrace = limits.gripper() > next.gripper() ? Math.max(gripperGrace, limits.gripper()) : gripperGrace;
    }
    limits = next;
    unusableLimits = null;
    return null;
  }

  /** Forgets the limits (a new link: its bridge announces its own). */
  void forgetLimits() {
    limits = null;
    unusableLimits = null;
    linearGrace = 0;
    angularGrace = 0;
    gripperGrace = 0;
    reset();
  }

  /** Forgets the previous setpoint: the robot held, so the next setpoint's rates cannot be measured from it. */
  void reset() {
    hasPrevious = false;
  }

  /**
   * Checks {@code setpoint}; an accepted one becomes the reference for the next one's rates.
   *
   * @return null if the robot may follow it, else why not
   */
  Refusal check(Setpoint setpoint) {
    Refusal refusal = refusal(setpoint);
    if (refusal != null) {
      return refusal;
    }
    Vector3 p = setpoint.getTarget().getPosition();
    Quaternion q = setpoint.getTarget().getOrientation();
    hasPrevious = true;
    previousSequence = setpoint.getSequence();
    previousTimeNanos = nanos(setpoint);
    previousPosition[0] = p.getX();
    previousPosition[1] = p.getY();
    previousPosition[2] = p.getZ();
    previousOrientation[0] = q.getX();
    previousOrientation[1] = q.getY();
    previousOrientation[2] = q.getZ();
    previousOrientation[3] = q.getW();
    previousGripper = setpoint.getGripper();
    return null;
  }

  private Refusal refusal(Setpoint setpoint) {
    long sequence = setpoint.getSequence();
    if (limits == null) {
      if (unusableLimits != null) {
        return new Refusal(sequence, unusableLimits.field(), unusableLimits.value(), unusableLimits.reason());
      }
      return new Refusal(sequence, "limits", 0, "no safety limits announced on this link yet (expected: the bridge"
          + " sends its limits before any setpoint); the robot holds");
    }
    Vector3 p = setpoint.getTarget().getPosition();
    Quaternion q = setpoint.getTarget().getOrientation();
    double[] position = {p.getX(), p.getY(), p.getZ()};
    double[] orientation = {q.getX(), q.getY(), q.getZ(), q.getW()};
    for (int axis = 0; axis < 3; axis++) {
      if (!Double.isFinite(position[axis])) {
        return new Refusal(sequence, "target.position." + AXES[axis], position[axis], "not a finite number");
      }
    }
    String[] components = {"x", "y", "z", "w"};
    for (int i = 0; i < 4; i++) {
      if (!Double.isFinite(orientation[i])) {
        return new Refusal(sequence, "target.orientation." + components[i], orientation[i], "not a finite number");
      }
    }
    double gripper = setpoint.getGripper();
    if (!Double.isFinite(gripper)) {
      return new Refusal(sequence, "gripper", gripper, "not a finite number");
    }
    if (!setpoint.hasTime()) {
      return new Refusal(sequence, "time", 0, "missing (expected: the bridge clock time the target applies at)");
    }
    double norm = Math.sqrt(orientation[0] * orientation[0] + orientation[1] * orientation[1]
        + orientation[2] * orientation[2] + orientation[3] * orientation[3]);
    if (!(Math.abs(norm - 1) <= UNIT_TOLERANCE)) {
      return new Refusal(sequence, "target.orientation", norm, String.format(Locale.ROOT,
          "a quaternion of norm %.9f (expected: a unit quaternion, norm 1 within %.0e)", norm, UNIT_TOLERANCE));
    }
    if (gripper < 0 || gripper > 1) {
      return new Refusal(sequence, "gripper", gripper, "outside 0..1 (expected: 0 = closed .. 1 = open)");
    }
    for (int axis = 0; axis < 3; axis++) {
      double low = limits.min()[axis];
      double high = limits.max()[axis];
      if (position[axis] < low - POSITION_TOLERANCE_M || position[axis] > high + POSITION_TOLERANCE_M) {
        return new Refusal(sequence, "target.position." + AXES[axis], position[axis], String.format(Locale.ROOT,
            "outside the workspace (expected: %.4f .. %.4f m, the announced workspace box)", low, high));
      }
    }
    if (limits.maxTilt() < Math.PI) {
      double tilt = tilt(orientation, limits.toolAxis(), limits.nominal());
      if (tilt > limits.maxTilt() + TILT_TOLERANCE_RAD) {
        return new Refusal(sequence, "target.orientation", tilt, String.format(Locale.ROOT, "tilts the tool %.6f rad"
            + " from its nominal direction (expected: at most %.6f rad, the announced orientation_workspace)", tilt,
            limits.maxTilt()));
      }
    }
    if (!hasPrevious || sequence != previousSequence + 1) {
      return null;
    }
    long dt = nanos(setpoint) - previousTimeNanos;
    if (dt <= 0) {
      return new Refusal(sequence, "time", dt * 1e-9, String.format(Locale.ROOT, "%.6f s after setpoint %d's"
          + " (expected: a later time than the previous setpoint's)", dt * 1e-9, previousSequence));
    }
    double seconds = (dt + TIME_ROUNDING_NANOS) * 1e-9 * (1 + RATE_TOLERANCE);
    double linear = Math.max(limits.linear(), linearGrace);
    boolean withinNewLinear = true;
    for (int axis = 0; axis < 3; axis++) {
      double moved = Math.abs(position[axis] - previousPosition[axis]);
      if (moved > linear * seconds + POSITION_TOLERANCE_M) {
        return new Refusal(sequence, "target.position." + AXES[axis], position[axis], String.format(Locale.ROOT,
            "moves %s at %.4f m/s from setpoint %d (expected: at most %.4f m/s, the announced max_linear_velocity)",
            AXES[axis], moved / (dt * 1e-9), previousSequence, linear));
      }
      withinNewLinear &= moved <= limits.linear() * seconds + POSITION_TOLERANCE_M;
    }
    double angle = angleBetween(previousOrientation, orientation);
    double angular = Math.max(limits.angular(), angularGrace);
    if (angle > angular * seconds + ANGLE_TOLERANCE_RAD) {
      return new Refusal(sequence, "target.orientation", angle, String.format(Locale.ROOT,
          "turns %.6f rad since setpoint %d, %.4f rad/s (expected: at most %.4f rad/s, the announced"
              + " max_angular_velocity)", angle, previousSequence, angle / (dt * 1e-9), angular));
    }
    double gripperRate = Math.max(limits.gripper(), gripperGrace);
    double gripperMoved = Math.abs(gripper - previousGripper);
    if (gripperMoved > gripperRate * seconds + GRIPPER_TOLERANCE) {
      return new Refusal(sequence, "gripper", gripper, String.format(Locale.ROOT, "moves %.4f /s from setpoint %d"
          + " (expected: at most %.4f /s, the announced max_gripper_rate)", gripperMoved / (dt * 1e-9),
          previousSequence, gripperRate));
    }
    if (gripperMoved <= limits.gripper() * seconds + GRIPPER_TOLERANCE) {
      gripperGrace = 0;
    }
    if (withinNewLinear) {
      linearGrace = 0;
    }
    if (angle <= limits.angular() * seconds + ANGLE_TOLERANCE_RAD) {
      angularGrace = 0;
    }
    return null;
  }

  /** The rotation angle from {@code a} to {@code b} (both unit quaternions), radians in [0, pi]. */
  static double angleBetween(double[] a, double[] b) {
    // The relative rotation conj(a) * b; atan2 of its vector part's length and |w| stays accurate for
    // the tiny per-tick angles, where acos of a dot product near 1 would not. |w|: q and -q are the same rotation.
    double w = a[3] * b[3] + a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    double x = a[3] * b[0] - a[0] * b[3] - a[1] * b[2] + a[2] * b[1];
    double y = a[3] * b[1] + a[0] * b[2] - a[1] * b[3] - a[2] * b[0];
    double z = a[3] * b[2] - a[0] * b[1] + a[1] * b[0] - a[2] * b[3];
    return 2 * Math.atan2(Math.sqrt(x * x + y * y + z * z), Math.abs(w));
  }

  /** The angle between the tool axis of unit quaternion {@code q} and {@code nominal}, radians. */
  static double tilt(double[] q, double[] tool, double[] nominal) {
    // v' = v + 2 w (u x v) + 2 u x (u x v), u the vector part of q.
    double cx = q[1] * tool[2] - q[2] * tool[1];
    double cy = q[2] * tool[0] - q[0] * tool[2];
    double cz = q[0] * tool[1] - q[1] * tool[0];
    double dx = tool[0] + 2 * (q[3] * cx + q[1] * cz - q[2] * cy);
    double dy = tool[1] + 2 * (q[3] * cy + q[2] * cx - q[0] * cz);
    double dz = tool[2] + 2 * (q[3] * cz + q[0] * cy - q[1] * cx);
    double dot = dx * nominal[0] + dy * nominal[1] + dz * nominal[2];
    double ex = dy * nominal[2] - dz * nominal[1];
    double ey = dz * nominal[0] - dx * nominal[2];
    double ez = dx * nominal[1] - dy * nominal[0];
    return Math.atan2(Math.sqrt(ex * ex + ey * ey + ez * ez), dot);
  }

  private static double[] unit(double[] v) {
    double norm = Math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    return new double[] {v[0] / norm, v[1] / norm, v[2] / norm};
  }

  private static Refusal validate(SafetyLimits announced) {
    if (!announced.hasWorkspaceMin() || !announced.hasWorkspaceMax()) {
      return new Refusal(0, announced.hasWorkspaceMin() ? "limits.workspace_max" : "limits.workspace_min", 0,
          unusable("missing; expected: the workspace box's corners, metres"));
    }
    double[] min = vector(announced.getWorkspaceMin());
    double[] max = vector(announced.getWorkspaceMax());
    for (int axis = 0; axis < 3; axis++) {
      if (!Double.isFinite(min[axis]) || !Double.isFinite(max[axis]) || !(min[axis] < max[axis])) {
        return new Refusal(0, "limits.workspace_min." + AXES[axis], min[axis], unusable(String.format(Locale.ROOT,
            "workspace_max.%s = %s; expected: finite numbers, min < max", AXES[axis], max[axis])));
      }
    }
    double linear = announced.getMaxLinearVelocity().getMax();
    if (!(linear > 0) || !Double.isFinite(linear)) {
      return new Refusal(0, "limits.max_linear_velocity.max", linear, unusable("expected: a finite number > 0, m/s"));
    }
    double angular = announced.getMaxAngularVelocity().getMax();
    if (!(angular > 0) || !Double.isFinite(angular)) {
      return new Refusal(0, "limits.max_angular_velocity.max", angular,
          unusable("expected: a finite number > 0, rad/s"));
    }
    if (announced.hasMaxGripperRate()) {
      double gripper = announced.getMaxGripperRate().getMax();
      if (!(gripper > 0) || !Double.isFinite(gripper)) {
        return new Refusal(0, "limits.max_gripper_rate.max", gripper,
            unusable("expected: a finite number > 0, per second"));
      }
    }
    if (announced.hasOrientationWorkspace()) {
      var cone = announced.getOrientationWorkspace();
      double[] tool = vector(cone.getToolAxis());
      double[] nominal = vector(cone.getNominalDirection());
      double toolNorm = Math.sqrt(tool[0] * tool[0] + tool[1] * tool[1] + tool[2] * tool[2]);
      double nominalNorm = Math.sqrt(nominal[0] * nominal[0] + nominal[1] * nominal[1] + nominal[2] * nominal[2]);
      if (!(toolNorm > 1e-9) || !Double.isFinite(toolNorm) || !(nominalNorm > 1e-9) || !Double.isFinite(nominalNorm)
          || !(cone.getMaxTilt() > 0 && cone.getMaxTilt() <= Math.PI)) {
        return new Refusal(0, "limits.orientation_workspace", cone.getMaxTilt(),
            unusable("expected: finite, non-zero tool axis and nominal direction, max_tilt in (0, pi]"));
      }
    }
    return null;
  }

  private static String unusable(String what) {
    return "the bridge announced unusable safety limits (" + what + "); every setpoint is refused until usable"
        + " limits arrive";
  }

  private static double[] vector(Vector3 v) {
    return new double[] {v.getX(), v.getY(), v.getZ()};
  }

  private static long nanos(Setpoint setpoint) {
    return ProtoTimes.epochNanos(setpoint.getTime());
  }
}
