package io.vlaserve.controller;

import static io.vlaserve.controller.ControllerHarness.repeat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.LimitMode;
import io.vlaserve.controller.safety.SafetyAction;
import io.vlaserve.controller.safety.SafetyEvent;
import io.vlaserve.controller.safety.SafetyEventKind;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class RobotControllerTest {
  private static final long MS = 1_000_000;
  private static final long T = 100 * MS;
  private static final ExecutionSettings DEFAULT = ExecutionSettings.DEFAULT;
  /** 0.1 m/s along x for ten steps. */
  private static final double[][] FORWARD = repeat(10, 0.01, 0, 0, 0, 0, 0, 1);

  private static double speed(ExecutionSnapshot state) {
    return state.commandedSpeed();
  }

  @Test
  void takesControlAtTheMeasuredPoseAndFollowsAChunk() {
    ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
    h.tick();
    ExecutionSnapshot idle = h.state();
    assertTrue(idle.ready);
    assertEquals(ExecutionMode.IDLE, idle.mode);
    assertEquals(0.5, idle.commanded.position[0], 1e-12);

    ChunkVerdict verdict = h.submit(7, 0, T, DEFAULT, FORWARD);
    assertTrue(verdict.accepted());
    assertEquals(0, verdict.skippedSteps());
    h.run(0.55);
    ExecutionSnapshot moving = h.state();
    assertEquals(ExecutionMode.EXECUTING, moving.mode);
    assertEquals(7, moving.chunkId);
    assertEquals(5, moving.stepIndex);
    // Started one tick after submission; the crossfade from the hold is complete by now.
    assertEquals(0.5 + 0.1 * 0.549, h.measured()[0], 1e-9);
    assertEquals(0.1, speed(moving), 1e-6);
    assertNull(h.firstViolation);
    assertTrue(h.events.isEmpty(), h.events.toString());
  }

  @Nested
  class HaltLatency {
    @Test
    void aHaltTakesEffectOnTheVeryNextTick() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      h.submit(1, 0, T, DEFAULT, FORWARD);
      h.run(0.4);
      double before = speed(h.state());
      assertEquals(0.1, before, 1e-6);
      h.submit(2, 0, T, DEFAULT, FORWARD);
      h.controller.requestHalt(false, "operator pressed stop");
      long haltTick = h.ticks + 1;
      h.tick();
      assertEquals(ExecutionMode.HALTED, h.state().mode, "halted within one tick");
      assertFalse(h.lastFollowed(), "the chunk's reference is no longer followed");
      assertTrue(speed(h.state()) < before, "already decelerating");
      SafetyEvent halt = h.events(SafetyEventKind.HALT).get(0);
      assertEquals(haltTick, halt.tick());
      assertEquals(SafetyAction.HALT, halt.action());
      assertEquals("Halt requested: operator pressed stop. Decelerating to a hold; Resume required.", halt.message());

      // Decelerates to a hold within the limits, and the pending chunk 2 never starts.
      double previous = speed(h.state());
      for (int i = 0; i < 300; i++) {
        h.tick();
        double now = speed(h.state());
        assertTrue(now <= previous + 1e-12, "speed never rises while stopping");
        previous = now;
      }
      assertEquals(0, previous, 0);
      assertEquals(1, h.state().chunkId);
      assertNull(h.firstViolation);
    }

    @Test
    void anEmergencyStopStopsSetpointsOnTheNextTick() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      h.submit(1, 0, T, DEFAULT, FORWARD);
      h.run(0.3);
      long sent = h.sim().commands();
      h.controller.requestHalt(true, "light curtain");
      h.tick();
      assertEquals(ExecutionMode.ESTOPPED, h.state().mode);
      assertFalse(h.lastSent());
      assertEquals(sent, h.sim().commands(), "no setpoint after the e-stop");
      assertTrue(h.sim().holding());
      assertEquals(h.ticks, h.events(SafetyEventKind.ESTOP).get(0).tick());
      h.run(0.1);
      assertEquals(sent, h.sim().commands());
    }

    @Test
    void anEmergencyStopNeedsAConfirmedResume() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      h.controller.requestHalt(true, "test");
      h.tick();
      ChunkVerdict refused = h.submit(1, 0, T, DEFAULT, FORWARD);
      assertEquals(ChunkVerdict.Rejection.HALTED, refused.rejection());
      assertEquals("robot sim-0 is e-stopped; call Resume with confirm_estop_reset before sending chunks",
          refused.message());
      ControllerStateException e = assertThrows(ControllerStateException.class, () -> h.controller.resume(false));
      assertTrue(e.getMessage().contains("confirm_estop_reset=true"), e.getMessage());
      h.controller.resume(true);
      h.tick();
      assertEquals(ExecutionMode.IDLE, h.state().mode);
      assertTrue(h.lastSent());
      assertTrue(h.submit(2, 0, T, DEFAULT, FORWARD).accepted());
    }

    @Test
    void afterAHaltChunksAreRefusedUntilResume() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      h.submit(1, 0, T, DEFAULT, FORWARD);
      h.run(0.3);
      h.controller.requestHalt(false, "");
      h.run(0.3);
      assertEquals(ChunkVerdict.Rejection.HALTED, h.submit(2, 0, T, DEFAULT, FORWARD).rejection());
      h.controller.resume(false);
      h.tick();
      assertEquals(ExecutionMode.IDLE, h.state().mode);
      double x = h.measured()[0];
      assertTrue(h.submit(3, 0, T, DEFAULT, FORWARD).accepted());
      h.run(0.5);
      assertEquals(ExecutionMode.EXECUTING, h.state().mode);
      assertTrue(h.measured()[0] > x + 0.03);
      assertNull(h.firstViolation);
    }
  }

  @Nested
  class Watchdog {
    @Test
    void aChunkThatRunsOutIsBridgedThenDeceleratedToAHoldWithinTheAccelerationLimit() {
      SafetyLimits limits = TestLimits.tabletop();
      ControllerHarness h = new ControllerHarness(limits);
      h.tick();
      h.submit(1, 0, T, DEFAULT, repeat(3, 0.02, 0, 0, 0, 0, 0, 1));
      List<Double> speeds = new ArrayList<>();
      long fired = -1;
      for (int i = 0; i < 700; i++) {
        h.tick();
        speeds.add(speed(h.state()));
        if (fired < 0 && !h.events(SafetyEventKind.WATCHDOG).isEmpty()) {
          fired = h.ticks;
        }
      }
      // The chunk starts at tick 2 and ends 300 ms later; the watchdog allows 50 ms more.
      SafetyEvent watchdog = h.events(SafetyEventKind.WATCHDOG).get(0);
      assertEquals(SafetyAction.HOLD, watchdog.action());
      assertEquals(2 + 300 + 51, fired);
      assertEquals(0.2, speeds.get((int) fired - 10), 1e-6, "bridging: still at the final velocity");
      assertEquals(ExecutionMode.HOLDING, h.state().mode);
      // From the watchdog on: speed falls monotonically to exactly zero, never faster than the
      // acceleration limit allows (0.2 m/s at 10 m/s^2 takes at least 20 ms).
      int stoppedAt = -1;
      for (int i = (int) fired; i < speeds.size(); i++) {
        assertTrue(speeds.get(i) <= speeds.get(i - 1) + 1e-12);
        assertTrue(speeds.get(i - 1) - speeds.get(i) <= limits.maxLinearAcceleration().max() * 1e-3 * (1 + 1e-6));
        if (stoppedAt < 0 && speeds.get(i) == 0) {
          stoppedAt = i;
        }
      }
      assertTrue(stoppedAt - fired >= 20, "took " + (stoppedAt - fired) + " ms");
      assertNull(h.firstViolation, h.firstViolation);
      assertEquals(1, h.events.size(), h.events.toString());

      assertTrue(h.submit(2, 0, T, DEFAULT, FORWARD).accepted(), "a fresh chunk resumes");
      h.run(0.2);
      assertEquals(ExecutionMode.EXECUTING, h.state().mode);
    }

    @Test
    void aRequestedHoldStopsWithinTheLimitsWithoutAnEvent() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      h.submit(1, 0, T, DEFAULT, FORWARD);
      h.run(0.3);
      h.controller.requestHold();
      h.run(0.2);
      assertEquals(ExecutionMode.HOLDING, h.state().mode);
      assertEquals(0, speed(h.state()), 0);
      assertTrue(h.events.isEmpty());
      assertNull(h.firstViolation);
      assertTrue(h.submit(2, 0, T, DEFAULT, FORWARD).accepted(), "no Resume needed");
    }

    @Test
    void aChunkArrivingWithinTheTimeoutContinuesWithoutAStop() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      h.submit(1, 0, T, DEFAULT, repeat(3, 0.01, 0, 0, 0, 0, 0, 1));
      h.run(0.33);
      h.submit(2, 0, T, DEFAULT, FORWARD);
      h.run(0.3);
      assertTrue(h.events(SafetyEventKind.WATCHDOG).isEmpty());
      assertEquals(0.1, speed(h.state()), 1e-6);
    }
  }

  @Nested
  class LatencyCompensation {
    @Test
    void stepsAlreadyPastOnArrivalAreSkipped() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      // Three steps along +x the policy meant for the past, then five along +y.
      double[][] steps = new double[8][];
      for (int i = 0; i < 8; i++) {
        steps[i] = i < 3 ? new double[] {0.01, 0, 0, 0, 0, 0, 1} : new double[] {0, 0.01, 0, 0, 0, 0, 1};
      }
      long submitted = h.now();
      // Steps 0 and 1 are over; step 2 is 60% over, so it is skipped too.
      ChunkVerdict verdict = h.submit(4, 260 * MS, T, DEFAULT, steps);
      assertEquals(3, verdict.skippedSteps());
      assertEquals(260 * MS, verdict.observationAgeNanos());

      // Step 3 is due 40 ms after arrival: until then the robot holds.
      while (h.now() < submitted + 40 * MS - h.period) {
        h.tick();
        assertEquals(ExecutionMode.IDLE, h.state().mode);
      }
      h.tick();
      ExecutionSnapshot started = h.state();
      assertEquals(ExecutionMode.EXECUTING, started.mode);
      assertEquals(3, started.stepIndex);
      h.run(0.5);
      double[] position = h.measured();
      assertEquals(0.5, position[0], 1e-12, "the skipped +x steps are never executed");
      assertEquals(0.05, position[1], 1e-6, "the five remaining +y steps are");
      assertEquals(8, h.state().stepIndex);
      assertNull(h.firstViolation);
    }

    @Test
    void aStepLessThanHalfOverStillRunsInFullFromArrival() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      double[][] steps = {{0.01, 0, 0, 0, 0, 0, 1}, {0, 0.01, 0, 0, 0, 0, 1}};
      ChunkVerdict verdict = h.submit(1, 40 * MS, T, DEFAULT, steps);
      assertEquals(0, verdict.skippedSteps(), "40 ms of a 100 ms step: the policy's first step still runs");
      h.tick();
      assertEquals(ExecutionMode.EXECUTING, h.state().mode);
      assertEquals(0, h.state().stepIndex);
      h.run(0.5);
      double[] position = h.measured();
      assertEquals(0.51, position[0], 1e-6, "the first step is executed in full");

      ChunkVerdict late = h.submit(2, 60 * MS, T, DEFAULT, steps);
      assertEquals(1, late.skippedSteps(), "60 ms of a 100 ms step: more than half over, skipped");
      assertNull(h.firstViolation);
    }

    @Test
    void lateOutOfOrderAndFutureChunksAreRefusedWithReasons() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      ChunkVerdict late = h.submit(1, 1200 * MS, T, DEFAULT, repeat(8, 0.01, 0, 0, 0, 0, 0, 1));
      assertEquals(ChunkVerdict.Rejection.ALL_STEPS_PAST, late.rejection());
      assertEquals("all 8 steps are in the past: the observation is 1200.0 ms old and the chunk covers 800.0 ms"
          + " (reduce the policy's latency or send longer chunks)", late.message());

      assertTrue(h.submit(2, 10 * MS, T, DEFAULT, FORWARD).accepted());
      ChunkVerdict stale = h.submit(3, 60 * MS, T, DEFAULT, FORWARD);
      assertEquals(ChunkVerdict.Rejection.OUT_OF_ORDER, stale.rejection());
      assertEquals("chunk 3 answers an observation 50.0 ms older than chunk 2, already accepted; out-of-order chunks"
          + " are dropped", stale.message());

      ChunkVerdict future = h.submit(4, -200 * MS, T, DEFAULT, FORWARD);
      assertEquals(ChunkVerdict.Rejection.INVALID, future.rejection());
      assertTrue(future.message().startsWith("observation_time: 200.0 ms in the future"), future.message());
    }

    @Test
    void aNewerChunkSupersedesOneThatHasNotStartedYet() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      assertTrue(h.submit(1, 20 * MS, T, DEFAULT, FORWARD).accepted());
      assertTrue(h.submit(2, 0, T, DEFAULT, repeat(10, 0, 0.01, 0, 0, 0, 0, 1)).accepted());
      h.run(0.5);
      assertEquals(2, h.state().chunkId);
      assertEquals(1, h.state().chunksActivated);
      assertEquals(1, h.state().chunksDropped);
      assertEquals(0.5, h.measured()[0], 1e-12);
    }
  }

  @Nested
  class Seams {
    /** Runs chunks every 200 ms whose velocities disagree; returns the sent positions. */
    private ControllerHarness runAlternatingChunks(ExecutionSettings settings) {
      ControllerHarness h = new ControllerHarness(TestLimits.wide());
      h.tick();
      double[][] directions = {{0.02, 0, 0}, {-0.01, 0.015, 0}, {0.015, 0.01, -0.005}, {0, -0.02, 0.01}};
      for (int c = 0; c < 8; c++) {
        double[] d = directions[c % directions.length];
        h.submit(c + 1, 0, T, settings, repeat(10, d[0], d[1], d[2], 0, 0, 0.05, 1));
        h.run(0.2);
      }
      assertNull(h.firstViolation);
      return h;
    }

    /** Largest change of velocity between consecutive ticks (m/s) after the first chunk took over. */
    private double largestVelocityStep(ControllerHarness h) {
      double largest = 0;
      for (int i = 300; i < h.sent.size(); i++) {
        for (int axis = 0; axis < 3; axis++) {
          double v1 = (h.sent.get(i)[axis] - h.sent.get(i - 1)[axis]) / 1e-3;
          double v0 = (h.sent.get(i - 1)[axis] - h.sent.get(i - 2)[axis]) / 1e-3;
          largest = Math.max(largest, Math.abs(v1 - v0));
        }
      }
      return largest;
    }

    private double largestPositionStep(ControllerHarness h) {
      double largest = 0;
      for (int i = 1; i < h.sent.size(); i++) {
        for (int axis = 0; axis < 3; axis++) {
          largest = Math.max(largest, Math.abs(h.sent.get(i)[axis] - h.sent.get(i - 1)[axis]));
        }
      }
      return largest;
    }

    @Test
    void withoutBlendingVelocityJumpsAtEverySeam() {
      ControllerHarness h = runAlternatingChunks(new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.NONE));
      assertTrue(largestPositionStep(h) < 0.2e-3 + 1e-9, "position stays continuous (anchored at the commanded pose)");
      assertTrue(largestVelocityStep(h) > 0.1, "velocity jumps by " + largestVelocityStep(h) + " m/s in one tick");
    }

    @Test
    void blendedSeamsAreContinuousInPositionAndVelocity() {
      for (ExecutionSettings settings : List.of(
          new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.crossfade(Duration.ofMillis(100))),
          new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.exponential(0.5)),
          new ExecutionSettings(Interpolation.CUBIC, Blending.exponential(0.1)))) {
        ControllerHarness h = runAlternatingChunks(settings);
        // No jump. (Blending two diverging trajectories briefly moves faster than either: the
        // weight's rate times their distance adds to the velocity.)
        assertTrue(largestPositionStep(h) < 1e-3, settings + ": position step " + largestPositionStep(h));
        // A continuous velocity changes per 1 ms tick by acceleration * 1 ms (here under 30 m/s^2);
        // without blending it jumps by more than 0.1 m/s within a single tick.
        assertTrue(largestVelocityStep(h) < 0.03, settings + ": velocity step " + largestVelocityStep(h));
      }
    }

    /**
     * As {@link #runAlternatingChunks}, but each chunk continues a committed prefix of one step and
     * arrives on time, so it is spliced 100 ms after its observation.
     */
    private ControllerHarness runAlternatingContinuations(Interpolation interpolation) {
      ControllerHarness h = new ControllerHarness(TestLimits.wide());
      h.tick();
      double[][] directions = {{0.02, 0, 0}, {-0.01, 0.015, 0}, {0.015, 0.01, -0.005}, {0, -0.02, 0.01}};
      for (int c = 0; c < 8; c++) {
        double[] d = directions[c % directions.length];
        ChunkVerdict verdict = h.submitContinuation(c + 1, 0, 1, T,
            new ExecutionSettings(interpolation, Blending.NONE), repeat(9, d[0], d[1], d[2], 0, 0, 0.05, 1));
        assertTrue(verdict.accepted(), verdict.message());
        // Off the previous chunk's step grid: a seam mid-segment must be as smooth as one at a waypoint.
        h.run(0.2137);
      }
      assertNull(h.firstViolation);
      assertEquals(8, h.state().chunksSpliced);
      return h;
    }

    @Test
    void splicedSeamsAreContinuousInPositionAndVelocity() {
      ControllerHarness h = runAlternatingContinuations(Interpolation.MINIMUM_JERK);
      assertTrue(largestPositionStep(h) < 1e-3, "position step " + largestPositionStep(h));
      assertTrue(largestVelocityStep(h) < 0.03, "velocity step " + largestVelocityStep(h));
    }

    @Test
    void aSpliceIsAsSmoothAsACrossfadeWithoutAveragingTwoIntentions() {
      double naive = runAlternatingChunks(new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.NONE))
          .checker.maxJerk();
      double crossfade = runAlternatingChunks(
          new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.crossfade(Duration.ofMillis(100)))).checker.maxJerk();
      double splice = runAlternatingContinuations(Interpolation.MINIMUM_JERK).checker.maxJerk();
      // Deterministic (manual clock): here 300,000 (none), 1,539 (crossfade) and 995 m/s^3 (splice).
      assertTrue(splice * 10 < naive, "splice " + splice + " vs none " + naive + " m/s^3");
      assertTrue(splice <= crossfade, "splice " + splice + " vs crossfade " + crossfade + " m/s^3");
    }

    @Test
    void blendingCutsTheJerkAtSeamsByAnOrderOfMagnitude() {
      double naive = runAlternatingChunks(new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.NONE))
          .checker.maxJerk();
      double crossfade = runAlternatingChunks(
          new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.crossfade(Duration.ofMillis(100)))).checker.maxJerk();
      double ensemble = runAlternatingChunks(
          new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.exponential(0.5))).checker.maxJerk();
      assertTrue(crossfade * 10 < naive, "crossfade " + crossfade + " vs none " + naive + " m/s^3");
      assertTrue(ensemble * 10 < naive, "exponential " + ensemble + " vs none " + naive + " m/s^3");
    }
  }

  /** Real-time chunking: a chunk decoded after a committed prefix of d steps continues where it ends. */
  @Nested
  class CommittedPrefix {
    private static final double[] ALONG_X = {0.01, 0, 0, 0, 0, 0, 1};

    @Test
    void anOnTimeContinuationIsSplicedExactlyWhereItsPrefixEnds() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      assertTrue(h.submit(1, 0, T, DEFAULT, FORWARD).accepted());
      h.run(0.25);
      long observation = h.now() - 30 * MS;
      ChunkVerdict verdict = h.submitContinuation(2, 30 * MS, 3, T, DEFAULT, repeat(7, ALONG_X));
      assertTrue(verdict.accepted(), verdict.message());
      assertEquals(0, verdict.skippedSteps());

      // The prefix's three steps are chunk 1's to run: chunk 2 waits for observation + 3 T.
      while (h.now() < observation + 3 * T - h.period) {
        h.tick();
        assertEquals(1, h.state().chunkId);
        assertEquals(0.1, speed(h.state()), 1e-6);
      }
      h.tick();
      ExecutionSnapshot spliced = h.state();
      assertEquals(2, spliced.chunkId);
      assertEquals(3, spliced.stepIndex, "numbered in the chunk the policy decoded");
      assertEquals(1, spliced.chunksSpliced);
      assertEquals(2, spliced.chunksActivated);
      // The continuation agrees with the motion: spliced on, the robot keeps its speed exactly.
      for (int i = 0; i < 300; i++) {
        h.tick();
        assertEquals(0.1, speed(h.state()), 1e-6);
      }
      assertEquals(6, h.state().stepIndex);
      assertNull(h.firstViolation);
      assertTrue(h.events.isEmpty(), h.events.toString());
    }

    @Test
    void aLateContinuationIsBlendedAndItsPastStepsSkipped() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      assertTrue(h.submit(1, 0, T, DEFAULT, FORWARD).accepted());
      h.run(0.5);
      // The prefix ended 40 ms ago: less than half a step, so nothing is skipped, but the motion has
      // moved on from where the policy continued it; it is blended in like any chunk.
      ChunkVerdict late = h.submitContinuation(2, 340 * MS, 3, T, DEFAULT, repeat(7, ALONG_X));
      assertTrue(late.accepted(), late.message());
      assertEquals(0, late.skippedSteps());
      h.run(0.1);
      assertEquals(2, h.state().chunkId);
      assertEquals(0, h.state().chunksSpliced);
      // 120 ms after the prefix ended, one step (the fourth) is past.
      ChunkVerdict later = h.submitContinuation(3, 420 * MS, 3, T, DEFAULT, repeat(7, ALONG_X));
      assertTrue(later.accepted(), later.message());
      assertEquals(1, later.skippedSteps());
      h.tick(2);
      assertEquals(3, h.state().chunkId);
      assertEquals(4, h.state().stepIndex);
      assertEquals(0, h.state().chunksSpliced);
      assertNull(h.firstViolation);
    }

    @Test
    void aContinuationsPrefixCountsTowardsItsLengthAndItsBlindHorizon() {
      ControllerHarness small = new ControllerHarness(new ControllerConfig("sim-0", 1_000_000, 16, 32, 50 * MS, 1024,
          ControllerConfig.DEFAULT_MAX_BLEND_NANOS, ControllerConfig.DEFAULT_MAX_OPEN_LOOP_NANOS), TestLimits.tabletop());
      small.tick();
      ChunkVerdict tooLong = small.submitContinuation(1, 0, 10, 10 * MS, DEFAULT, repeat(8, ALONG_X));
      assertEquals(ChunkVerdict.Rejection.INVALID, tooLong.rejection());
      assertEquals("steps: 18 counting the committed prefix's 10 (expected: at most 16 per chunk)", tooLong.message());

      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      ChunkVerdict blind = h.submitContinuation(1, 0, 15, T, DEFAULT, repeat(10, ALONG_X));
      assertEquals(ChunkVerdict.Rejection.INVALID, blind.rejection());
      assertTrue(blind.message().startsWith("horizon: 25 steps x 0.100 s = 2.500 s (expected: at most 2.000 s"),
          blind.message());
    }

    @Test
    void continuationsPendingAtOnceEachRunInTurnUntilAWholeChunkSupersedesThem() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      assertTrue(h.submit(1, 0, T, DEFAULT, FORWARD).accepted());
      h.run(0.13);
      // Observed 30 ms ago; its prefix covers 300 ms, so it starts 270 ms from now.
      long second = h.now() - 30 * MS;
      assertTrue(h.submitContinuation(2, 30 * MS, 3, T, DEFAULT, repeat(7, ALONG_X)).accepted());
      h.run(0.1);
      // Observed 100 ms after chunk 2's and told chunk 2 runs from its due time: both must run.
      assertTrue(h.submitContinuation(3, h.now() - (second + 100 * MS), 3, T, DEFAULT, repeat(7, ALONG_X)).accepted());
      while (h.now() < second + 3 * T - h.period) {
        h.tick();
        assertEquals(1, h.state().chunkId);
      }
      h.tick();
      assertEquals(2, h.state().chunkId, "chunk 2 spliced where its prefix ends");
      while (h.now() < second + 4 * T - h.period) {
        h.tick();
        assertEquals(2, h.state().chunkId);
      }
      h.tick();
      assertEquals(3, h.state().chunkId, "then chunk 3, 100 ms later, where its prefix ends");
      assertEquals(2, h.state().chunksSpliced);
      assertEquals(0, h.state().chunksDropped);

      // Two more continuations pending, then a whole chunk for a newer observation: it replaces both.
      long fourth = h.now();
      assertTrue(h.submitContinuation(4, 0, 3, T, DEFAULT, repeat(7, ALONG_X)).accepted());
      h.run(0.05);
      assertTrue(h.submitContinuation(5, h.now() - fourth - 20 * MS, 3, T, DEFAULT, repeat(7, ALONG_X)).accepted());
      assertTrue(h.submit(6, 0, T, DEFAULT, repeat(10, 0, 0.01, 0, 0, 0, 0, 1)).accepted());
      h.run(0.5);
      assertEquals(6, h.state().chunkId);
      assertEquals(2, h.state().chunksDropped, "chunks 4 and 5 never started");
      assertNull(h.firstViolation);
    }

    @Test
    void aHaltDropsAPendingContinuation() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      assertTrue(h.submit(1, 0, T, DEFAULT, FORWARD).accepted());
      h.run(0.2);
      assertTrue(h.submitContinuation(2, 0, 3, T, DEFAULT, repeat(7, ALONG_X)).accepted());
      h.controller.requestHalt(false, "operator");
      h.run(0.5);
      assertEquals(ExecutionMode.HALTED, h.state().mode);
      assertEquals(1, h.state().chunkId, "the continuation never started");
      assertEquals(0, h.state().chunksSpliced);
    }
  }

  @Nested
  class MissedDeadlines {
    @Test
    void skippedSlotsPauseTheTrajectoryInsteadOfJumpingAhead() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      h.submit(1, 0, T, DEFAULT, repeat(5, 0.02, 0, 0, 0, 0, 0, 1));
      h.run(0.2);
      // The loop oversleeps: 7 slots pass without a tick.
      h.clock.advance(7 * h.period);
      h.run(0.1);
      assertTrue(h.events.isEmpty(), "no velocity spike reached the gate: " + h.events);
      assertNull(h.firstViolation);
      assertEquals(0.2, speed(h.state()), 1e-6);
      assertEquals(7 * h.period, h.state().timelineLagNanos, "the chunk runs 7 ms later than planned");
      h.run(1.0);
      assertEquals(ExecutionMode.HOLDING, h.state().mode);
      assertEquals(0, h.state().timelineLagNanos, "re-synchronised once at rest");
    }

    @Test
    void aFreshChunkStartsAtOnceEvenWhileTheTimelineLags() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      h.submit(1, 0, T, DEFAULT, repeat(10, 0.02, 0, 0, 0, 0, 0, 1));
      h.run(0.1);
      // An overloaded host: 300 slots pass without a tick while the chunk executes.
      h.clock.advance(300 * h.period);
      h.tick();
      assertEquals(300 * h.period, h.state().timelineLagNanos);
      h.submit(2, 0, T, DEFAULT, repeat(10, 0, 0.02, 0, 0, 0, 0, 1));
      h.tick(2);
      assertEquals(2, h.state().chunkId, "chunk 2 is due on the loop clock, however far the timeline lags");
      assertNull(h.firstViolation);
    }
  }

  @Nested
  class LimitsAndFaults {
    @Test
    void newLimitsApplyFromTheNextTick() {
      SafetyLimits old = TestLimits.tabletop();
      ControllerHarness h = new ControllerHarness(old);
      h.tick();
      h.submit(1, 0, T, DEFAULT, repeat(10, 0.02, 0, 0, 0, 0, 0, 1));
      h.run(0.3);
      assertEquals(0.2, speed(h.state()), 1e-6);
      assertTrue(h.events.isEmpty(), h.events.toString());
      SafetyLimits slower = new SafetyLimits(old.workspaceMin(), old.workspaceMax(), LimitMode.CLAMP,
          AxisLimit.clamp(0.25), old.maxLinearAcceleration(), old.maxLinearJerk(), old.maxAngularVelocity(),
          old.maxGripperRate(), old.watchdogTimeout(), old.maxAngularAcceleration(), old.maxAngularJerk(), old.maxGripperAcceleration(), old.orientationWorkspace());
      h.controller.setLimits(slower);
      assertEquals(slower, h.controller.limits());
      h.submit(2, 0, T, DEFAULT, repeat(10, 0.04, 0, 0, 0, 0, 0, 1));
      h.checker.setLimits(slower);
      h.run(0.5);
      assertEquals(0.25, speed(h.state()), 1e-6, "0.4 m/s requested, clamped to the new 0.25 m/s");
      assertEquals(SafetyEventKind.VELOCITY, h.events.get(0).kind());
      assertNull(h.firstViolation);
    }

    @Test
    void haltModeLimitsHaltTheRobot() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop().withAllModes(LimitMode.HALT));
      h.tick();
      // 1.5 m/s: over the 1 m/s limit.
      h.submit(1, 0, T, DEFAULT, repeat(10, 0.15, 0, 0, 0, 0, 0, 1));
      h.run(0.3);
      assertEquals(ExecutionMode.HALTED, h.state().mode);
      SafetyEvent event = h.events.get(0);
      assertEquals(SafetyAction.HALT, event.action());
      assertNull(h.firstViolation);
    }

    @Test
    void aDriverFaultMakesTheRobotHoldOnItsOwnUntilResume() {
      ScriptedDriver driver = new ScriptedDriver(0.5, 0, 0.2);
      ControllerHarness h = new ControllerHarness(ControllerConfig.of("arm"), TestLimits.tabletop(), driver);
      h.tick(3);
      driver.failOnSend = true;
      h.tick();
      assertEquals(ExecutionMode.HALTED, h.state().mode);
      assertEquals(List.of("controller fault"), driver.holds);
      SafetyEvent fault = h.events(SafetyEventKind.HALT).get(0);
      assertTrue(fault.message().startsWith("Controller fault: java.lang.IllegalStateException: driver bug"),
          fault.message());
      driver.failOnSend = false;
      long sent = driver.sent;
      h.tick(5);
      assertEquals(sent, driver.sent, "no setpoints until Resume");
      h.controller.resume(false);
      h.tick();
      assertEquals(ExecutionMode.IDLE, h.state().mode);
      assertEquals(sent + 1, driver.sent);
    }

    @Test
    void linkLossHaltsAndResumeWaitsForTheLink() {
      ScriptedDriver driver = new ScriptedDriver(0.5, 0, 0.2);
      ControllerHarness h = new ControllerHarness(ControllerConfig.of("arm"), TestLimits.tabletop(), driver);
      h.tick();
      h.submit(1, 0, T, DEFAULT, FORWARD);
      h.run(0.2);
      driver.alive = false;
      h.tick();
      assertEquals(ExecutionMode.HALTED, h.state().mode);
      assertFalse(h.state().linkAlive);
      assertEquals(List.of("link lost"), driver.holds);
      SafetyEvent loss = h.events(SafetyEventKind.LINK_LOSS).get(0);
      assertEquals(SafetyAction.HALT, loss.action());
      assertEquals(20, loss.limit() * 1e3, 1e-9);
      ControllerStateException refused = assertThrows(ControllerStateException.class, () -> h.controller.resume(false));
      assertTrue(refused.getMessage().contains("Resume once its link is back"), refused.getMessage());
      // The robot held on its own, a little further along.
      driver.state.position[0] += 0.004;
      driver.alive = true;
      h.tick();
      h.controller.resume(false);
      h.tick();
      assertEquals(ExecutionMode.IDLE, h.state().mode);
      assertEquals(driver.state.position[0], h.state().commanded.position[0], 0, "re-synchronised to the robot");
    }

    @Test
    void aRobotThatHasNotReportedIsNotReady() {
      ScriptedDriver driver = new ScriptedDriver(0.5, 0, 0.2);
      driver.reported = false;
      ControllerHarness h = new ControllerHarness(ControllerConfig.of("arm"), TestLimits.tabletop(), driver);
      h.tick(3);
      assertFalse(h.state().ready);
      assertEquals(0, driver.sent);
      assertEquals(ChunkVerdict.Rejection.NOT_READY, h.submit(1, 0, T, DEFAULT, FORWARD).rejection());
      driver.reported = true;
      h.tick();
      assertTrue(h.state().ready);
      assertEquals(1, driver.sent);
    }
  }
}
