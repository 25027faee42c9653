package io.vlaserve.controller;

import static io.vlaserve.controller.ControllerHarness.repeat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.safety.Axis;
import io.vlaserve.controller.safety.Cause;
import io.vlaserve.controller.safety.SafetyAction;
import io.vlaserve.controller.safety.SafetyEvent;
import io.vlaserve.controller.safety.SafetyEventKind;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import java.time.Duration;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The controller's defences against hostile measured state, timing and races (issue 15). */
class RobotControllerHazardTest {
  private static final long MS = 1_000_000;
  private static final long T = 100 * MS;
  private static final ExecutionSettings DEFAULT = ExecutionSettings.DEFAULT;
  private static final double[][] FORWARD = repeat(10, 0.01, 0, 0, 0, 0, 0, 1);

  private static ControllerHarness scripted(ScriptedDriver driver) {
    return new ControllerHarness(ControllerConfig.of("arm"), TestLimits.tabletop(), driver);
  }

  private static ScriptedDriver robotAtCentre() {
    return new ScriptedDriver(0.5, 0, 0.2);
  }

  private static void assertEverySetpointFinite(ControllerHarness h) {
    for (double[] setpoint : h.sent) {
      for (double value : setpoint) {
        assertTrue(Double.isFinite(value), () -> "non-finite setpoint " + java.util.Arrays.toString(setpoint));
      }
    }
  }

  @Nested
  class MeasuredState {
    @Test
    void aZeroQuaternionNeverSeedsTheGate() {
      ScriptedDriver robot = robotAtCentre();
      robot.state.orientation[3] = 0; // an agent that leaves orientation unset
      ControllerHarness h = scripted(robot);
      h.tick(5);
      assertFalse(h.state().ready, "an unusable first state does not take control");
      assertTrue(h.sent.isEmpty());
      SafetyEvent event = h.events(SafetyEventKind.INVALID_STATE).get(0);
      assertEquals(Axis.ROTATION, event.axis());
      assertEquals(0, event.requested());
      assertTrue(event.message().contains("orientation norm"), event.message());
      assertEquals(1, h.events.size(), "reported once per run of unusable states: " + h.events);

      robot.state.orientation[3] = 1;
      h.tick();
      assertTrue(h.state().ready);
      assertEquals(ExecutionMode.HALTED, h.state().mode, "the robot stays halted until an operator resumes");
      h.controller.resume(false);
      h.tick(2);
      assertEquals(ExecutionMode.IDLE, h.state().mode);
      assertEverySetpointFinite(h);
    }

    @Test
    void aNanGripperMidMotionHaltsAndKeepsTheLastValidState() {
      ScriptedDriver robot = robotAtCentre();
      ControllerHarness h = scripted(robot);
      h.tick();
      assertTrue(h.submit(1, 0, T, DEFAULT, FORWARD).accepted());
      h.run(0.2);
      double[] lastValid = h.state().measured.position.clone();
      robot.state.gripper = Double.NaN;
      h.tick();
      assertEquals(ExecutionMode.HALTED, h.state().mode);
      SafetyEvent event = h.events(SafetyEventKind.INVALID_STATE).get(0);
      assertEquals(Axis.GRIPPER, event.axis());
      assertEquals(SafetyAction.HALT, event.action());
      assertTrue(Double.isNaN(event.requested()));
      assertTrue(event.message().contains("gripper = NaN"), event.message());
      h.run(0.3);
      assertEverySetpointFinite(h);
      assertTrue(Double.isFinite(h.state().measured.gripper), "the unusable report never replaced the state");
      assertEquals(lastValid[1], h.state().measured.position[1], 0);
      assertNull(h.firstViolation, h.firstViolation);

      // This robot follows setpoints exactly, so its next report is valid again; report NaN once more.
      robot.state.gripper = Double.NaN;
      h.tick();
      ControllerStateException refused = assertThrows(ControllerStateException.class, () -> h.controller.resume(false));
      assertTrue(refused.getMessage().contains("gripper = NaN"), refused.getMessage());
      h.tick();
      h.controller.resume(false);
      h.tick(2);
      assertEquals(ExecutionMode.IDLE, h.state().mode);
    }

    @Test
    void aNanPositionAfterALinkLossIsNeverResumedTo() {
      ScriptedDriver robot = robotAtCentre();
      ControllerHarness h = scripted(robot);
      h.tick();
      robot.alive = false;
      h.tick();
      assertEquals(ExecutionMode.HALTED, h.state().mode);
      robot.alive = true;
      robot.state.position[2] = Double.POSITIVE_INFINITY;
      h.tick();
      assertThrows(ControllerStateException.class, () -> h.controller.resume(false));
      robot.state.position[2] = 0.2;
      h.tick();
      h.controller.resume(false);
      h.tick(3);
      assertEquals(ExecutionMode.IDLE, h.state().mode);
      assertEverySetpointFinite(h);
      assertEquals(0.2, h.lastSetpoint()[2], 0);
    }

    @Test
    void aNearlyUnitQuaternionIsRenormalised() {
      ScriptedDriver robot = robotAtCentre();
      robot.state.orientation[3] = 1.005;
      ControllerHarness h = scripted(robot);
      h.tick();
      assertTrue(h.state().ready);
      assertEquals(1.0, h.state().measured.orientation[3], 1e-15);
      assertTrue(h.events.isEmpty(), h.events.toString());
    }
  }

