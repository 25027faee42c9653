package io.vlaserve.controller.safety;

import io.vlaserve.controller.CartesianPose;
import io.vlaserve.controller.trajectory.EntryState;
import io.vlaserve.controller.trajectory.Quaternions;

/**
 * Turns each tick's reference pose into a {@link SafeSetpoint} that respects every safety limit,
 * clamping or halting per limit, and records every intervention.
 *
 * <p><b>Order of checks</b>, each on what the previous one let through:
 *
 * <ol>
 *   <li><b>Non-finite</b>: a NaN or Inf anywhere in the reference (or a zero quaternion) halts;
 *       the value is never used.
 *   <li><b>Workspace</b>: each position coordinate is clamped into the box (gripper into 0..1).
 *   <li><b>Velocity, acceleration, jerk</b> per linear axis, on the step that would reach the
 *       clamped target exactly; if one is broken the axis follows the target within all three,
 *       and never enters a state from which it could not stop inside the box under its limits
 *       (see {@link AxisFilter}); braking early for that is reported as workspace or velocity.
 *   <li><b>Orientation workspace</b>: a target whose tool axis tilts further from the nominal
 *       direction than the cone allows is turned back onto the cone's edge (the smallest rotation).
 *   <li><b>Rotation</b>: the rotation from the last setpoint to the target, as a rotation vector in
 *       the base frame, is filtered per component by three more {@link AxisFilter}s without a box:
 *       angular velocity, acceleration and jerk each within 1/sqrt(3) of its magnitude limit, so the
 *       magnitudes hold in every direction, and a stop always remains possible within them. A
 *       rotation faster than the angular velocity limit is also reported as such.
 *       The cone couples the three: a choice is accepted only if the tool's tilt after it, plus the
 *       angle the three axes could still turn while braking ({@link AxisFilter#brakingTravelBoundAfter}),
 *       stays within the cone, since rotating by an angle moves the tool axis by at most that angle.
 *       Otherwise the jerks are bisected towards braking. A state reached that way is <i>verified</i>;
 *       braking from a verified state is the tail of a stop that was checked (the braking policy
 *       depends only on each axis's velocity and acceleration), so it is safe even when the
 *       conservative bound no longer confirms it, and it is then reported as braking, not a halt.
 *   <li><b>Gripper</b>: one more {@link AxisFilter} with the box 0..1, the rate and acceleration limits.
 * </ol>
 *
 * If any intervention's limit is in {@link LimitMode#HALT} mode, nothing of the request is used:
 * the gate latches into braking (every axis, linear, angular and gripper, decelerates within its
 * limits) until {@link #reset} or {@link #releaseBrake}. The controller uses the same braking for
 * Halt and the watchdog, so every stop also respects the limits. Axes are filtered independently,
 * so a clamp on one axis can bend the path; clamping is the fallback, halting the strict choice.
 *
 * <p>Clamps are reported once per episode (when a limit on an axis starts binding); halts every
 * time. New limits given to {@link #setLimits} apply from the next tick; if the robot's motion
 * breaks them, the gate halts and brakes under the new ones.
 *
 * <p>Allocation-free per tick. Confined to the control-loop thread; not thread-safe.
 */
public final class SafetyGate {
  private static final int MAX_INTERVENTIONS = 24;
  private static final int AXIS_COUNT = Axis.values().length;
  private static final int EPISODE_BITS = SafetyEventKind.values().length * AXIS_COUNT;
  /** Per-axis share of an angular magnitude limit: a vector whose components are within it is within the limit. */
  private static final double PER_AXIS = 1 / Math.sqrt(3);
  /** Tilt kept in reserve below the cone's edge, radians: covers rounding in the tilt and the sums. */
  private static final double TILT_MARGIN = 1e-9;
  private static final int CONE_BISECTION_STEPS = 20;
  /**
   * How far inside the cone's edge a target outside it is turned back to, radians (at most a quarter
   * of the cone). The guarantee holds at the edge itself; the band leaves room to move: the cone
   * check counts every angle the axes could still turn while braking, in whatever direction, so a
   * tool resting exactly on the edge could only creep away from it.
   */
  private static final double CONE_BAND = 0.05;
  /**
   * A rate over its limit by no more than rounding passes unchanged and is no intervention: clamping
   * it would change the setpoint by ~1e-16, invisibly, yet start a clamp episode whose later ticks
   * would not be reported again.
   */
  private static final double ROUNDING = 1 + 1e-9;

