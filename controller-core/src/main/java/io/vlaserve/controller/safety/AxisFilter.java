package io.vlaserve.controller.safety;

/**
 * The safety filter of one linear axis: keeps the emitted positions inside a box with bounded
 * velocity, acceleration and jerk, and never lets the axis into a state from which it could not
 * stop within those limits.
 *
 * <p><b>State</b> is what a robot would compute from the emitted setpoints: position {@code p},
 * and velocity {@code v} and acceleration {@code a} as finite differences over the tick {@code h}.
 * Choosing this tick's jerk {@code j} fixes the next setpoint: {@code a' = a + j h},
 * {@code v' = v + a' h}, {@code p' = p + v' h}.
 *
 * <p><b>Viability.</b> Per-tick clamping alone cannot honour a jerk limit: an axis at full speed
 * towards a wall, or accelerating at the velocity limit, would need unbounded jerk a tick later.
 * So a state is accepted only if the {@link #brakeJerk braking policy} from it stops the axis
 * (v = a = 0) without leaving the box or exceeding the velocity limit; that is checked by
 * simulating the policy tick by tick (a cheap closed-form bound skips the simulation far from the
 * walls). The braking policy is deterministic state feedback, so if the current state is viable,
 * braking one tick leads to a viable state again: a viable choice of {@code j} always exists, and
 * by induction from a state at rest every emitted setpoint respects every limit.
 *
 * <p><b>Per tick</b>: clamp the target into the box; if the jerk that reaches it exactly breaks no
 * limit, this tick or (with the target extrapolated) the next, use it; otherwise follow it with a
 * jerk-limited tracking law (braking-distance velocity profile plus the target's own velocity,
 * linear near the target so it settles exactly instead of chattering). Clamp that jerk to the
 * instantaneous jerk, acceleration and velocity bounds, and if the result is not viable, bisect
 * towards the braking jerk for the viable jerk nearest the wanted one. Each step records why it had
 * to intervene.
 *
 * <p>Allocation-free. Confined to the control-loop thread; not thread-safe.
 */
final class AxisFilter {
  /** Below these the axis counts as stopped; the drift they allow is far below a micrometre. */
  static final double REST_VELOCITY = 1e-9;
  static final double REST_ACCELERATION = 1e-6;
  /**
   * How far past a bound at (or within a millimetre of) zero a position may lie and still count as
   * inside, in the bound's unit. Floating point resolves far finer near zero than anywhere else, so
   * approaching such a bound (the closed gripper, a wall at z = 0) the tracking law's exponential
   * tail reaches 1e-40 and below, where a state judged at rest can carry a velocity pointing past the
   * bound by far more than the distance left; without this slack every choice from there looked
   * non-viable and the gate halted the robot. Elsewhere the box is exact. The gate clamps the gripper
   * it emits into 0..1.
   */
  static final double EDGE_TOLERANCE = 1e-12;
  private double loSlack;
  private double hiSlack;
  /** Relative slack for floating-point rounding in the limit comparisons of the simulation. */
  private static final double ROUNDING = 1e-12;
  /** Gain (1/s) of the tracking law's linear region near the target. */
  private static final double TRACKING_GAIN = 15;
  private static final int BISECTION_STEPS = 24;

  private final double h;
  private final double velocityGain;
  double lo;
  double hi;
  double vMax;
  double aMax;
  double jMax;

  double p;
  double v;
  double a;
  private double lastTarget;
  private double lastTargetVelocity;
  /** How many of lastTarget and lastTargetVelocity are known: 0, 1 or 2. */
  private int targetHistory;

  // Outcome of the last plan(): the jerk to commit and why the filter intervened, if it did.
  double plannedJerk;
  double plannedTarget;
  boolean workspaceClamped;
  double workspaceRequested;
  double workspaceBound;
  Cause requestCause;
  double requestValue;
  double requestLimit;
  Cause viabilityCause;
  double viabilityValue;
  double viabilityLimit;
  boolean notViable;

  // The result of step().
  private double stepPosition;
  private double stepVelocity;
  private double stepAcceleration;

  // Where the last failed viability check failed.
  private Cause failCause;
  private double failValue;
  private double failLimit;

  AxisFilter(double tickSeconds) {
    this.h = tickSeconds;
    this.velocityGain = 0.25 / tickSeconds;
  }

