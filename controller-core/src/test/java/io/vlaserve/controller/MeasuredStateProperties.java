package io.vlaserve.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.driver.MeasuredState;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.safety.SafeSetpoint;
import io.vlaserve.controller.safety.SafetyEventKind;
import io.vlaserve.controller.safety.SafetyLimits;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * The controller against a robot that reports hostile state: NaN and Inf anywhere, a zero or
 * scaled quaternion, a gripper outside 0..1, drift, and link losses, interleaved with chunks,
 * halts and resumes. Whatever it reports, every setpoint it receives respects every limit (the
 * harness checks each one), an unusable report never becomes the state the controller holds, and
 * each run of unusable reports is reported as an INVALID_STATE event and leaves the robot halted.
 */
class MeasuredStateProperties {
  private static final long MS = 1_000_000;

  enum Kind { VALID, DRIFT, NAN_POSITION, INF_ORIENTATION, ZERO_QUATERNION, SCALED_QUATERNION,
    NEARLY_UNIT_QUATERNION, GRIPPER_OUT_OF_RANGE, GRIPPER_NAN, LINK_DOWN, LINK_UP, CHUNK, RESUME, HALT }

  record Action(Kind kind, int ticks, long seed) {}

  /**
   * Follows every setpoint exactly; reports its state through the current corruption, if any. While
   * nobody drives it (before take-over, after a link loss) it may really move: DRIFT.
   */
  static final class HostileRobot implements RobotDriver {
    final MeasuredState state = new MeasuredState();
    Kind corruption = Kind.VALID;
    boolean alive = true;
    long lastReport;
    double drift;
    boolean driven;

    HostileRobot() {
      state.position[0] = 0.5;
      state.position[2] = 0.2;
      state.gripper = 1;
    }

    @Override
    public boolean readState(MeasuredState out) {
      if (corruption == Kind.DRIFT && !driven && drift != 0) {
        state.position[1] = Math.max(-0.25, Math.min(0.25, state.position[1] + drift));
        drift = 0;
      }
      driven = false;
      out.set(state);
      switch (corruption) {
        case NAN_POSITION -> out.position[2] = Double.NaN;
        case INF_ORIENTATION -> out.orientation[1] = Double.POSITIVE_INFINITY;
        case ZERO_QUATERNION -> java.util.Arrays.fill(out.orientation, 0);
        case SCALED_QUATERNION -> {
          for (int i = 0; i < 4; i++) {
            out.orientation[i] *= 1.5;
          }
        }
        case NEARLY_UNIT_QUATERNION -> {
          for (int i = 0; i < 4; i++) {
            out.orientation[i] *= 1.004;
          }
        }
        case GRIPPER_OUT_OF_RANGE -> out.gripper = 1.5;
        case GRIPPER_NAN -> out.gripper = Double.NaN;
        default -> { }
      }
      return true;
    }

    boolean reportsUnusable() {
      return switch (corruption) {
        case NAN_POSITION, INF_ORIENTATION, ZERO_QUATERNION, SCALED_QUATERNION, GRIPPER_OUT_OF_RANGE, GRIPPER_NAN ->
            true;
        default -> false;
      };
    }

    @Override
    public boolean linkAlive(long nowNanos) {
      return alive;
    }

    @Override
    public long stateAgeNanos(long nowNanos) {
      return alive ? 0 : nowNanos - lastReport;
    }

    @Override
    public long linkTimeoutNanos() {
      return 20 * MS;
    }

    @Override
    public void send(SafeSetpoint setpoint) {
      setpoint.copyPosition(state.position);
      setpoint.copyOrientation(state.orientation);
      state.gripper = setpoint.gripper();
      lastReport = setpoint.timeNanos();
      driven = true;
    }

    @Override
    public void hold(String reason) {}
  }

  @Provide
  Arbitrary<List<Action>> actions() {
    Arbitrary<Action> action = Combinators.combine(Arbitraries.of(Kind.class), Arbitraries.integers().between(1, 200),
        Arbitraries.longs()).as(Action::new);
    return action.list().ofMinSize(1).ofMaxSize(16);
  }

  @Property(tries = 150)
  void noReportedStateMakesASetpointUnsafeAndEveryUnusableOneIsReported(@ForAll("actions") List<Action> actions) {
    SafetyLimits limits = TestLimits.tabletop();
    HostileRobot robot = new HostileRobot();
    ControllerHarness h = new ControllerHarness(ControllerConfig.of("hostile"), limits, robot);
    h.tick(); // take control where the harness's checker starts
    long chunkId = 0;
    int unusableRuns = 0;
    boolean unusableBefore = false;
    for (Action action : actions) {
      SplittableRandom random = new SplittableRandom(action.seed());
      switch (action.kind()) {
        case LINK_DOWN -> robot.alive = false;
        case LINK_UP -> robot.alive = true;
        case HALT -> h.controller.requestHalt(false, "property");
        case RESUME -> {
          try {
            h.controller.resume(true);
          } catch (ControllerStateException refused) {
            // Link down or state unusable: refusing is the right answer.
          }
        }
        case CHUNK -> {
          List<double[]> steps = new ArrayList<>();
          for (int i = 0; i < 10; i++) {
            steps.add(new double[] {random.nextDouble(-0.02, 0.02), random.nextDouble(-0.02, 0.02),
                random.nextDouble(-0.01, 0.01), random.nextDouble(-0.1, 0.1), random.nextDouble(-0.1, 0.1),
                random.nextDouble(-0.2, 0.2), random.nextDouble()});
          }
          h.controller.submit(ActionChunk.of(++chunkId, h.now(), 100 * MS, steps, 128), ExecutionSettings.DEFAULT);
        }
        default -> {
          robot.corruption = action.kind();
          robot.drift = random.nextDouble(-0.05, 0.05);
        }
      }
      for (int i = 0; i < action.ticks(); i++) {
        boolean unusable = robot.reportsUnusable();
        h.tick();
        ExecutionSnapshot state = h.state();
        if (unusable && !unusableBefore) {
          unusableRuns++;
        }
        unusableBefore = unusable;
        if (unusable && state.ready) {
          assertTrue(state.mode == ExecutionMode.HALTED || state.mode == ExecutionMode.ESTOPPED,
              "an unusable report leaves the robot halted, not " + state.mode);
        }
        for (double value : state.measured.position) {
          assertTrue(Double.isFinite(value), "an unusable report became the held state");
        }
        double norm = Math.sqrt(state.measured.orientation[0] * state.measured.orientation[0]
            + state.measured.orientation[1] * state.measured.orientation[1]
            + state.measured.orientation[2] * state.measured.orientation[2]
            + state.measured.orientation[3] * state.measured.orientation[3]);
        if (state.ready) {
          assertEquals(1, norm, 1e-12, "the held orientation is a unit quaternion");
          assertTrue(state.measured.gripper >= 0 && state.measured.gripper <= 1);
        }
      }
    }
    h.tick(100);
    assertNull(h.firstViolation, h.firstViolation);
    assertEquals(0, h.controller.events().dropped());
    long invalidEvents = h.events(SafetyEventKind.INVALID_STATE).size();
    if (unusableRuns > 0) {
      assertTrue(invalidEvents >= 1, unusableRuns + " runs of unusable reports, no INVALID_STATE event");
    }
    assertTrue(invalidEvents <= unusableRuns, "one event per run of unusable reports, not per tick: "
        + invalidEvents + " events for " + unusableRuns + " runs");
    assertFalse(h.sent.stream().anyMatch(s -> !Double.isFinite(s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7])));
    Statistics.label("unusable runs").collect(unusableRuns > 0);
  }
}
