package io.vlaserve.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.LimitMode;
import io.vlaserve.controller.safety.OrientationLimit;
import io.vlaserve.controller.safety.SafetyGateProperties;
import io.vlaserve.controller.safety.SafetyAction;
import io.vlaserve.controller.safety.SafetyEvent;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * The whole controller over random and adversarial chunk streams: plausible chunks, jumps, huge
 * deltas, spins, gripper flips, NaN, late, out-of-order and future chunks, under random limits,
 * interpolations and blendings, interleaved with Halt, e-stop and Resume.
 *
 * <ul>
 *   <li>no setpoint the robot receives breaks a limit, and none carries a NaN or Inf;
 *   <li>every intervention is reported: every run of ticks in which the gate changed the reference
 *       starts with an event at that tick, and every halt has one;
 *   <li>a chunk with a non-finite value is refused before it reaches the controller.
 * </ul>
 */
class RobotControllerProperties {
  private static final long MS = 1_000_000;

  enum Kind { NORMAL, JUMP, HUGE, SPIN, GRIPPER_FLIP, NON_FINITE, LATE, OUT_OF_ORDER, FUTURE, HALT, ESTOP, RESUME }

  record Action(Kind kind, int waitTicks, int steps, int periodMs, int ageMs, long seed) {}

  record Setup(SafetyLimits limits, ExecutionSettings settings) {}

