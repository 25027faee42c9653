package io.vlaserve.controller.safety;

import io.vlaserve.controller.CartesianPose;
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
 *   <li><b>Rotation rate</b>: the rotation from the last setpoint is slerped down to the limit.
 *   <li><b>Gripper rate</b>.
 * </ol>
 *
 * If any intervention's limit is in {@link LimitMode#HALT} mode, nothing of the request is used:
 * the gate latches into braking (linear axes decelerate within the acceleration and jerk limits;
 * orientation and gripper hold, as the contract has no angular acceleration limit) until
 * {@link #reset} or {@link #releaseBrake}. The controller uses the same braking for Halt and the
 * watchdog, so every stop also respects the limits. Axes are filtered independently, so a clamp on
 * one axis can bend the path; clamping is the fallback, halting the strict choice.
 *
 * <p>Clamps are reported once per episode (when a limit on an axis starts binding); halts every
 * time. New limits given to {@link #setLimits} apply from the next tick; if the robot's motion
 * breaks them, the gate halts and brakes under the new ones.
 *
 * <p>Allocation-free per tick. Confined to the control-loop thread; not thread-safe.
 */
public final class SafetyGate {
  private static final int MAX_INTERVENTIONS = 16;
  private static final int AXIS_COUNT = Axis.values().length;
  /**
   * A rate over its limit by no more than rounding passes unchanged and is no intervention: clamping
   * it would change the setpoint by ~1e-16, invisibly, yet start a clamp episode whose later ticks
   * would not be reported again.
   */
  private static final double ROUNDING = 1 + 1e-9;

  private final double h;
  private final SafetyEventLog log;
  private final AxisFilter[] linear = new AxisFilter[3];
  private final SafeSetpoint output = new SafeSetpoint();
  private final double[] orientation = {0, 0, 0, 1};
  private final double[] previousOrientation = {0, 0, 0, 1};
  private final double[] requestedOrientation = new double[4];
  private final double[] scratch = new double[4];
  private double gripper;
  private SafetyLimits limits;
  private boolean braking;
  private long tick;
  private long activeMask;
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
    }
    setLimits(limits);
  }

  /** Replaces the limits from the next tick on. */
  public void setLimits(SafetyLimits newLimits) {
    this.limits = newLimits;
    for (int i = 0; i < 3; i++) {
      linear[i].setLimits(newLimits.workspaceMin().get(i), newLimits.workspaceMax().get(i),
          newLimits.maxLinearVelocity().max(), newLimits.maxLinearAcceleration().max(),
          newLimits.maxLinearJerk().max());
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
    }
    System.arraycopy(pose.orientation, 0, orientation, 0, 4);
    Quaternions.normalize(orientation);
    System.arraycopy(orientation, 0, previousOrientation, 0, 4);
    gripper = Math.max(0, Math.min(1, pose.gripper));
    braking = false;
    activeMask = 0;
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
    double angle = Quaternions.angleBetween(orientation, requestedOrientation);
    double maxAngle = limits.maxAngularVelocity().max() * h;
    boolean rotationClamped = angle > maxAngle * ROUNDING;
    if (rotationClamped) {
      halt |= add(Cause.ROTATION_RATE_REQUESTED, Axis.ROTATION, angle / h, limits.maxAngularVelocity().max(), null);
    }

    double wantedGripper = request.gripper;
    if (wantedGripper < 0 || wantedGripper > 1) {
      halt |= add(Cause.GRIPPER_OUT_OF_RANGE, Axis.GRIPPER, wantedGripper, wantedGripper < 0 ? 0 : 1, null);
      wantedGripper = Math.max(0, Math.min(1, wantedGripper));
    }
    double maxGripperStep = limits.maxGripperRate().max() * h;
    double gripperStep = wantedGripper - gripper;
    if (Math.abs(gripperStep) > maxGripperStep * ROUNDING) {
      halt |= add(Cause.GRIPPER_RATE_REQUESTED, Axis.GRIPPER, gripperStep / h, limits.maxGripperRate().max(), null);
      gripperStep = Math.copySign(maxGripperStep, gripperStep);
    }

    if (halt) {
      report(nowNanos, chunkId, SafetyAction.HALT);
      startBraking();
      brakeTick(nowNanos);
      return true;
    }
    for (AxisFilter axis : linear) {
      axis.commitPlan();
    }
    System.arraycopy(orientation, 0, previousOrientation, 0, 4);
    if (rotationClamped) {
      Quaternions.slerp(orientation, requestedOrientation, maxAngle / angle, orientation);
    } else {
      System.arraycopy(requestedOrientation, 0, orientation, 0, 4);
    }
    gripper += gripperStep;
    report(nowNanos, chunkId, SafetyAction.CLAMP);
    writeOutput(nowNanos);
    return false;
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
    long mask = 0;
    for (int i = 0; i < interventions; i++) {
      long bit = 1L << (causes[i].kind().ordinal() * AXIS_COUNT + axes[i].ordinal());
      if (action == SafetyAction.HALT || (activeMask & bit) == 0) {
        log.record(nowNanos, tick, causes[i], action, axes[i], requested[i], bounds[i], chunkId, notes[i]);
      }
      mask |= bit;
    }
    activeMask = action == SafetyAction.HALT ? 0 : mask;
    lastTickIntervened = interventions > 0;
  }

  /**
   * Starts decelerating to a hold within the limits, ignoring references until {@link #reset} or
   * {@link #releaseBrake}.
   */
  public void startBraking() {
    braking = true;
    activeMask = 0;
    for (AxisFilter axis : linear) {
      axis.forgetTarget();
    }
  }

  /** Stops braking: references are followed again from the next tick. */
  public void releaseBrake() {
    braking = false;
    activeMask = 0;
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
    System.arraycopy(orientation, 0, previousOrientation, 0, 4);
    writeOutput(nowNanos);
  }

  private void writeOutput(long nowNanos) {
    for (int i = 0; i < 3; i++) {
      output.position[i] = linear[i].p;
    }
    System.arraycopy(orientation, 0, output.orientation, 0, 4);
    output.gripper = gripper;
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

  /** Returns whether every linear axis has stopped. */
  public boolean atRest() {
    for (AxisFilter axis : linear) {
      if (!axis.atRest()) {
        return false;
      }
    }
    return true;
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
    out.gripper = gripper;
  }

  /** Writes the last setpoint as a pose into {@code out}. */
  public void commanded(CartesianPose out) {
    for (int i = 0; i < 3; i++) {
      out.position[i] = linear[i].p;
    }
    System.arraycopy(orientation, 0, out.orientation, 0, 4);
    out.gripper = gripper;
  }
}