  @Nested
  class OpenLoopBounds {
    @Test
    void aChunkLongerThanTheOpenLoopLimitIsRefused() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      ChunkVerdict verdict = h.submit(1, 0, T, DEFAULT, repeat(21, 0.001, 0, 0, 0, 0, 0, 1));
      assertEquals(ChunkVerdict.Rejection.INVALID, verdict.rejection());
      assertTrue(verdict.message().startsWith("horizon: 21 steps x 0.100 s = 2.100 s (expected: at most 2.000 s"),
          verdict.message());
      assertTrue(h.submit(2, 0, T, DEFAULT, repeat(20, 0.001, 0, 0, 0, 0, 0, 1)).accepted(), "2 s is allowed");
    }

    @Test
    void anHourLongCrossfadeIsRefused() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      ExecutionSettings hour = new ExecutionSettings(Interpolation.MINIMUM_JERK,
          Blending.crossfade(Duration.ofHours(1)));
      ChunkVerdict verdict = h.submit(1, 0, T, hour, FORWARD);
      assertEquals(ChunkVerdict.Rejection.INVALID, verdict.rejection());
      assertTrue(verdict.message().startsWith("blend_time: 3600.000 s (expected: at most 0.500 s"), verdict.message());
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> h.controller.config().checkSettings(hour));
      assertEquals(verdict.message(), e.getMessage());
    }

    @Test
    void pendingChunksThatNeverComeDueDoNotDisarmTheWatchdog() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      assertTrue(h.submit(1, 0, T, DEFAULT, repeat(2, 0.01, 0, 0, 0, 0, 0, 1)).accepted());
      // Then, every 10 ms, a chunk observed 40 ms in the future: each supersedes the last before it is due.
      long id = 2;
      for (int i = 0; i < 60; i++) {
        h.run(0.01);
        assertTrue(h.submit(id++, -40 * MS, T, DEFAULT, FORWARD).accepted());
      }
      // The first chunk ran out at 200 ms; the watchdog allows 50 ms more.
      SafetyEvent watchdog = h.events(SafetyEventKind.WATCHDOG).get(0);
      assertEquals(SafetyAction.HOLD, watchdog.action());
      assertTrue(watchdog.tick() <= 2 + 200 + 51, "fired at tick " + watchdog.tick());
      assertEquals(1, h.state().chunkId, "none of the superseding chunks started");
      assertEquals(0, h.state().commandedSpeed(), 0);
      assertNull(h.firstViolation, h.firstViolation);
    }
  }

  @Nested
  class Races {
    @Test
    void aChunkAcceptedWhileAHaltIsAppliedNeverRunsAfterResume() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      assertTrue(h.submit(1, 0, T, DEFAULT, FORWARD).accepted());
      h.run(0.2);
      // The loop applies a halt between the chunk's checks and its publication as pending.
      h.controller.beforePendingPublished = () -> {
        h.controller.requestHalt(false, "operator");
        h.tick();
      };
      assertTrue(h.submit(2, 0, T, DEFAULT, repeat(10, 0, 0.01, 0, 0, 0, 0, 1)).accepted());
      h.controller.beforePendingPublished = null;
      assertEquals(ExecutionMode.HALTED, h.state().mode);
      h.run(0.2);
      h.controller.resume(false);
      h.run(0.5);
      assertEquals(ExecutionMode.IDLE, h.state().mode, "nothing ran after the Resume");
      assertEquals(1, h.state().chunkId);
      assertEquals(0, h.state().commandedSpeed(), 0);
      assertEquals(1, h.state().chunksActivated);
    }
  }

  @Nested
  class OutsideCommands {
    @Test
    void aRefusedSetpointMakesTheRobotHoldOnItsOwnUntilResume() {
      ScriptedDriver robot = robotAtCentre();
      ControllerHarness h = scripted(robot);
      h.tick();
      h.submit(1, 0, T, DEFAULT, FORWARD);
      h.run(0.2);
      h.controller.requestSafetyHalt(Cause.SETPOINT_REFUSED, Axis.NONE, 1.5, 0, "gripper = 1.5: outside 0..1", true);
      h.tick();
      long sent = robot.sent;
      h.run(0.1);
      assertEquals(sent, robot.sent, "no setpoint while the robot holds on its own");
      assertEquals(ExecutionMode.HALTED, h.state().mode);
      assertEquals("gripper = 1.5: outside 0..1", robot.holds.get(robot.holds.size() - 1));
      SafetyEvent event = h.events(SafetyEventKind.SETPOINT_REFUSED).get(0);
      assertEquals("The robot's agent refused a setpoint: gripper = 1.5: outside 0..1; the robot holds on its own."
          + " Resume required.", event.message());
      robot.state.position[0] = 0.52; // where it really stopped
      h.tick();
      h.controller.resume(false);
      h.tick(2);
      assertEquals(ExecutionMode.IDLE, h.state().mode);
      assertEquals(0.52, h.lastSetpoint()[0], 0, "took over from the measured pose");
    }

    @Test
    void aLimitsChangeIsAnAuditedNotice() {
      ControllerHarness h = new ControllerHarness(TestLimits.tabletop());
      h.tick();
      h.controller.setLimits(TestLimits.tabletop(), "watchdog_timeout 50 ms -> 50 ms by operator-7");
      h.tick();
      SafetyEvent event = h.events(SafetyEventKind.LIMITS_CHANGED).get(0);
      assertEquals(SafetyAction.NOTICE, event.action());
      assertEquals("Safety limits changed: watchdog_timeout 50 ms -> 50 ms by operator-7.", event.message());
    }
  }
}
