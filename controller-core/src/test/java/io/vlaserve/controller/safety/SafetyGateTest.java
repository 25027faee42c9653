package io.vlaserve.controller.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.CartesianPose;
import io.vlaserve.controller.SetpointChecker;
import io.vlaserve.controller.TestLimits;
import io.vlaserve.controller.trajectory.Quaternions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SafetyGateTest {
  private static final double H = 1e-3;
  private SafetyLimits limits = TestLimits.tabletop();
  private SafetyEventLog log;
  private SafetyGate gate;
  private SetpointChecker checker;
  private final List<SafetyEvent> events = new ArrayList<>();
  private final CartesianPose start = new CartesianPose().set(0.5, 0, 0.2, 0, 0, 0, 1, 1);
  private long now;

  @BeforeEach
  void setUp() {
    build(TestLimits.tabletop());
  }

  private void build(SafetyLimits newLimits) {
    limits = newLimits;
    log = new SafetyEventLog("sim-0", 1024);
    gate = new SafetyGate(H, limits, log);
    gate.reset(start);
    checker = new SetpointChecker(H, limits);
    checker.restart(start);
    events.clear();
  }

  /** Filters one request and checks the output; returns whether the gate halted. */
  private boolean step(CartesianPose request) {
    now += 1_000_000;
    boolean halted = gate.filter(request, now, now / 1_000_000, 1);
    assertNull(checker.check(gate.output()));
    log.drain(events::add);
    return halted;
  }

  /** A velocity that rises smoothly from 0 to {@code top} over {@code ticks} ticks (smoothstep). */
  private static double ramp(double top, int tick, int ticks) {
    double u = Math.min(1, tick / (double) ticks);
    return top * u * u * (3 - 2 * u);
  }

  private static CartesianPose at(double x, double y, double z) {
    return new CartesianPose().set(x, y, z, 0, 0, 0, 1, 1);
  }

  @Test
  void aReachableTargetPassesUnchanged() {
    double x = 0.5;
    for (int i = 1; i <= 100; i++) {
      x += ramp(0.05, i, 50) * H;
      assertFalse(step(at(x, 0, 0.2)));
      assertEquals(x, gate.output().position(0), 1e-12);
    }
    assertTrue(events.isEmpty(), events.toString());
  }

  @Test
  void nonFiniteHaltsAndIsNeverEmitted() {
    step(at(0.50001, 0, 0.2));
    events.clear();
    assertTrue(step(at(Double.NaN, 0, 0.2)));
    assertTrue(gate.braking());
    assertEquals(SafetyEventKind.NON_FINITE, events.get(0).kind());
    assertEquals(SafetyAction.HALT, events.get(0).action());
    assertEquals("The reference position x is not finite (NaN); the robot never receives it. Decelerating to a hold;"
        + " Resume required.", events.get(0).message());
    for (int i = 0; i < 200; i++) {
      step(at(Double.POSITIVE_INFINITY, 1e300, -1e300));
    }
    assertTrue(gate.atRest());
    assertEquals(1, events.size(), "the halt is reported once, the braking is not");
  }

  @Test
  void aJumpIsClampedAsOneEpisodeAndReachedSmoothly() {
    for (int i = 0; i < 1000; i++) {
      step(at(0.55, 0, 0.2));
    }
    assertEquals(0.55, gate.output().position(0), 1e-9, "reached the target");
    assertTrue(gate.atRest());
    assertEquals(SafetyEventKind.VELOCITY, events.get(0).kind(), "first the 50 m/s step is refused");
    assertEquals(50, events.get(0).requested(), 1e-9);
    assertTrue(events.stream().allMatch(e -> e.action() == SafetyAction.CLAMP && e.axis() == Axis.X));
    assertTrue(events.size() <= 4, "one event per limit that starts binding, not per tick: " + events);
  }

  @Test
  void haltModeStopsWithinTheLimitsInsteadOfClamping() {
    build(TestLimits.tabletop().withAllModes(LimitMode.HALT));
    // Cruise at 0.5 m/s along y (ramped up within limits), then ask for a jump.
    double y = 0;
    for (int i = 0; i < 300; i++) {
      y += ramp(0.5, i, 200) * H;
      assertFalse(step(at(0.5, y, 0.2)), "tick " + i + " " + events);
    }
    assertTrue(step(at(0.5, y + 0.1, 0.2)));
    assertEquals(SafetyEventKind.VELOCITY, events.get(0).kind());
    assertEquals(SafetyAction.HALT, events.get(0).action());
    for (int i = 0; i < 500; i++) {
      step(at(0.5, 0, 0.2));
    }
    assertTrue(gate.atRest(), "decelerated to a hold within acceleration and jerk limits");
    assertEquals(1, events.size());
  }

  @Test
  void brakesEarlyRatherThanLeaveTheWorkspace() {
    // Full speed towards z = 0.35 with a target far beyond it.
    double z = 0.2;
    for (int i = 0; i < 600; i++) {
      z += 1.0 * H;
      step(at(0.5, 0, z));
      assertTrue(gate.output().position(2) <= 0.35);
    }
    assertEquals(0.35, gate.output().position(2), 1e-9);
    assertTrue(events.stream().anyMatch(e -> e.kind() == SafetyEventKind.WORKSPACE), events.toString());
  }

  @Test
  void aRotationStepRampsUpWithinTheAngularLimitsAndIsReported() {
    double[] q = new double[4];
    Quaternions.fromRollPitchYaw(0, 0, 1.0, q);
    CartesianPose turned = at(0.5, 0, 0.2);
    System.arraycopy(q, 0, turned.orientation, 0, 4);
    step(turned);
    double[] out = new double[4];
    gate.output().copyOrientation(out);
    // One tick after rest the rotation rate can be at most acceleration x tick.
    double firstAngle = Quaternions.angleBetween(start.orientation, out);
    assertTrue(firstAngle <= limits.maxAngularAcceleration().max() * H * H * (1 + 1e-9), "turned " + firstAngle);
    assertEquals(SafetyEventKind.ROTATION_RATE, events.get(0).kind());
    assertEquals(1000, events.get(0).requested(), 1e-9);
    for (int i = 0; i < 2000; i++) {
      step(turned);
    }
    gate.output().copyOrientation(out);
    assertEquals(0, Quaternions.angleBetween(q, out), 1e-9, "reached, within every limit (checked each tick)");
  }

  @Test
  void aHaltFromFullAngularSpeedBrakesWithinTheAngularAccelerationLimit() {
    // Yaw at 90% of the per-axis rate limit, then halt.
    double rate = 0.9 * limits.maxAngularVelocity().max() / Math.sqrt(3);
    double yaw = 0;
    double[] q = new double[4];
    for (int i = 0; i < 500; i++) {
      yaw += ramp(rate, i, 300) * H;
      Quaternions.fromRollPitchYaw(0, 0, yaw, q);
      CartesianPose turning = at(0.5, 0, 0.2);
      System.arraycopy(q, 0, turning.orientation, 0, 4);
      step(turning);
    }
    double[] before = new double[4];
    double[] after = new double[4];
    gate.output().copyOrientation(after);
    gate.startBraking();
    double previousRate = rate;
    double worstDeceleration = 0;
    int ticks = 0;
    while (!gate.atRest() && ticks < 10_000) {
      System.arraycopy(after, 0, before, 0, 4);
      now += 1_000_000;
      gate.brake(now, now / 1_000_000);
      assertNull(checker.check(gate.output()));
      gate.output().copyOrientation(after);
      double currentRate = Quaternions.angleBetween(before, after) / H;
      worstDeceleration = Math.max(worstDeceleration, (previousRate - currentRate) / H);
      previousRate = currentRate;
      ticks++;
    }
    assertTrue(gate.atRest(), "stopped");
    assertTrue(ticks > 10, "a stop from " + rate + " rad/s is not instantaneous: " + ticks + " ticks");
    assertTrue(worstDeceleration <= limits.maxAngularAcceleration().max() * (1 + 1e-6),
        "deceleration " + worstDeceleration + " rad/s^2");
  }

  @Test
  void theToolAxisStaysInsideItsConeAndATargetOutsideIsTurnedBack() {
    build(limits.withRotation(limits.maxAngularAcceleration(), limits.maxAngularJerk(),
        limits.maxGripperAcceleration(), new OrientationLimit(new io.vlaserve.controller.Vector3(0, 0, 1),
            new io.vlaserve.controller.Vector3(0, 0, 1), 0.5, LimitMode.CLAMP)));
    // Ask for a 1.2 rad roll: 0.7 rad beyond the cone.
    double[] q = new double[4];
    Quaternions.fromRollPitchYaw(1.2, 0, 0, q);
    CartesianPose tilted = at(0.5, 0, 0.2);
    System.arraycopy(q, 0, tilted.orientation, 0, 4);
    for (int i = 0; i < 3000; i++) {
      step(tilted);
    }
    assertTrue(events.stream().anyMatch(e -> e.kind() == SafetyEventKind.ORIENTATION_WORKSPACE
        && e.axis() == Axis.TOOL), events.toString());
    double[] out = new double[4];
    gate.output().copyOrientation(out);
    double[] tool = new double[3];
    Quaternions.rotate(out, 0, 0, 1, tool);
    double tilt = Math.acos(tool[2]);
    assertTrue(tilt <= 0.5 + 1e-9, "tilt " + tilt);
    assertTrue(tilt > 0.44, "settles near the edge, at the band's inner edge: " + tilt);
    // Yaw about the tool axis is free.
    Quaternions.fromRollPitchYaw(0, 0, 1.0, q);
    System.arraycopy(q, 0, tilted.orientation, 0, 4);
    for (int i = 0; i < 3000; i++) {
      step(tilted);
    }
    gate.output().copyOrientation(out);
    assertFalse(gate.braking(), events.toString());
    assertEquals(0, Quaternions.angleBetween(q, out), 1e-9);
  }

  @Test
  void gripperIsKeptInRangeAndRateAndAccelerationLimited() {
    CartesianPose request = at(0.5, 0, 0.2);
    request.gripper = 1.7;
    step(request);
    assertEquals(1, gate.output().gripper(), 0);
    assertEquals(Cause.GRIPPER_OUT_OF_RANGE.kind(), events.get(0).kind());
    request.gripper = -3;
    step(request);
    assertEquals(1 - limits.maxGripperAcceleration().max() * H * H, gate.output().gripper(), 1e-12,
        "from rest, the first tick may only accelerate");
    assertTrue(events.stream().anyMatch(e -> e.kind() == SafetyEventKind.GRIPPER_RATE));
    for (int i = 0; i < 1000; i++) {
      step(request);
    }
    assertEquals(0, gate.output().gripper(), 0, "closed, never below 0 (checked each tick)");
  }

  /**
   * Approaching a bound at 0 (the closed gripper, or a wall at z = 0), the tracking law's
   * exponential tail reaches the denormal range, where a state judged at rest could carry a
   * velocity pointing past 0 by far more than the distance left: every choice then looked
   * non-viable and the gate halted (1 halt in ~100 random gripper sequences before).
   */
  @Test
  void closingOnABoundAtZeroNeverHaltsSpuriously() {
    build(new SafetyLimits(new io.vlaserve.controller.Vector3(0.25, -0.30, 0.0),
        new io.vlaserve.controller.Vector3(0.75, 0.30, 0.35), LimitMode.CLAMP, limits.maxLinearVelocity(),
        limits.maxLinearAcceleration(), limits.maxLinearJerk(), limits.maxAngularVelocity(), limits.maxGripperRate(),
        limits.watchdogTimeout(), limits.maxAngularAcceleration(), limits.maxAngularJerk(),
        limits.maxGripperAcceleration(), limits.orientationWorkspace()));
    java.util.SplittableRandom random = new java.util.SplittableRandom(1);
    for (int trial = 0; trial < 300; trial++) {
      build(limits);
      double gripper = random.nextDouble();
      double z = 0.2;
      for (int i = 0; i < 2000; i++) {
        if (random.nextInt(150) == 0) {
          double r = random.nextDouble();
          gripper = r < 0.4 ? 0 : r < 0.8 ? 1 : random.nextDouble();
          z = random.nextBoolean() ? 0 : random.nextDouble(0, 0.3);
        }
        CartesianPose request = at(0.5, 0, z);
        request.gripper = gripper;
        int trialNumber = trial;
        int tick = i;
        assertFalse(step(request), () -> "trial " + trialNumber + " tick " + tick + ": " + events);
      }
    }
  }

  @Test
  void tighterLimitsUnderAMovingRobotHaltWithinTheNewOnes() {
    double x = 0.5;
    for (int i = 0; i < 300; i++) {
      x += ramp(0.8, i, 250) * H;
      step(at(x, 0, 0.2));
    }
    SafetyLimits slow = new SafetyLimits(limits.workspaceMin(), limits.workspaceMax(), LimitMode.CLAMP,
        AxisLimit.clamp(0.2), limits.maxLinearAcceleration(), limits.maxLinearJerk(), limits.maxAngularVelocity(),
        limits.maxGripperRate(), limits.watchdogTimeout(), limits.maxAngularAcceleration(), limits.maxAngularJerk(), limits.maxGripperAcceleration(), limits.orientationWorkspace());
    gate.setLimits(slow);
    now += 1_000_000;
    assertTrue(gate.filter(at(x + 0.0008, 0, 0.2), now, now / 1_000_000, 1), "0.8 m/s is not viable under a 0.2 m/s limit");
    log.drain(events::add);
    assertEquals(SafetyAction.HALT, events.get(events.size() - 1).action());
    for (int i = 0; i < 500; i++) {
      gate.brake(now += 1_000_000, now / 1_000_000);
    }
    assertTrue(gate.atRest());
  }
}
