package io.vlaserve.controller;

import io.vlaserve.controller.safety.SafeSetpoint;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.Quaternions;
import java.util.Locale;

/**
 * Checks a stream of setpoints against safety limits the way a robot would see them: velocity,
 * acceleration and jerk as finite differences of consecutive positions over the tick.
 *
 * <p>Tolerances cover floating-point rounding only (1e-6 relative). A gap in the stream (a tick
 * with no setpoint, e.g. an e-stop) restarts the differences: the robot stood still meanwhile.
 */
public final class SetpointChecker {
  private static final double RELATIVE = 1e-6;

  private final double h;
  private SafetyLimits limits;
  private final double[][] positions = new double[4][3];
  private final double[] orientation = new double[4];
  /** Angular velocity (base frame, rad/s) of the last two ticks, and the last angular acceleration. */
  private final double[][] angularVelocity = new double[2][3];
  private final double[] angularAcceleration = new double[3];
  private double gripper;
  private double gripperVelocity;
  private int angularHistory;
  private int history;
  private long checked;
  private double maxJerk;

  public SetpointChecker(double tickSeconds, SafetyLimits limits) {
    this.h = tickSeconds;
    this.limits = limits;
  }

  /** Declares the robot at rest at {@code pose} (start, or after a gap). */
  public void restart(CartesianPose pose) {
    for (double[] p : positions) {
      System.arraycopy(pose.position, 0, p, 0, 3);
    }
    System.arraycopy(pose.orientation, 0, orientation, 0, 4);
    gripper = pose.gripper;
    history = 3;
    angularHistory = 2;
    angularVelocity[0] = new double[3];
    angularVelocity[1] = new double[3];
    java.util.Arrays.fill(angularAcceleration, 0);
    gripperVelocity = 0;
  }

  /** Marks a gap: the next setpoint starts a new history. */
  public void gap() {
    history = 0;
    angularHistory = 0;
  }

  public void setLimits(SafetyLimits newLimits) {
    limits = newLimits;
  }

  /** Returns a description of the first limit {@code s} breaks, or null. */
  public String check(SafeSetpoint s) {
    checked++;
    for (int i = 0; i < 3; i++) {
      if (!Double.isFinite(s.position(i))) {
        return "position[" + i + "] not finite";
      }
    }
    for (int i = 0; i < 4; i++) {
      if (!Double.isFinite(s.orientation(i))) {
        return "orientation[" + i + "] not finite";
      }
    }
    if (!Double.isFinite(s.gripper())) {
      return "gripper not finite";
    }
    // Shift the position history.
    double[] oldest = positions[3];
    positions[3] = positions[2];
    positions[2] = positions[1];
    positions[1] = positions[0];
    positions[0] = oldest;
    s.copyPosition(positions[0]);
    String problem = null;
    for (int i = 0; i < 3 && problem == null; i++) {
      double p = positions[0][i];
      if (p < limits.workspaceMin().get(i) - 1e-9 || p > limits.workspaceMax().get(i) + 1e-9) {
        problem = fmt("axis %d position %.9f outside [%.4f, %.4f]", i, p, limits.workspaceMin().get(i),
            limits.workspaceMax().get(i));
      }
      if (history >= 1 && problem == null) {
        double v0 = (positions[0][i] - positions[1][i]) / h;
        problem = exceeds("velocity", i, v0, limits.maxLinearVelocity().max(), 1e-9);
        if (history >= 2 && problem == null) {
          double v1 = (positions[1][i] - positions[2][i]) / h;
          double a0 = (v0 - v1) / h;
          problem = exceeds("acceleration", i, a0, limits.maxLinearAcceleration().max(), 1e-6);
          if (history >= 3 && problem == null) {
            double v2 = (positions[2][i] - positions[3][i]) / h;
            double a1 = (v1 - v2) / h;
            double j = (a0 - a1) / h;
            maxJerk = Math.max(maxJerk, Math.abs(j));
            problem = exceeds("jerk", i, j, limits.maxLinearJerk().max(), 1e-3);
          }
        }
      }
    }
    double[] q = new double[4];
    s.copyOrientation(q);
    if (problem == null && Math.abs(Quaternions.norm(q) - 1) > 1e-9) {
      problem = fmt("orientation norm %.12f", Quaternions.norm(q));
    }
    if (problem == null && history >= 1) {
      double rate = Quaternions.angleBetween(orientation, q) / h;
      problem = exceeds("rotation rate", -1, rate, limits.maxAngularVelocity().max(), 1e-9);
    }
    if (problem == null) {
      problem = checkRotation(q);
    }
    if (problem == null) {
      problem = checkTilt(q);
    }
    if (problem == null && (s.gripper() < 0 || s.gripper() > 1)) {
      problem = fmt("gripper %.9f outside 0..1", s.gripper());
    }
    if (problem == null && history >= 1) {
      double rate = (s.gripper() - gripper) / h;
      problem = exceeds("gripper rate", -1, rate, limits.maxGripperRate().max(), 1e-9);
      if (problem == null && history >= 2) {
        problem = exceeds("gripper acceleration", -1, (rate - gripperVelocity) / h,
            limits.maxGripperAcceleration().max(), 1e-6);
      }
      gripperVelocity = rate;
    } else {
      gripperVelocity = 0;
    }
    System.arraycopy(q, 0, orientation, 0, 4);
    gripper = s.gripper();
    history = Math.min(3, history + 1);
    return problem;
  }