  private final double h;
  private final SafetyEventLog log;
  private final AxisFilter[] linear = new AxisFilter[3];
  /** Components of the accumulated rotation vector (base frame), radians, rebased to 0 at each reset. */
  private final AxisFilter[] angular = new AxisFilter[3];
  private final AxisFilter gripperAxis;
  private final double[] angularJerk = new double[3];
  private final double[] brakeJerk = new double[3];
  private final double[] rotationStep = new double[3];
  private final double[] toolDirection = new double[3];
  private final double[] candidate = new double[4];
  /** Whether braking from the current angular state is known to stay inside the cone. */
  private boolean coneVerified;
  /** Whether the state this tick's planned angular jerks lead to is verified; committed with them. */
  private boolean candidateVerified;
  private final SafeSetpoint output = new SafeSetpoint();
  private final double[] orientation = {0, 0, 0, 1};
  private final double[] previousOrientation = {0, 0, 0, 1};
  private final double[] requestedOrientation = new double[4];
  private final double[] scratch = new double[4];
  private SafetyLimits limits;
  private boolean braking;
  private long tick;
  // Which (cause, axis) clamp episodes were active on the last tick, and on this one.
  private final long[] activeEpisodes = new long[(EPISODE_BITS + 63) / 64];
  private final long[] tickEpisodes = new long[activeEpisodes.length];
  private boolean lastTickIntervened;

  // This tick's interventions, reported once the halt-or-clamp decision is made.
  private int interventions;
  private final Cause[] causes = new Cause[MAX_INTERVENTIONS];
  private final Axis[] axes = new Axis[MAX_INTERVENTIONS];
  private final double[] requested = new double[MAX_INTERVENTIONS];
  private final double[] bounds = new double[MAX_INTERVENTIONS];
  private final String[] notes = new String[MAX_INTERVENTIONS];

  /**
   * Creates a gate whose robot is at rest at the origin until {@link #reset}.
   *
   * @param tickSeconds the control period, seconds
   * @param limits the limits in force
   * @param log where interventions are recorded
   */
  public SafetyGate(double tickSeconds, SafetyLimits limits, SafetyEventLog log) {
    if (!(tickSeconds > 0) || !Double.isFinite(tickSeconds)) {
      throw new IllegalArgumentException("tickSeconds: " + tickSeconds + " (expected: > 0)");
    }
    this.h = tickSeconds;
    this.log = log;
    for (int i = 0; i < 3; i++) {
      linear[i] = new AxisFilter(tickSeconds);
      angular[i] = new AxisFilter(tickSeconds);
    }
    gripperAxis = new AxisFilter(tickSeconds);
    setLimits(limits);
  }

  /** Replaces the limits from the next tick on. */
  public void setLimits(SafetyLimits newLimits) {
    SafetyLimits old = this.limits;
    this.limits = newLimits;
    for (int i = 0; i < 3; i++) {
      linear[i].setLimits(newLimits.workspaceMin().get(i), newLimits.workspaceMax().get(i),
          newLimits.maxLinearVelocity().max(), newLimits.maxLinearAcceleration().max(),
          newLimits.maxLinearJerk().max());
      angular[i].setLimits(Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY,
          newLimits.maxAngularVelocity().max() * PER_AXIS, newLimits.maxAngularAcceleration().max() * PER_AXIS,
          newLimits.maxAngularJerk().max() * PER_AXIS);
    }
    // The contract has no gripper jerk limit: the acceleration may change by its whole range in a tick.
    double gripperAcceleration = newLimits.maxGripperAcceleration().max();
    gripperAxis.setLimits(0, 1, newLimits.maxGripperRate().max(), gripperAcceleration, gripperAcceleration / h);
    // A new cone or new angular limits may not contain the motion under way: verify it again.
    if (old == null || !old.orientationWorkspace().equals(newLimits.orientationWorkspace())
        || !old.maxAngularVelocity().equals(newLimits.maxAngularVelocity())
        || !old.maxAngularAcceleration().equals(newLimits.maxAngularAcceleration())
        || !old.maxAngularJerk().equals(newLimits.maxAngularJerk())) {
      coneVerified = false;
    }
  }

  /** Returns the limits in force. */
  public SafetyLimits limits() {
    return limits;
  }