  @Provide
  Arbitrary<Setup> setups() {
    Arbitrary<LimitMode> mode = Arbitraries.of(LimitMode.class);
    Arbitrary<AxisLimit> velocity = Combinators.combine(Arbitraries.doubles().between(0.1, 2), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> acceleration = Combinators.combine(Arbitraries.doubles().between(1, 30), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> jerk = Combinators.combine(Arbitraries.doubles().between(50, 1e4), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> rotation = Combinators.combine(Arbitraries.doubles().between(0.5, 6), mode).as(AxisLimit::new);
    Arbitrary<AxisLimit> gripper = Combinators.combine(Arbitraries.doubles().between(0.5, 20), mode).as(AxisLimit::new);
    Arbitrary<Integer> watchdogMs = Arbitraries.integers().between(5, 200);
    Arbitrary<SafetyLimits> linear = Combinators.combine(mode, velocity, acceleration, jerk, rotation, gripper, watchdogMs)
        .as((workspace, v, a, j, w, g, watchdog) -> new SafetyLimits(new Vector3(0.25, -0.30, 0.01),
            new Vector3(0.75, 0.30, 0.35), workspace, v, a, j, w, g, Duration.ofMillis(watchdog),
            AxisLimit.clamp(1), AxisLimit.clamp(1), AxisLimit.clamp(1), OrientationLimit.ANY));
    Arbitrary<SafetyLimits> limits = Combinators.combine(linear, SafetyGateProperties.rotationLimits(mode))
        .as((l, r) -> l.withRotation(r.angularAcceleration(), r.angularJerk(), r.gripperAcceleration(), r.cone()));
    Arbitrary<Blending> blending = Arbitraries.oneOf(
        Arbitraries.just(Blending.NONE),
        Arbitraries.doubles().between(0, 2).map(Blending::exponential),
        Arbitraries.integers().between(10, 300).map(ms -> Blending.crossfade(Duration.ofMillis(ms))));
    Arbitrary<ExecutionSettings> settings = Combinators.combine(Arbitraries.of(Interpolation.class), blending)
        .as(ExecutionSettings::new);
    return Combinators.combine(limits, settings).as(Setup::new);
  }

  @Provide
  Arbitrary<List<Action>> actions() {
    Arbitrary<Action> action = Combinators.combine(
        Arbitraries.of(Kind.class),
        Arbitraries.integers().between(0, 300),
        Arbitraries.integers().between(1, 24),
        Arbitraries.integers().between(20, 200),
        Arbitraries.integers().between(-20, 600),
        Arbitraries.longs()).as(Action::new);
    return action.list().ofMinSize(1).ofMaxSize(14);
  }

  @Property(tries = 120)
  void theRobotNeverReceivesAnUnsafeSetpointAndEveryInterventionIsReported(
      @ForAll("setups") Setup setup, @ForAll("actions") List<Action> actions) {
    ControllerHarness h = new ControllerHarness(setup.limits());
    h.tick();
    long chunkId = 0;
    long lastObservation = h.now();
    int accepted = 0;
    int rejected = 0;
    Set<Long> haltTicks = new HashSet<>();
    ExecutionMode previousMode = ExecutionMode.IDLE;
    for (Action action : actions) {
      for (int i = 0; i < action.waitTicks(); i++) {
        h.tick();
        ExecutionMode mode = h.state().mode;
        if ((mode == ExecutionMode.HALTED || mode == ExecutionMode.ESTOPPED) && mode != previousMode) {
          haltTicks.add(h.ticks);
        }
        previousMode = mode;
      }
      SplittableRandom random = new SplittableRandom(action.seed());
      switch (action.kind()) {
        case HALT -> h.controller.requestHalt(false, "property");
        case ESTOP -> h.controller.requestHalt(true, "property");
        case RESUME -> h.controller.resume(true);
        case NON_FINITE -> {
          List<double[]> steps = steps(Kind.NORMAL, action, random);
          steps.get(random.nextInt(steps.size()))[random.nextInt(7)] =
              random.nextBoolean() ? Double.NaN : Double.NEGATIVE_INFINITY;
          assertThrows(InvalidChunkException.class,
              () -> ActionChunk.of(1, h.now(), action.periodMs() * MS, steps, 128));
        }
        default -> {
          long observation = switch (action.kind()) {
            // Every step more than half over: the last one is the first to count as past.
            case LATE -> h.now() - (long) (((action.steps() - 1) * action.periodMs() + action.periodMs() / 2.0 + 1
                + Math.abs(action.ageMs())) * MS);
            case OUT_OF_ORDER -> lastObservation - (1 + Math.abs(action.ageMs())) * MS;
            case FUTURE -> h.now() + (100 + Math.abs(action.ageMs())) * MS;
            default -> h.now() - Math.max(0, action.ageMs()) * MS;
          };
          ActionChunk chunk = ActionChunk.of(++chunkId, observation, action.periodMs() * MS,
              steps(action.kind(), action, random), 128);
          ChunkVerdict verdict = h.controller.submit(chunk, setup.settings());
          if (verdict.accepted()) {
            accepted++;
            lastObservation = Math.max(lastObservation, observation);
          } else {
            rejected++;
            assertFalse(verdict.message().isEmpty());
          }
          if (action.kind() == Kind.LATE || action.kind() == Kind.FUTURE) {
            assertFalse(verdict.accepted(), action.kind() + " must be refused: " + verdict);
          }
        }
      }
    }
    for (int i = 0; i < 600; i++) {
      h.tick();
      ExecutionMode mode = h.state().mode;
      if ((mode == ExecutionMode.HALTED || mode == ExecutionMode.ESTOPPED) && mode != previousMode) {
        haltTicks.add(h.ticks);
      }
      previousMode = mode;
    }

    assertNull(h.firstViolation, h.firstViolation);
    assertEquals(0, h.controller.events().dropped());
    Set<Long> eventTicks = new HashSet<>();
    for (SafetyEvent event : h.events) {
      eventTicks.add(event.tick());
    }
    long previous = Long.MIN_VALUE;
    for (long tick : h.modifiedTicks) {
      if (tick != previous + 1) {
        assertTrue(eventTicks.contains(tick), "tick " + tick + ": the gate changed the reference silently");
      }
      previous = tick;
    }
    for (long tick : haltTicks) {
      assertTrue(h.events.stream().anyMatch(e -> e.tick() == tick && e.action() == SafetyAction.HALT),
          "halt at tick " + tick + " without a halt event");
    }
    Statistics.label("accepted").collect(accepted > 0);
    Statistics.label("rejected").collect(rejected > 0);
    Statistics.label("intervened").collect(!h.modifiedTicks.isEmpty());
    Statistics.label("halted").collect(!haltTicks.isEmpty());
  }

  private static List<double[]> steps(Kind kind, Action action, SplittableRandom random) {
    List<double[]> steps = new ArrayList<>();
    for (int i = 0; i < action.steps(); i++) {
      double[] step = new double[7];
      for (int d = 0; d < 3; d++) {
        step[d] = random.nextDouble(-0.03, 0.03);
      }
      for (int d = 3; d < 6; d++) {
        step[d] = random.nextDouble(-0.1, 0.1);
      }
      step[6] = random.nextDouble();
      switch (kind) {
        case JUMP -> {
          if (i == 0) {
            step[random.nextInt(3)] = random.nextDouble(-0.4, 0.4);
          }
        }
        case HUGE -> step[random.nextInt(6)] = random.nextBoolean() ? 1e6 : -1e300;
        case SPIN -> step[3 + random.nextInt(3)] = random.nextDouble(-6, 6);
        case GRIPPER_FLIP -> step[6] = i % 2 == 0 ? -3 : 4;
        default -> { }
      }
      steps.add(step);
    }
    return steps;
  }
}