  void setLimits(double low, double high, double velocity, double acceleration, double jerk) {
    lo = low;
    hi = high;
    loSlack = Math.abs(low) < 1e-3 ? EDGE_TOLERANCE : 0;
    hiSlack = Math.abs(high) < 1e-3 ? EDGE_TOLERANCE : 0;
    vMax = velocity;
    aMax = acceleration;
    jMax = jerk;
  }

  /** Puts the axis at rest at {@code position}. */
  void reset(double position) {
    p = position;
    v = 0;
    a = 0;
    targetHistory = 0;
  }

  boolean atRest() {
    return Math.abs(v) <= REST_VELOCITY && Math.abs(a) <= REST_ACCELERATION;
  }

  /** Forgets the previous target, whose velocity the tracking law uses; after a halt or reset. */
  void forgetTarget() {
    targetHistory = 0;
  }

  /**
   * Chooses this tick's jerk towards {@code target} (finite) and records any intervention; changes
   * no state. Commit with {@link #commitPlan()} or brake instead.
   */
  void plan(double target) {
    workspaceClamped = false;
    requestCause = null;
    viabilityCause = null;
    notViable = false;

    double t = target;
    if (t < lo) {
      workspaceClamped = true;
      workspaceRequested = target;
      workspaceBound = lo;
      t = lo;
    } else if (t > hi) {
      workspaceClamped = true;
      workspaceRequested = target;
      workspaceBound = hi;
      t = hi;
    }
    plannedTarget = t;

    double vRequested = (t - p) / h;
    double aRequested = (vRequested - v) / h;
    double jRequested = (aRequested - a) / h;
    if (Math.abs(vRequested) > vMax) {
      requestCause = Cause.VELOCITY_REQUESTED;
      requestValue = vRequested;
      requestLimit = vMax;
    } else if (Math.abs(aRequested) > aMax) {
      requestCause = Cause.ACCELERATION_REQUESTED;
      requestValue = aRequested;
      requestLimit = aMax;
    } else if (Math.abs(jRequested) > jMax) {
      requestCause = Cause.JERK_REQUESTED;
      requestValue = jRequested;
      requestLimit = jMax;
    }

    if (requestCause == null) {
      lookAhead(t, vRequested, aRequested);
    }
    double j = requestCause == null ? jRequested : trackingJerk(t);
    double jLow = Math.max(-jMax, Math.max((-aMax - a) / h, ((-vMax - v) / h - a) / h));
    double jHigh = Math.min(jMax, Math.min((aMax - a) / h, ((vMax - v) / h - a) / h));
    boolean feasible = jLow <= jHigh;
    if (feasible) {
      j = Math.max(jLow, Math.min(jHigh, j));
    }
    if (!feasible || !viableAfter(j)) {
      Cause wantedFailure = feasible ? failCause : Cause.VELOCITY_ABOVE_LIMIT;
      double wantedValue = feasible ? failValue : v;
      double wantedLimit = feasible ? failLimit : vMax;
      double brake = brakeJerk(v, a);
      if (!viableAfter(brake)) {
        // Only after the limits changed under a moving robot: no choice keeps every limit.
        notViable = true;
        viabilityCause = failCause;
        viabilityValue = failValue;
        viabilityLimit = failLimit;
        j = brake;
      } else {
        viabilityCause = wantedFailure;
        viabilityValue = wantedValue;
        viabilityLimit = wantedLimit;
        j = feasible ? bisectTowards(brake, j) : brake;
      }
    }
    plannedJerk = j;
  }

  /**
   * Refuses an exact step that this tick's limits allow but the next tick's would not: landing on a
   * target with a velocity it does not have (typically at the end of catching up after a clamp)
   * would need a jerk spike a tick later. The next target is extrapolated with the target's own
   * velocity and acceleration, so when the axis already follows a reference exactly the check
   * asks for no jerk at all, however fast the reference changes: it only trips on a state mismatch.
   * It uses the same strict comparisons as the step itself, so the two never disagree.
   */
  private void lookAhead(double target, double v1, double a1) {
    double targetVelocity = 0;
    double targetAcceleration = 0;
    if (targetHistory >= 1) {
      targetVelocity = (target - lastTarget) / h;
    }
    if (targetHistory >= 2) {
      targetAcceleration = (targetVelocity - lastTargetVelocity) / h;
    }
    double next = target + h * (targetVelocity + h * targetAcceleration);
    double v2 = (next - target) / h;
    double a2 = (v2 - v1) / h;
    double j2 = (a2 - a1) / h;
    if (Math.abs(j2) > jMax) {
      requestCause = Cause.JERK_REQUESTED;
      requestValue = j2;
      requestLimit = jMax;
    } else if (Math.abs(a2) > aMax) {
      requestCause = Cause.ACCELERATION_REQUESTED;
      requestValue = a2;
      requestLimit = aMax;
    } else if (Math.abs(v2) > vMax) {
      requestCause = Cause.VELOCITY_REQUESTED;
      requestValue = v2;
      requestLimit = vMax;
    }
  }