  /**
   * Declares the robot at rest at {@code pose} (at start, or after it held on its own) and leaves
   * braking. The pose becomes the output until the next tick.
   */
  public void reset(CartesianPose pose) {
    for (int i = 0; i < 3; i++) {
      linear[i].reset(pose.position[i]);
      angular[i].reset(0);
    }
    System.arraycopy(pose.orientation, 0, orientation, 0, 4);
    Quaternions.normalize(orientation);
    System.arraycopy(orientation, 0, previousOrientation, 0, 4);
    gripperAxis.reset(Math.max(0, Math.min(1, pose.gripper)));
    // At rest nothing more can turn: inside the cone, the state is verified.
    coneVerified = tilt(orientation) <= limits.orientationWorkspace().maxTilt();
    braking = false;
    clearEpisodes();
    writeOutput(output.timeNanos);
  }

  /**
   * Filters one tick's reference and updates {@link #output()}; while braking, brakes instead.
   *
   * @param request the reference pose; not modified
   * @param nowNanos loop-clock time the setpoint applies at
   * @param tickNumber the controller's tick, for events
   * @param chunkId the chunk executing, for events
   * @return true if this tick started a halt (a limit in halt mode, a non-finite value, or motion
   *     that breaks changed limits)
   */
  public boolean filter(CartesianPose request, long nowNanos, long tickNumber, long chunkId) {
    tick = tickNumber;
    interventions = 0;
    if (braking) {
      lastTickIntervened = true;
      brakeTick(nowNanos);
      return false;
    }
    if (nonFinite(request)) {
      halt(nowNanos, chunkId);
      return true;
    }
    boolean halt = false;
    for (int i = 0; i < 3; i++) {
      AxisFilter axis = linear[i];
      axis.plan(request.position[i]);
      Axis label = Axis.linear(i);
      if (axis.workspaceClamped) {
        halt |= add(Cause.TARGET_OUTSIDE_WORKSPACE, label, axis.workspaceRequested, axis.workspaceBound, null);
      }
      if (axis.requestCause != null) {
        halt |= add(axis.requestCause, label, axis.requestValue, axis.requestLimit, null);
      }
      if (axis.viabilityCause != null) {
        Cause cause = axis.notViable && axis.viabilityCause == Cause.BRAKING_FOR_WORKSPACE
            ? Cause.OUTSIDE_WORKSPACE : axis.viabilityCause;
        halt |= add(cause, label, axis.viabilityValue, axis.viabilityLimit, null) || axis.notViable;
      }
    }

    System.arraycopy(request.orientation, 0, requestedOrientation, 0, 4);
    Quaternions.normalize(requestedOrientation);
    halt |= clampIntoCone(requestedOrientation);
    double angle = Quaternions.angleBetween(orientation, requestedOrientation);
    double maxAngle = limits.maxAngularVelocity().max() * h;
    if (angle > maxAngle * ROUNDING) {
      halt |= add(Cause.ROTATION_RATE_REQUESTED, Axis.ROTATION, angle / h, limits.maxAngularVelocity().max(), null);
    }
    // The rotation still to go, as a base-frame rotation vector: each component a target for its axis.
    Quaternions.multiplyConjugate(requestedOrientation, orientation, scratch);
    Quaternions.toRotationVector(scratch, rotationStep);
    for (int i = 0; i < 3; i++) {
      AxisFilter axis = angular[i];
      axis.plan(axis.p + rotationStep[i]);
      halt |= addAxis(axis, Axis.angular(i), true);
      angularJerk[i] = axis.plannedJerk;
    }
    halt |= keepInCone();

    gripperAxis.plan(request.gripper);
    halt |= addAxis(gripperAxis, Axis.GRIPPER, false);

    if (halt) {
      report(nowNanos, chunkId, SafetyAction.HALT);
      startBraking();
      brakeTick(nowNanos);
      return true;
    }
    for (AxisFilter axis : linear) {
      axis.commitPlan();
    }
    for (int i = 0; i < 3; i++) {
      angular[i].plannedJerk = angularJerk[i];
    }
    commitRotation(false);
    coneVerified = candidateVerified;
    gripperAxis.commitPlan();
    report(nowNanos, chunkId, SafetyAction.CLAMP);
    writeOutput(nowNanos);
    return false;
  }

