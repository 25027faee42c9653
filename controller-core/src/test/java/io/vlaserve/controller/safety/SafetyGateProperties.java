package io.vlaserve.controller.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.CartesianPose;
import io.vlaserve.controller.SetpointChecker;
import io.vlaserve.controller.Vector3;
import io.vlaserve.controller.trajectory.Quaternions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * The gate's guarantees over random and adversarial reference streams: smooth motion, jumps,
 * targets far outside the workspace, huge values, NaN and Inf, spinning orientations and gripper
 * commands out of range, under random limits in clamp or halt mode.
 *
 * <ul>
 *   <li>every setpoint respects every limit (finite differences, as the robot sees them);
 *   <li>every intervention is reported: each run of ticks whose output differs from the request
 *       starts with an event at its first tick, and each halt with a halt event;
 *   <li>a non-finite request always halts and is never emitted.
 * </ul>
 */
public class SafetyGateProperties {
  private static final double H = 1e-3;

  enum Kind { SMOOTH, JUMP, FAR_OUTSIDE, HUGE, NON_FINITE, NOISE, SPIN, GRIPPER }

  record Segment(Kind kind, int ticks, double a, double b, double c) {}

  record Limits(SafetyLimits limits) {
    @Override
    public String toString() {
      return limits.toString();
    }
  }