  /** Commits the planned jerk. */
  void commitPlan() {
    commit(plannedJerk);
    if (targetHistory >= 1) {
      lastTargetVelocity = (plannedTarget - lastTarget) / h;
    }
    lastTarget = plannedTarget;
    targetHistory = Math.min(2, targetHistory + 1);
  }

  /** Commits one tick of the braking policy. */
  void commitBrake() {
    if (atRest()) {
      // Hold exactly: the same position again, so a robot differentiating it sees zero velocity.
      a = -v / h;
      v = 0;
      return;
    }
    commit(brakeJerk(v, a));
  }

  private void commit(double jerk) {
    step(p, v, a, jerk);
    p = stepPosition;
    v = stepVelocity;
    a = stepAcceleration;
  }

  /**
   * One tick from (position, velocity, acceleration) at {@code jerk}, into the step fields. The
   * velocity and acceleration are differences of the emitted positions, as the robot sees them, not
   * an integrator's own values. Committing, checking a candidate and simulating a stop all use this
   * one arithmetic, so a stop predicted from a state is bit for bit the stop the filter would then
   * command: a state judged viable cannot turn non-viable through rounding.
   */
  private void step(double position, double velocity, double acceleration, double jerk) {
    double next = position + h * (velocity + h * (acceleration + jerk * h));
    double nextVelocity = (next - position) / h;
    stepAcceleration = (nextVelocity - velocity) / h;
    stepVelocity = nextVelocity;
    stepPosition = next;
  }

  /** Returns the position this axis would reach next tick at its current velocity. */
  double predictNext() {
    return p + v * h;
  }

  /**
   * The braking policy: a jerk-limited, acceleration-limited stop. It lands exactly at rest in two
   * ticks when that is within the limits; otherwise it steers the acceleration towards the
   * time-optimal profile {@code -sign(e) min(A, sqrt(2 J |e|))}, e being the velocity left once the
   * acceleration is ramped to zero at full jerk.
   */
  double brakeJerk(double velocity, double acceleration) {
    double a1 = -velocity / h;
    double j1 = (a1 - acceleration) / h;
    double j2 = -a1 / h;
    if (Math.abs(a1) <= aMax && Math.abs(j1) <= jMax && Math.abs(j2) <= jMax) {
      return j1;
    }
    return velocityTrackingJerk(0, velocity, acceleration);
  }

  /**
   * Jerk that steers the velocity towards {@code wanted}: the time-optimal acceleration profile
   * {@code sqrt(2 J |e|)} far away, and a linear one (gain a quarter of the tick rate) close by,
   * because the square root's infinite gain at zero error makes a discrete loop chatter forever.
   */
  private double velocityTrackingJerk(double wanted, double velocity, double acceleration) {
    double error = wanted - (velocity + acceleration * Math.abs(acceleration) / (2 * jMax));
    double magnitude = Math.abs(error);
    double aWanted = Math.signum(error)
        * Math.min(aMax, Math.min(Math.sqrt(2 * jMax * magnitude), velocityGain * magnitude));
    return Math.max(-jMax, Math.min(jMax, (aWanted - acceleration) / h));
  }

  /**
   * Jerk that follows a target the exact step cannot reach: the target's own velocity plus a
   * correction that shrinks the gap as fast as half the acceleration limit can stop it (linear near
   * the target, so it settles instead of chattering).
   */
  private double trackingJerk(double target) {
    double targetVelocity = targetHistory >= 1 ? Math.max(-vMax, Math.min(vMax, (target - lastTarget) / h)) : 0;
    double gap = target - (p + v * h);
    double distance = Math.abs(gap);
    double correction = Math.signum(gap) * Math.min(TRACKING_GAIN * distance, Math.sqrt(aMax * distance));
    double wanted = Math.max(-vMax, Math.min(vMax, targetVelocity + correction));
    return velocityTrackingJerk(wanted, v, a);
  }