  /**
   * Records what an angular or gripper axis's plan intervened for, under the rotation's or the
   * gripper's own causes; returns whether a limit in halt mode (or a state no choice keeps within
   * the limits) was involved.
   */
  private boolean addAxis(AxisFilter axis, Axis label, boolean rotation) {
    boolean halt = false;
    if (axis.workspaceClamped) {
      halt |= add(Cause.GRIPPER_OUT_OF_RANGE, label, axis.workspaceRequested, axis.workspaceBound, null);
    }
    if (axis.requestCause != null) {
      halt |= add(rotation ? angularCause(axis.requestCause) : gripperCause(axis.requestCause), label,
          axis.requestValue, axis.requestLimit, null);
    }
    if (axis.viabilityCause != null) {
      Cause cause = rotation ? angularCause(axis.viabilityCause) : gripperCause(axis.viabilityCause);
      if (axis.notViable && cause == Cause.BRAKING_FOR_GRIPPER_RANGE) {
        cause = Cause.GRIPPER_OUT_OF_RANGE;
      }
      halt |= add(cause, label, axis.viabilityValue, axis.viabilityLimit, null) || axis.notViable;
    }
    return halt;
  }

  // A linear axis filter's causes, renamed for the angular axes and the gripper. Lookup tables, not
  // switches: an enum switch may bootstrap (and allocate) the first time a case runs, on the loop thread.
  private static final Cause[] ANGULAR_CAUSES = new Cause[Cause.values().length];
  private static final Cause[] GRIPPER_CAUSES = new Cause[Cause.values().length];

  static {
    // The angular axes have no box (the cone is checked by the gate); anything else is a cone problem.
    java.util.Arrays.fill(ANGULAR_CAUSES, Cause.OUTSIDE_CONE);
    ANGULAR_CAUSES[Cause.VELOCITY_REQUESTED.ordinal()] = Cause.ROTATION_RATE_REQUESTED;
    ANGULAR_CAUSES[Cause.BRAKING_FOR_VELOCITY.ordinal()] = Cause.BRAKING_FOR_ROTATION_RATE;
    ANGULAR_CAUSES[Cause.ACCELERATION_REQUESTED.ordinal()] = Cause.ANGULAR_ACCELERATION_REQUESTED;
    ANGULAR_CAUSES[Cause.JERK_REQUESTED.ordinal()] = Cause.ANGULAR_JERK_REQUESTED;
    ANGULAR_CAUSES[Cause.VELOCITY_ABOVE_LIMIT.ordinal()] = Cause.ROTATION_RATE_ABOVE_LIMIT;
    java.util.Arrays.fill(GRIPPER_CAUSES, Cause.GRIPPER_OUT_OF_RANGE);
    GRIPPER_CAUSES[Cause.VELOCITY_REQUESTED.ordinal()] = Cause.GRIPPER_RATE_REQUESTED;
    GRIPPER_CAUSES[Cause.BRAKING_FOR_VELOCITY.ordinal()] = Cause.BRAKING_FOR_GRIPPER_RATE;
    GRIPPER_CAUSES[Cause.VELOCITY_ABOVE_LIMIT.ordinal()] = Cause.BRAKING_FOR_GRIPPER_RATE;
    GRIPPER_CAUSES[Cause.ACCELERATION_REQUESTED.ordinal()] = Cause.GRIPPER_ACCELERATION_REQUESTED;
    GRIPPER_CAUSES[Cause.JERK_REQUESTED.ordinal()] = Cause.GRIPPER_ACCELERATION_REQUESTED;
    GRIPPER_CAUSES[Cause.BRAKING_FOR_WORKSPACE.ordinal()] = Cause.BRAKING_FOR_GRIPPER_RANGE;
  }

  private static Cause angularCause(Cause linearCause) {
    return ANGULAR_CAUSES[linearCause.ordinal()];
  }

  private static Cause gripperCause(Cause linearCause) {
    return GRIPPER_CAUSES[linearCause.ordinal()];
  }