  @Provide
  Arbitrary<Limits> limits() {
    Arbitrary<LimitMode> mode = Arbitraries.of(LimitMode.class);
    Arbitrary<AxisLimit> velocity = Combinators.combine(Arbitraries.doubles().between(0.05, 3), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> acceleration = Combinators.combine(Arbitraries.doubles().between(0.5, 50), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> jerk = Combinators.combine(Arbitraries.doubles().between(20, 1e5), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> rotation = Combinators.combine(Arbitraries.doubles().between(0.2, 10), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> gripper = Combinators.combine(Arbitraries.doubles().between(0.2, 20), mode).as(AxisLimit::new);
    Arbitrary<SafetyLimits> linear = Combinators.combine(mode, velocity, acceleration, jerk, rotation, gripper)
        .as((workspace, v, a, j, w, g) -> new SafetyLimits(new Vector3(0.25, -0.30, 0.01),
            new Vector3(0.75, 0.30, 0.35), workspace, v, a, j, w, g, Duration.ofMillis(50),
            AxisLimit.clamp(1), AxisLimit.clamp(1), AxisLimit.clamp(1), OrientationLimit.ANY));
    return Combinators.combine(linear, rotationLimits(mode)).as((l, r) -> new Limits(l.withRotation(
        r.angularAcceleration(), r.angularJerk(), r.gripperAcceleration(), r.cone())));
  }

  /** Angular acceleration and jerk, gripper acceleration and a tool cone, each with a random mode. */
  public static Arbitrary<RotationLimits> rotationLimits(Arbitrary<LimitMode> mode) {
    Arbitrary<AxisLimit> angularAcceleration =
        Combinators.combine(Arbitraries.doubles().between(2, 200), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> angularJerk = Combinators.combine(Arbitraries.doubles().between(50, 1e5), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> gripperAcceleration =
        Combinators.combine(Arbitraries.doubles().between(5, 2000), mode).as(AxisLimit::new);
    Arbitrary<OrientationLimit> cone = Arbitraries.oneOf(Arbitraries.just(OrientationLimit.ANY),
        Combinators.combine(Arbitraries.doubles().between(0.3, 3.0), mode).as((tilt, m) ->
            new OrientationLimit(new Vector3(0, 0, 1), new Vector3(0, 0, 1), tilt, m)));
    return Combinators.combine(angularAcceleration, angularJerk, gripperAcceleration, cone).as(RotationLimits::new);
  }

  public record RotationLimits(AxisLimit angularAcceleration, AxisLimit angularJerk, AxisLimit gripperAcceleration,
      OrientationLimit cone) {}

  @Provide
  Arbitrary<List<Segment>> segments() {
    Arbitrary<Segment> segment = Combinators.combine(
        Arbitraries.of(Kind.class),
        Arbitraries.integers().between(1, 250),
        Arbitraries.doubles().between(-1, 1),
        Arbitraries.doubles().between(-1, 1),
        Arbitraries.doubles().between(-1, 1)).as(Segment::new);
    return segment.list().ofMinSize(1).ofMaxSize(12);
  }

  @Property(tries = 200)
  void everySetpointIsWithinTheLimitsAndEveryInterventionIsReported(
      @ForAll("limits") Limits given, @ForAll("segments") List<Segment> segments) {
    SafetyLimits limits = given.limits();
    SafetyEventLog log = new SafetyEventLog("sim-0", 1 << 16);
    SafetyGate gate = new SafetyGate(H, limits, log);
    CartesianPose start = new CartesianPose().set(0.5, 0, 0.2, 0, 0, 0, 1, 0.5);
    gate.reset(start);
    SetpointChecker checker = new SetpointChecker(H, limits);
    checker.restart(start);
    List<SafetyEvent> events = new ArrayList<>();
    CartesianPose request = new CartesianPose().set(start);
    double[] out = new double[4];
    long tick = 0;
    boolean previousDiffered = false;
    int halts = 0;
    int clampRuns = 0;
    for (Segment segment : segments) {
      for (int i = 0; i < segment.ticks(); i++) {
        fill(request, segment, i);
        boolean wasBraking = gate.braking();
        tick++;
        boolean halted = gate.filter(request, tick * 1_000_000, tick, 1);
        int before = events.size();
        log.drain(events::add);
        List<SafetyEvent> now = events.subList(before, events.size());
        SafeSetpoint s = gate.output();
        String problem = checker.check(s);
        assertNull(problem, "tick " + tick + " (" + segment + "): " + problem);
        if (segment.kind() == Kind.NON_FINITE && !wasBraking) {
          assertTrue(halted, "a non-finite request halts");
        }
        if (halted) {
          halts++;
          assertTrue(!now.isEmpty() && now.stream().allMatch(e -> e.action() == SafetyAction.HALT && e.tick() == gate.tick()),
              "a halt is reported at its tick: " + now);
        }
        if (wasBraking) {
          previousDiffered = false;
          if (gate.atRest()) {
            // An operator's Resume: follow references again.
            gate.releaseBrake();
          }
          continue;
        }
        s.copyOrientation(out);
        boolean differs = Math.abs(s.position(0) - request.position[0]) > 1e-12
            || Math.abs(s.position(1) - request.position[1]) > 1e-12
            || Math.abs(s.position(2) - request.position[2]) > 1e-12
            || Math.abs(s.gripper() - request.gripper) > 1e-12
            || orientationDiffers(out, request.orientation);
        if (differs && !previousDiffered && !halted) {
          clampRuns++;
          assertTrue(now.stream().anyMatch(e -> e.tick() == gate.tick()),
              "tick " + tick + ": the gate changed the request without an event (" + segment + ")");
        }
        previousDiffered = differs && !halted;
      }
    }
    assertEquals(0, log.dropped());
    Statistics.label("halted").collect(halts > 0);
    Statistics.label("clamped").collect(clampRuns > 0);
  }

  private static boolean orientationDiffers(double[] emitted, double[] requested) {
    double norm = Quaternions.norm(requested);
    if (!(norm > 0) || !Double.isFinite(norm)) {
      return true;
    }
    double[] unit = {requested[0] / norm, requested[1] / norm, requested[2] / norm, requested[3] / norm};
    return Quaternions.angleBetween(emitted, unit) > 1e-9;
  }

  /** Writes the request of tick {@code i} of {@code segment}, continuing from the previous request. */
  private static void fill(CartesianPose r, Segment segment, int i) {
    double t = i * H;
    switch (segment.kind()) {
      case SMOOTH -> {
        // A sinusoid whose amplitude and frequency may or may not respect the limits.
        double amplitude = 0.001 + 0.05 * Math.abs(segment.a());
        double omega = 1 + 30 * Math.abs(segment.b());
        r.position[0] += amplitude * omega * Math.cos(omega * t) * H;
        r.position[1] += amplitude * omega * Math.sin(omega * t) * H * Math.signum(segment.c());
        r.position[2] += 0.02 * segment.c() * H;
      }
      case JUMP -> {
        if (i == 0) {
          r.position[0] = 0.5 + 0.3 * segment.a();
          r.position[1] = 0.35 * segment.b();
          r.position[2] = 0.18 + 0.2 * segment.c();
        }
      }
      case FAR_OUTSIDE -> {
        r.position[0] = 0.5 + 5 * segment.a();
        r.position[1] = 5 * segment.b();
        r.position[2] = 5 * segment.c();
      }
      case HUGE -> {
        r.position[i % 3] = Math.copySign(1e300, segment.a());
        r.gripper = 1e300 * segment.b();
      }
      case NON_FINITE -> {
        int which = (int) ((segment.a() + 1) * 4) % 8;
        double value = segment.b() > 0.3 ? Double.NaN : segment.b() > -0.3 ? Double.POSITIVE_INFINITY
            : Double.NEGATIVE_INFINITY;
        if (which < 3) {
          r.position[which] = value;
        } else if (which < 7) {
          r.orientation[which - 3] = value;
        } else {
          r.gripper = value;
        }
      }
      case NOISE -> {
        long bits = Double.doubleToLongBits(segment.a() * 1e6 + i * 7919);
        double noise = ((bits * 0x9E3779B97F4A7C15L) >>> 11) * 0x1.0p-53 - 0.5;
        r.position[i % 3] += 0.01 * noise;
      }
      case SPIN -> Quaternions.fromRollPitchYaw(20 * segment.a() * t, 20 * segment.b() * t, 40 * segment.c() * t,
          r.orientation);
      case GRIPPER -> r.gripper = segment.a() * 2;
    }
    sanitizeAfterAdversarial(r, segment.kind());
  }

  /** Adversarial values stay for their segment only: the next segment starts from a sane request. */
  private static void sanitizeAfterAdversarial(CartesianPose r, Kind kind) {
    if (kind == Kind.HUGE || kind == Kind.NON_FINITE || kind == Kind.FAR_OUTSIDE) {
      return;
    }
    for (int k = 0; k < 3; k++) {
      if (!Double.isFinite(r.position[k]) || Math.abs(r.position[k]) > 10) {
        r.position[k] = k == 0 ? 0.5 : k == 1 ? 0 : 0.2;
      }
    }
    double norm = Quaternions.norm(r.orientation);
    if (!Double.isFinite(norm) || norm < 1e-6) {
      r.orientation[0] = 0;
      r.orientation[1] = 0;
      r.orientation[2] = 0;
      r.orientation[3] = 1;
    }
    if (!Double.isFinite(r.gripper) || Math.abs(r.gripper) > 10) {
      r.gripper = 0.5;
    }
  }
}