  private double bisectTowards(double viable, double wanted) {
    double good = viable;
    double bad = wanted;
    for (int i = 0; i < BISECTION_STEPS; i++) {
      double middle = 0.5 * (good + bad);
      if (viableAfter(middle)) {
        good = middle;
      } else {
        bad = middle;
      }
    }
    return good;
  }

  /** Whether this axis's own limits (box, velocity) stay viable after this tick's {@code jerk}. */
  boolean viableAfter(double jerk) {
    step(p, v, a, jerk);
    return viable(stepPosition, stepVelocity, stepAcceleration);
  }

  /** Whether braking from this state stops within every limit; sets the failure fields if not. */
  boolean viable(double position, double velocity, double acceleration) {
    if (position < lo - loSlack || position > hi + hiSlack) {
      return fail(Cause.BRAKING_FOR_WORKSPACE, position, position < lo ? lo : hi);
    }
    if (Math.abs(velocity) > vMax * (1 + ROUNDING)) {
      return fail(Cause.BRAKING_FOR_VELOCITY, velocity, vMax);
    }
    double peak = brakingPeakSpeedBound(velocity, acceleration);
    double stopTime = brakingTimeBound(velocity, acceleration);
    double reach = 1.25 * peak * stopTime + 1e-9;
    if (peak <= vMax && position - lo > reach && hi - position > reach) {
      return true;
    }
    return simulateBraking(position, velocity, acceleration, stopTime);
  }

  /** Upper bound on the speed reached while braking from (velocity, acceleration) (see brakeJerk). */
  private double brakingPeakSpeedBound(double velocity, double acceleration) {
    return Math.abs(velocity) + acceleration * acceleration / (2 * jMax) + Math.abs(acceleration) * h;
  }

  /** Upper bound on the time braking from (velocity, acceleration) takes to reach rest. */
  private double brakingTimeBound(double velocity, double acceleration) {
    double peak = brakingPeakSpeedBound(velocity, acceleration);
    // The last term covers the linear (exponential) tail of the braking law before its deadbeat finish.
    return Math.abs(acceleration) / jMax + peak / aMax + 2 * aMax / jMax + 4 * h + 8 / velocityGain;
  }

  /**
   * Upper bound on the path length (sum of |position steps|) the axis travels if it brakes from its
   * current state to rest: used where motion is bounded by something other than this axis's box
   * (the orientation workspace couples the angular axes).
   */
  double brakingTravelBound() {
    return travelBound(v, a);
  }

  /** {@link #brakingTravelBound()} from the state this tick's {@code jerk} would lead to. */
  double brakingTravelBoundAfter(double jerk) {
    step(p, v, a, jerk);
    return travelBound(stepVelocity, stepAcceleration);
  }

  private double travelBound(double velocity, double acceleration) {
    return 1.25 * brakingPeakSpeedBound(velocity, acceleration) * brakingTimeBound(velocity, acceleration) + 1e-9;
  }

  /** The position this tick's {@code jerk} would lead to. */
  double nextPosition(double jerk) {
    step(p, v, a, jerk);
    return stepPosition;
  }

  /** The braking policy's jerk from the current state. */
  double brakeJerkNow() {
    return brakeJerk(v, a);
  }

  private boolean simulateBraking(double position, double velocity, double acceleration, double stopTime) {
    long limit = Math.min(1_000_000L, (long) Math.ceil(4 * stopTime / h) + 1_000);
    double x = position;
    double vel = velocity;
    double acc = acceleration;
    for (long n = 0; n < limit; n++) {
      if (Math.abs(vel) <= REST_VELOCITY && Math.abs(acc) <= REST_ACCELERATION) {
        return true;
      }
      step(x, vel, acc, brakeJerk(vel, acc));
      x = stepPosition;
      vel = stepVelocity;
      acc = stepAcceleration;
      if (x < lo - loSlack || x > hi + hiSlack) {
        return fail(Cause.BRAKING_FOR_WORKSPACE, x, x < lo ? lo : hi);
      }
      if (Math.abs(vel) > vMax * (1 + ROUNDING)) {
        return fail(Cause.BRAKING_FOR_VELOCITY, vel, vMax);
      }
    }
    return fail(Cause.BRAKING_FOR_WORKSPACE, x, vel > 0 ? hi : lo);
  }

  private boolean fail(Cause cause, double value, double limit) {
    failCause = cause;
    failValue = value;
    failLimit = limit;
    return false;
  }
}