  /** Returns the angle between the tool axis of {@code q} and the cone's nominal direction. */
  private double tilt(double[] q) {
    OrientationLimit cone = limits.orientationWorkspace();
    io.vlaserve.controller.Vector3 tool = cone.toolAxis();
    Quaternions.rotate(q, tool.x(), tool.y(), tool.z(), toolDirection);
    io.vlaserve.controller.Vector3 n = cone.nominalDirection();
    double dot = toolDirection[0] * n.x() + toolDirection[1] * n.y() + toolDirection[2] * n.z();
    double cx = toolDirection[1] * n.z() - toolDirection[2] * n.y();
    double cy = toolDirection[2] * n.x() - toolDirection[0] * n.z();
    double cz = toolDirection[0] * n.y() - toolDirection[1] * n.x();
    return Math.atan2(Math.sqrt(cx * cx + cy * cy + cz * cz), dot);
  }

  /**
   * Turns a target whose tool axis lies outside the cone (or in its band, see {@link #CONE_BAND})
   * back to the band's inner edge, by the smallest rotation (about the axis perpendicular to both the
   * tool direction and the nominal one). Only a target outside the cone itself is reported.
   */
  private boolean clampIntoCone(double[] target) {
    OrientationLimit cone = limits.orientationWorkspace();
    if (cone.maxTilt() >= Math.PI) {
      return false;
    }
    double tilt = tilt(target);
    double band = Math.min(CONE_BAND, cone.maxTilt() / 4);
    double edge = cone.maxTilt() - band;
    if (!(tilt > edge)) {
      return false;
    }
    boolean halt = tilt > cone.maxTilt() && add(Cause.TILT_OUTSIDE_CONE, Axis.TOOL, tilt, cone.maxTilt(), null);
    io.vlaserve.controller.Vector3 n = cone.nominalDirection();
    double kx = toolDirection[1] * n.z() - toolDirection[2] * n.y();
    double ky = toolDirection[2] * n.x() - toolDirection[0] * n.z();
    double kz = toolDirection[0] * n.y() - toolDirection[1] * n.x();
    double norm = Math.sqrt(kx * kx + ky * ky + kz * kz);
    if (norm < 1e-12) {
      // Pointing exactly away from the nominal direction: any perpendicular axis turns it back.
      kx = Math.abs(n.x()) < 0.9 ? 0 : -n.y();
      ky = Math.abs(n.x()) < 0.9 ? -n.z() : n.x();
      kz = Math.abs(n.x()) < 0.9 ? n.y() : 0;
      norm = Math.sqrt(kx * kx + ky * ky + kz * kz);
    }
    double turn = (tilt - edge) / norm;
    Quaternions.fromRotationVector(kx * turn, ky * turn, kz * turn, candidate);
    Quaternions.multiply(candidate, target, target);
    Quaternions.normalize(target);
    return halt;
  }

  /**
   * Makes the planned angular jerks keep the cone reachable: if the tilt after them plus the angle
   * the axes could still turn while braking exceeds the cone, bisects all three towards braking.
   * Returns whether the cone forces a halt (only from a state that was never verified).
   */
  private boolean keepInCone() {
    double maxTilt = limits.orientationWorkspace().maxTilt();
    if (maxTilt >= Math.PI || coneAllows(1)) {
      candidateVerified = true;
      return false;
    }
    for (int i = 0; i < 3; i++) {
      brakeJerk[i] = angular[i].brakeJerkNow();
    }
    double bound = lastTiltBound;
    if (coneAllows(0)) {
      double good = 0;
      double bad = 1;
      for (int step = 0; step < CONE_BISECTION_STEPS; step++) {
        double middle = 0.5 * (good + bad);
        if (coneAllows(middle)) {
          good = middle;
        } else {
          bad = middle;
        }
      }
      mixJerks(good);
      candidateVerified = true;
      return add(Cause.BRAKING_FOR_TILT, Axis.TOOL, bound, maxTilt, null);
    }
    mixJerks(0);
    candidateVerified = coneVerified;
    if (coneVerified) {
      // Braking continues a stop that was checked when its state was chosen: safe, only slower.
      return add(Cause.BRAKING_FOR_TILT, Axis.TOOL, lastTiltBound, maxTilt, null);
    }
    add(Cause.OUTSIDE_CONE, Axis.TOOL, tilt(orientation), maxTilt, null);
    return true;
  }

  private double lastTiltBound;

  /** Writes brake + fraction * (planned - brake) into the angular jerks. */
  private void mixJerks(double fraction) {
    for (int i = 0; i < 3; i++) {
      angularJerk[i] = brakeJerk[i] + fraction * (angular[i].plannedJerk - brakeJerk[i]);
    }
  }