  /**
   * Angular acceleration and jerk magnitudes, from the angular velocities the emitted orientations
   * imply (the rotation vector from one to the next over the tick).
   */
  private String checkRotation(double[] q) {
    double[] omega = new double[3];
    double[] relative = new double[4];
    Quaternions.multiplyConjugate(q, orientation, relative);
    Quaternions.toRotationVector(relative, omega);
    for (int i = 0; i < 3; i++) {
      omega[i] /= h;
    }
    String problem = null;
    double[] alpha = new double[3];
    if (angularHistory >= 1) {
      for (int i = 0; i < 3; i++) {
        alpha[i] = (omega[i] - angularVelocity[0][i]) / h;
      }
      problem = exceedsNorm("angular acceleration", alpha, limits.maxAngularAcceleration().max(), 1e-6);
      if (problem == null && angularHistory >= 2) {
        double[] jerk = new double[3];
        for (int i = 0; i < 3; i++) {
          jerk[i] = (alpha[i] - angularAcceleration[i]) / h;
        }
        problem = exceedsNorm("angular jerk", jerk, limits.maxAngularJerk().max(), 1e-3);
      }
    }
    angularVelocity[1] = angularVelocity[0];
    angularVelocity[0] = omega;
    System.arraycopy(alpha, 0, angularAcceleration, 0, 3);
    angularHistory = Math.min(2, angularHistory + 1);
    return problem;
  }

  private String checkTilt(double[] q) {
    var cone = limits.orientationWorkspace();
    if (cone.maxTilt() >= Math.PI) {
      return null;
    }
    double[] tool = new double[3];
    Quaternions.rotate(q, cone.toolAxis().x(), cone.toolAxis().y(), cone.toolAxis().z(), tool);
    var n = cone.nominalDirection();
    double dot = tool[0] * n.x() + tool[1] * n.y() + tool[2] * n.z();
    double tilt = Math.acos(Math.max(-1, Math.min(1, dot)));
    return tilt > cone.maxTilt() + 1e-7 ? fmt("tool tilt %.9f outside the cone %.9f", tilt, cone.maxTilt()) : null;
  }

  private static String exceedsNorm(String what, double[] vector, double limit, double absolute) {
    double norm = Math.sqrt(vector[0] * vector[0] + vector[1] * vector[1] + vector[2] * vector[2]);
    if (norm > limit * (1 + RELATIVE) + absolute) {
      return fmt("%s |%s| = %.9g exceeds %.9g", what, java.util.Arrays.toString(vector), norm, limit);
    }
    return null;
  }

  private static String exceeds(String what, int axis, double value, double limit, double absolute) {
    if (Math.abs(value) > limit * (1 + RELATIVE) + absolute) {
      return fmt("%s%s %.9g exceeds %.9g", what, axis >= 0 ? " axis " + axis : "", value, limit);
    }
    return null;
  }

  private static String fmt(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }

  public long checked() {
    return checked;
  }

  /** Largest |jerk| seen on any axis, m/s^3. */
  public double maxJerk() {
    return maxJerk;
  }
}
