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
 * (v = a = 0) without leaving the box or exceeding the velocity limit. That is decided in a fixed
 * number of operations, whatever the stopping time (slow limits, a = 0.05 m/s^2 and j = 0.1 m/s^3,
 * give stops of 20 s, which used to be simulated tick by tick up to 26 times per tick): a closed-form
 * bound on the policy's excursion both ways and on its peak speed ({@link #boundBraking}) and,
 * when that bound alone does not admit a stop estimated to last at most {@link #EXACT_PREFIX_STEPS}
 * ticks (near a wall), an exact simulation of at most that many ticks followed by the bound from
 * the state reached. Under the usual limits that covers a whole stop, so the axis still brakes
 * onto a wall exactly; longer stops (slow limits) are decided by the bound alone.
 *
 * <p><b>Why a checked state never becomes a halt.</b> The bound is conservative and need not shrink
 * along a stop, so a state reached by braking may fail it although its stop is safe. The filter
 * therefore remembers whether the committed state is {@link #verified}: it passed a check, or it
 * was reached by braking from a verified state. The braking policy is state feedback on (v, a)
 * only, and checks, plans and commits all step with one arithmetic ({@link #step}), so braking from
 * a verified state follows, bit for bit, the tail of the stop that was bounded: it stays inside the
 * box and the velocity limit. So when no candidate jerk passes the check but the state is verified,
 * the filter brakes and reports it as braking for workspace or velocity (a clamp); by induction from
 * a state at rest in the box every emitted setpoint respects every limit. Only a state never
 * verified (limits changed under a moving robot) is {@link #notViable}, a halt. Infinite bounds
 * (lo = -inf, hi = +inf) are fine: the checks compare finite positions against them.
 *
 * <p><b>Per tick</b>: clamp the target into the box; if the jerk that reaches it exactly breaks no
 * limit, this tick or (with the target extrapolated) the next, use it; otherwise follow it with a
 * jerk-limited tracking law (braking-distance velocity profile plus the target's own velocity,
 * linear near the target so it settles exactly instead of chattering). Clamp that jerk to the
 * instantaneous jerk, acceleration and velocity bounds, and if the result is not viable, bisect
 * towards the braking jerk for the viable jerk nearest the wanted one. Each step records why it had
 * to intervene.
 *
 * <p>Allocation-free, and at most 26 viability checks per tick, each at most
 * {@link #EXACT_PREFIX_STEPS} simulated ticks. Confined to the control-loop thread; not thread-safe.
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
  /**
   * Most ticks of a stop simulated exactly when the closed-form bound from the state itself does
   * not admit it (near a wall); the bound then decides from the state reached.
   */
  static final int EXACT_PREFIX_STEPS = 160;

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

  // The last boundBraking(): excursions up and down from the start, and the peak speed (read by tests).
  double boundForward;
  double boundBackward;
  double boundPeakSpeed;
  /** The last boundBraking()'s estimate of the stop's duration, seconds (linear tail left out). */
  private double boundTime;

  /**
   * Whether the committed state is known to be viable: it passed a viability check, or it was
   * reached by braking from such a state (the tail of a stop that was checked).
   */
  boolean verified;
  private boolean plannedVerified;

  /** Braking ticks simulated by viability checks since construction; for tests (bounded per plan). */
  long brakingSteps;

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
    // The braking policy depends on the limits: a stop checked under the old ones proves nothing.
    verified = viable(p, v, a);
  }

  /** Puts the axis at rest at {@code position}. */
  void reset(double position) {
    p = position;
    v = 0;
    a = 0;
    targetHistory = 0;
    verified = viable(p, 0, 0);
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
    plannedVerified = true;
    if (!feasible || !viableAfter(j)) {
      Cause wantedFailure = feasible ? failCause : Cause.VELOCITY_ABOVE_LIMIT;
      double wantedValue = feasible ? failValue : v;
      double wantedLimit = feasible ? failLimit : vMax;
      double brake = brakeJerk(v, a);
      if (viableAfter(brake)) {
        viabilityCause = wantedFailure;
        viabilityValue = wantedValue;
        viabilityLimit = wantedLimit;
        j = feasible ? bisectTowards(brake, j) : brake;
      } else if (verified) {
        // The bound is conservative and need not shrink along a stop, but this state was checked:
        // braking from it is the rest of a checked stop (the policy depends on v and a only, and
        // commits with the arithmetic it was checked with). A clamp, not a halt.
        viabilityCause = wantedFailure;
        viabilityValue = wantedValue;
        viabilityLimit = wantedLimit;
        j = brake;
      } else {
        // Only after the limits changed under a moving robot: no choice is known to keep every limit.
        notViable = true;
        plannedVerified = false;
        viabilityCause = failCause;
        viabilityValue = failValue;
        viabilityLimit = failLimit;
        j = brake;
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
    verified = plannedVerified;
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
      verified = p >= lo && p <= hi;
      return;
    }
    commit(brakeJerk(v, a));
    if (!verified) {
      // After a halt under changed limits: once the bound admits the stop, it is checked again.
      verified = viable(p, v, a);
    }
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
   * one arithmetic, so braking from a checked state is bit for bit the stop that was checked.
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

  /**
   * Whether braking from this state stops within every limit; sets the failure fields if not. The
   * closed-form bound {@link #boundBraking} first; if it does not admit the stop, an exact prefix of
   * at most {@link #EXACT_PREFIX_STEPS} ticks (the same arithmetic as the commands) and the bound
   * from where it ends: a bounded number of operations whatever the stopping time.
   */
  boolean viable(double position, double velocity, double acceleration) {
    if (position < lo - loSlack || position > hi + hiSlack) {
      return fail(Cause.BRAKING_FOR_WORKSPACE, position, position < lo ? lo : hi);
    }
    if (Math.abs(velocity) > vMax * (1 + ROUNDING)) {
      return fail(Cause.BRAKING_FOR_VELOCITY, velocity, vMax);
    }
    if (boundAdmits(position, velocity, acceleration)) {
      return true;
    }
    if (boundTime > EXACT_PREFIX_STEPS * h) {
      // A stop longer than the prefix (slow limits): simulating part of it would cost the full
      // prefix for every candidate of the bisection (measured: p99 of a tick for 8 robots went
      // from 26 to 380 us) and gain only a fraction of the bound's slack. The bound decides alone.
      return failBound(position);
    }
    // Near a wall the bound's slack (a millimetre at 1 m/s) would make the axis brake early, and
    // the tracking law closes a gap left that way only slowly. So follow the stop exactly for a
    // bounded number of ticks (a whole stop under the usual limits), accepting when it is at rest
    // or when the bound from the state reached, tried after 1, 2, 4, ... ticks, admits the rest:
    // the policy is state feedback stepped with the command arithmetic, so the stop from here is
    // this prefix followed by the stop from that state.
    double x = position;
    double vel = velocity;
    double acc = acceleration;
    for (int n = 0; n < EXACT_PREFIX_STEPS; n++) {
      if (Math.abs(vel) <= REST_VELOCITY && Math.abs(acc) <= REST_ACCELERATION) {
        return true;
      }
      brakingSteps++;
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
      if ((n & (n + 1)) == 0 && boundAdmits(x, vel, acc)) {
        return true;
      }
    }
    if (Math.abs(vel) <= REST_VELOCITY && Math.abs(acc) <= REST_ACCELERATION) {
      return true;
    }
    return boundAdmits(x, vel, acc) || failBound(x);
  }

  /** Sets the failure fields from the last boundBraking(), made from {@code position}. */
  private boolean failBound(double position) {
    if (boundPeakSpeed > vMax * (1 + ROUNDING)) {
      return fail(Cause.BRAKING_FOR_VELOCITY, boundPeakSpeed, vMax);
    }
    if (position + boundForward > hi) {
      return fail(Cause.BRAKING_FOR_WORKSPACE, position + boundForward, hi);
    }
    return fail(Cause.BRAKING_FOR_WORKSPACE, position - boundBackward, lo);
  }

  /** Whether the closed-form bound alone shows that the stop from this state keeps every limit. */
  private boolean boundAdmits(double position, double velocity, double acceleration) {
    boundBraking(velocity, acceleration, position);
    return boundPeakSpeed <= vMax * (1 + ROUNDING) && position + boundForward <= hi + hiSlack
        && position - boundBackward >= lo - loSlack;
  }

  /**
   * Bounds the stop the {@link #brakeJerk braking policy} makes from (velocity, acceleration) into
   * {@link #boundForward}, {@link #boundBackward} (how far it can move up and down from the start)
   * and {@link #boundPeakSpeed}, in O(1).
   *
   * <p>The model is the policy's own continuous-time trajectory, not the time-optimal stop (the
   * policy releases the brake earlier). Take the main direction s = sign(e), e = v + a|a| / 2J, and
   * u = s v, b = s a. If b > 0 the acceleration first ramps to 0 at jerk -J: b / J seconds, at
   * most max(u, 0) b / J + b^3 / 3J^2 forward, and, if u < 0, at most -u b / J backward (the only
   * backward motion), reaching speed w = u + b^2 / 2J. From (w, 0): the acceleration ramps down at
   * -J while sqrt(2J e) allows, then follows a = -sqrt(2J e), along which e is lost at a / 2 and
   * the jerk is J / 2. With a_p = sqrt(2Jw/3) <= A this is a triangle covering (4/3) w a_p / J;
   * otherwise a plateau at -A until v = A^2 / J, covering w A/J - A^3/6J^2 + ((w - A^2/2J)^2 -
   * A^4/J^2) / 2A + 2A^3/3J^2. A state already braking (b < 0, so u >= e >= 0)
   * with |b| <= min(A, sqrt(2Je)) lies on the ramp from (w, 0): that stop less the ramp behind it,
   * w|b|/J - |b|^3/6J^2. With sqrt(2Je) >= A it is on the plateau: (u^2 - A^4/J^2) / 2A + 2A^3/3J^2.
   * Otherwise it brakes harder than the release curve: jerk +J (which keeps e) for
   * t = (|b| - sqrt(2Je)) / J, covering u t + b t^2/2 + J t^3/6, then the release from e,
   * 2 (2Je)^(3/2) / 3J^2. The linear region of the law near e = 0 (g e < sqrt(2J e), so e < 2J/g^2) is a
   * geometric decay (a quarter of e per tick once the jerk allows), slower than the square-root
   * profile it replaces; it adds 1.5 min(w, 2J/g^2) / g (the decay alone covers 0.75 e / g, doubled
   * for the ticks the jerk limit delays it). The peak speed is w if
   * b > 0, else |v|: the policy never steers the acceleration past the wanted one, so it does not
   * overshoot.
   *
   * <p>Margin for the discrete, rounded trajectory: a quarter tick at the peak speed, 1/10,000 of
   * the distance, and four ulps of the farthest position per tick of the stop. The margin is
   * measured, not derived: over 24,000 stops from random states and limits per build (slow limits
   * included; 320,000 more once with other seeds), and from states along those stops, the exact
   * tick-by-tick stop never went further, faster or along a longer path than this bound; at its
   * closest it used all but 1.3e-4 of it (AxisFilterTest#theClosedFormBoundCoversTheExactStop).
   */
  void boundBraking(double velocity, double acceleration, double position) {
    double e = velocity + acceleration * Math.abs(acceleration) / (2 * jMax);
    double s = e > 0 || (e == 0 && velocity >= 0) ? 1 : -1;
    double u = s * velocity;
    double b = s * acceleration;
    double w = Math.max(0, u + b * b / (2 * jMax));
    double forward = 0;
    double backward = 0;
    double time = 0;
    if (b > 0) {
      forward = Math.max(u, 0) * b / jMax + b * b * b / (3 * jMax * jMax);
      backward = u < 0 ? -u * b / jMax : 0;
      time = b / jMax;
    }
    double ap = Math.sqrt(2 * jMax * w / 3);
    if (ap <= aMax) {
      forward += 4.0 / 3 * w * ap / jMax;
      time += 3 * ap / jMax;
    } else {
      double a2j = aMax * aMax / jMax;
      double cruise = w - a2j / 2;
      forward += w * aMax / jMax - aMax * a2j / (6 * jMax) + (cruise * cruise - a2j * a2j) / (2 * aMax)
          + 2 * aMax * a2j / (3 * jMax);
      time += w / aMax + 1.5 * aMax / jMax;
    }
    if (b < 0) {
      // Already braking: the stop from (w, 0) above counts the ramp from there down to b as well,
      // millimetres at speed, which would make the axis brake early. Take the policy from here.
      double release = Math.sqrt(2 * jMax * Math.max(0, u - b * b / (2 * jMax)));
      double nb = -b;
      if (nb <= Math.min(aMax, release)) {
        // On the ramp from (w, 0) (|b| <= sqrt(2Je) means |b| <= a_p): that stop minus the ramp behind.
        forward -= w * nb / jMax - nb * nb * nb / (6 * jMax * jMax);
      } else if (release >= aMax) {
        // On the plateau (or past it by rounding): at -A until v = A^2 / J, then the release.
        double a2j = aMax * aMax / jMax;
        forward = (u * u - a2j * a2j) / (2 * aMax) + 2 * aMax * a2j / (3 * jMax);
      } else {
        // Braking harder than the release curve: jerk +J (e stays) up to it, then the release.
        double t = (nb - release) / jMax;
        forward = u * t + b * t * t / 2 + jMax * t * t * t / 6 + 2 * release * release * release / (3 * jMax * jMax);
      }
      forward = Math.max(0, forward);
    }
    double linearEntry = 2 * jMax / (velocityGain * velocityGain);
    forward += 1.5 * Math.min(w, linearEntry) / velocityGain;
    double peak = b > 0 ? Math.max(w, Math.abs(velocity)) : Math.abs(velocity);
    double ticks = time / h + 1_000;
    double rounding = 4 * ticks * Math.ulp(Math.abs(position) + forward + backward);
    forward = forward * (1 + 1e-4) + 0.25 * peak * h + rounding;
    backward = backward > 0 ? backward * (1 + 1e-4) + 0.25 * peak * h + rounding : rounding;
    if (s > 0) {
      boundForward = forward;
      boundBackward = backward;
    } else {
      boundForward = backward;
      boundBackward = forward;
    }
    boundPeakSpeed = peak;
    boundTime = time;
  }

  /**
   * Upper bound on the path length (sum of |position steps|) the axis travels if it brakes from its
   * current state to rest: used where motion is bounded by something other than this axis's box
   * (the orientation workspace couples the angular axes). O(1); finite for a finite state, whatever
   * the box (infinite bounds included).
   */
  double brakingTravelBound() {
    boundBraking(v, a, p);
    return boundForward + boundBackward;
  }

  /** {@link #brakingTravelBound()} from the state this tick's {@code jerk} would lead to. */
  double brakingTravelBoundAfter(double jerk) {
    step(p, v, a, jerk);
    boundBraking(stepVelocity, stepAcceleration, stepPosition);
    return boundForward + boundBackward;
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

  private boolean fail(Cause cause, double value, double limit) {
    failCause = cause;
    failValue = value;
    failLimit = limit;
    return false;
  }
}