  /**
   * Whether the angular jerks {@code brake + fraction * (planned - brake)} keep each axis viable and
   * the cone reachable; fraction 1 tests the planned jerks as they are.
   */
  private boolean coneAllows(double fraction) {
    double travel = 0;
    for (int i = 0; i < 3; i++) {
      AxisFilter axis = angular[i];
      double jerk = fraction == 1 ? axis.plannedJerk : brakeJerk[i] + fraction * (axis.plannedJerk - brakeJerk[i]);
      if (fraction != 1 && !axis.viableAfter(jerk)) {
        return false;
      }
      rotationStep[i] = axis.nextPosition(jerk) - axis.p;
      travel += axis.brakingTravelBoundAfter(jerk);
    }
    Quaternions.fromRotationVector(rotationStep[0], rotationStep[1], rotationStep[2], scratch);
    Quaternions.multiply(scratch, orientation, candidate);
    lastTiltBound = tilt(candidate) + travel;
    return lastTiltBound <= limits.orientationWorkspace().maxTilt() - TILT_MARGIN;
  }

  /** Commits the angular axes (their planned jerks, or braking) and turns the orientation by their steps. */
  private void commitRotation(boolean brake) {
    for (int i = 0; i < 3; i++) {
      AxisFilter axis = angular[i];
      double before = axis.p;
      if (brake) {
        axis.commitBrake();
      } else {
        axis.commitPlan();
      }
      rotationStep[i] = axis.p - before;
    }
    System.arraycopy(orientation, 0, previousOrientation, 0, 4);
    Quaternions.fromRotationVector(rotationStep[0], rotationStep[1], rotationStep[2], scratch);
    Quaternions.multiply(scratch, orientation, orientation);
    Quaternions.normalize(orientation);
  }

  /** Records an intervention for this tick; returns whether its limit is in halt mode. */
  private boolean add(Cause cause, Axis axis, double value, double bound, String note) {
    if (interventions < MAX_INTERVENTIONS) {
      causes[interventions] = cause;
      axes[interventions] = axis;
      requested[interventions] = value;
      bounds[interventions] = bound;
      notes[interventions] = note;
      interventions++;
    }
    return limits.modeOf(cause.kind()) == LimitMode.HALT;
  }

  private boolean nonFinite(CartesianPose request) {
    for (int i = 0; i < 3; i++) {
      if (!Double.isFinite(request.position[i])) {
        add(Cause.NON_FINITE, Axis.linear(i), request.position[i], 0, POSITION_NAMES[i]);
        return true;
      }
    }
    for (int i = 0; i < 4; i++) {
      if (!Double.isFinite(request.orientation[i])) {
        add(Cause.NON_FINITE, Axis.ROTATION, request.orientation[i], 0, ORIENTATION_NAMES[i]);
        return true;
      }
    }
    double norm = Quaternions.norm(request.orientation);
    if (!(norm > 1e-6) || !Double.isFinite(norm)) {
      add(Cause.NON_FINITE, Axis.ROTATION, norm, 0, "orientation norm");
      return true;
    }
    if (!Double.isFinite(request.gripper)) {
      add(Cause.NON_FINITE, Axis.GRIPPER, request.gripper, 0, "gripper");
      return true;
    }
    return false;
  }

  private static final String[] POSITION_NAMES = {"position x", "position y", "position z"};
  private static final String[] ORIENTATION_NAMES = {
    "orientation x", "orientation y", "orientation z", "orientation w"
  };

  private void halt(long nowNanos, long chunkId) {
    report(nowNanos, chunkId, SafetyAction.HALT);
    startBraking();
    brakeTick(nowNanos);
  }

  /**
   * Reports this tick's interventions: all of them when halting; for clamps, only those whose
   * limit on that axis was not already binding on the previous tick.
   */
  private void report(long nowNanos, long chunkId, SafetyAction action) {
    java.util.Arrays.fill(tickEpisodes, 0);
    for (int i = 0; i < interventions; i++) {
      int episode = causes[i].kind().ordinal() * AXIS_COUNT + axes[i].ordinal();
      long bit = 1L << (episode & 63);
      if (action == SafetyAction.HALT || (activeEpisodes[episode >>> 6] & bit) == 0) {
        log.record(nowNanos, tick, causes[i], action, axes[i], requested[i], bounds[i], chunkId, notes[i]);
      }
      tickEpisodes[episode >>> 6] |= bit;
    }
    if (action == SafetyAction.HALT) {
      clearEpisodes();
    } else {
      System.arraycopy(tickEpisodes, 0, activeEpisodes, 0, activeEpisodes.length);
    }
    lastTickIntervened = interventions > 0;
  }

  private void clearEpisodes() {
    java.util.Arrays.fill(activeEpisodes, 0);
  }

  /**
   * Starts decelerating to a hold within the limits, ignoring references until {@link #reset} or
   * {@link #releaseBrake}.
   */
  public void startBraking() {
    braking = true;
    clearEpisodes();
    for (int i = 0; i < 3; i++) {
      linear[i].forgetTarget();
      angular[i].forgetTarget();
    }
    gripperAxis.forgetTarget();
  }

  /** Stops braking: references are followed again from the next tick. */
  public void releaseBrake() {
    braking = false;
    clearEpisodes();
  }

  /** One braking tick, for callers that want to brake whatever the reference (halted, watchdog). */
  public void brake(long nowNanos, long tickNumber) {
    tick = tickNumber;
    interventions = 0;
    lastTickIntervened = true;
    brakeTick(nowNanos);
  }

  private void brakeTick(long nowNanos) {
    for (AxisFilter axis : linear) {
      axis.commitBrake();
    }
    // Braking from a verified state stays verified: it is the tail of the stop that was checked.
    commitRotation(true);
    gripperAxis.commitBrake();
    writeOutput(nowNanos);
  }

  private void writeOutput(long nowNanos) {
    for (int i = 0; i < 3; i++) {
      output.position[i] = linear[i].p;
    }
    System.arraycopy(orientation, 0, output.orientation, 0, 4);
    // Within AxisFilter.EDGE_TOLERANCE of 0..1 already; exactly inside for the robot.
    output.gripper = Math.max(0, Math.min(1, gripperAxis.p));
    output.timeNanos = nowNanos;
    output.sequence++;
  }

  /** Returns the tick number of the last filtered or braked tick. */
  public long tick() {
    return tick;
  }

  /** Returns whether the gate is braking (halted or stopping) rather than following references. */
  public boolean braking() {
    return braking;
  }

  /** Returns whether every axis (linear, angular, gripper) has stopped. */
  public boolean atRest() {
    for (int i = 0; i < 3; i++) {
      if (!linear[i].atRest() || !angular[i].atRest()) {
        return false;
      }
    }
    return gripperAxis.atRest();
  }

  /** Returns the last setpoint. */
  public SafeSetpoint output() {
    return output;
  }

  /** Returns whether the last tick clamped, halted or braked; for diagnostics and tests. */
  public boolean lastTickIntervened() {
    return lastTickIntervened;
  }

  /** Returns the commanded speed along {@code axis} (finite difference of the last two setpoints), m/s. */
  public double velocity(int axis) {
    return linear[axis].v;
  }

  /**
   * Writes where the robot would be next tick if it kept its commanded linear and angular velocity:
   * the anchor for a chunk that starts now, so the new trajectory begins without a velocity dip.
   */
  public void predictNext(CartesianPose out) {
    for (int i = 0; i < 3; i++) {
      out.position[i] = linear[i].predictNext();
    }
    // Apply the last tick's rotation once more: (q * conjugate(q_prev)) * q.
    Quaternions.multiplyConjugate(orientation, previousOrientation, scratch);
    Quaternions.multiply(scratch, orientation, out.orientation);
    Quaternions.normalize(out.orientation);
    out.gripper = gripperAxis.predictNext();
  }

  /**
   * Writes the commanded motion (linear and angular velocity and acceleration, from the filters'
   * state) into {@code out}: what a trajectory spliced on at the next tick must continue.
   */
  public void motion(EntryState out) {
    for (int i = 0; i < 3; i++) {
      out.velocity[i] = linear[i].v;
      out.acceleration[i] = linear[i].a;
      out.angularVelocity[i] = angular[i].v;
      out.angularAcceleration[i] = angular[i].a;
    }
  }

  /** Writes the last setpoint as a pose into {@code out}. */
  public void commanded(CartesianPose out) {
    for (int i = 0; i < 3; i++) {
      out.position[i] = linear[i].p;
    }
    System.arraycopy(orientation, 0, out.orientation, 0, 4);
    out.gripper = gripperAxis.p;
  }
}
