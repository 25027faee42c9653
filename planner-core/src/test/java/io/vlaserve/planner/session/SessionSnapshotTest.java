package io.vlaserve.planner.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.planner.PlannedSubgoal;
import io.vlaserve.planner.PlannedTask;
import io.vlaserve.planner.PlanningRequest;
import io.vlaserve.planner.SubgoalFailure;
import io.vlaserve.planner.session.SessionEffect.Ended;
import io.vlaserve.planner.session.SessionEffect.Hold;
import io.vlaserve.planner.session.SessionEffect.Instruct;
import io.vlaserve.planner.session.SessionEffect.OpenExecution;
import io.vlaserve.planner.session.SessionEffect.OpenPolicy;
import io.vlaserve.planner.session.SessionEffect.Replan;
import io.vlaserve.planner.session.SessionEffect.ReportSubgoal;
import io.vlaserve.planner.session.SessionEffect.SendPlan;
import io.vlaserve.planner.session.SessionMachine.BridgeHold;
import io.vlaserve.planner.session.SessionMachine.Phase;
import io.vlaserve.planner.session.SessionMachine.Restored;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * A session snapshotted on one replica and restored on another, each with its own clock whose
 * origin differs by far more than any budget. Budgets as in {@link SessionMachineTest}: MOVE 1.5 s,
 * GRASP 3 s, LIFT 0.6 s.
 */
class SessionSnapshotTest {
  private static final List<String> SKILLS = List.of("move to the red block", "grasp the red block", "lift the block");
  private static final Duration STEP = Duration.ofMillis(100);
  private static final PlannedSubgoal MOVE = new PlannedSubgoal("move to the red block", 10);
  private static final PlannedSubgoal GRASP = new PlannedSubgoal("grasp the red block", 20);
  private static final PlannedSubgoal LIFT = new PlannedSubgoal("lift the block", 4);
  private static final SessionSettings SETTINGS = new SessionSettings(2, 1.5, Duration.ofSeconds(5));

  private static final class TestClock implements LongSupplier {
    long nanos;

    TestClock(long origin) {
      nanos = origin;
    }

    void advance(Duration by) {
      nanos += by.toNanos();
    }

    @Override
    public long getAsLong() {
      return nanos;
    }
  }

  private final TestClock first = new TestClock(987_654_321L);
  private final TestClock second = new TestClock(-4_000_000_000_000L);

  private SessionMachine running(PlannedSubgoal... plan) {
    SessionMachine machine = new SessionMachine(SETTINGS, first);
    machine.admitted("arm-1", "pick up the red block", "a red block");
    machine.started(new PlannedTask(List.of(plan), "scripted", ""), SKILLS, STEP, BridgeHold.NONE);
    return machine;
  }

  private static SessionSnapshot snapshot(SessionMachine machine) {
    return machine.snapshot("sess-1", 0, "").orElseThrow();
  }

  @Nested
  class Taking {
    @Test
    void aRunningSessionKeepsItsProgressAndWhatIsLeftOfItsBudget() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.gripperObserved(0.8);
      first.advance(Duration.ofMillis(400));

      SessionSnapshot snapshot = snapshot(machine);

      assertEquals("sess-1", snapshot.sessionId());
      assertEquals("arm-1", snapshot.robotId());
      assertEquals(0, snapshot.connectionEpoch());
      assertEquals(Phase.RUNNING, snapshot.phase());
      assertEquals("pick up the red block", snapshot.task());
      assertEquals("a red block", snapshot.scene());
      assertEquals(SKILLS, snapshot.skills());
      assertEquals(STEP, snapshot.stepPeriod());
      assertEquals(0, snapshot.revision());
      assertEquals(machine.plan(), snapshot.plan());
      assertEquals(0, snapshot.subgoalIndex());
      assertEquals(List.of(), snapshot.completed());
      assertEquals(2, snapshot.lastSubgoalId());
      assertEquals(1, snapshot.attempt());
      assertEquals(1, snapshot.instructionEpoch());
      assertFalse(snapshot.halted());
      assertEquals(0.8, snapshot.lastGripper());
      assertEquals(Duration.ofMillis(1100), snapshot.budgetLeft());
      assertEquals(Duration.ofMillis(400), snapshot.elapsed());
      assertEquals("", snapshot.failureReason());
    }

    @Test
    void aHaltedRobotsBudgetStandsStillSinceItsHalt() {
      SessionMachine machine = running(MOVE);
      first.advance(Duration.ofMillis(500));
      machine.halt();
      first.advance(Duration.ofSeconds(10));

      SessionSnapshot snapshot = snapshot(machine);

      assertTrue(snapshot.halted());
      assertEquals(Duration.ofSeconds(1), snapshot.budgetLeft());
    }

    @Test
    void aBudgetThatRanOutIsLeftAsZero() {
      SessionMachine machine = running(MOVE);
      machine.policyLost("UNAVAILABLE");
      first.advance(Duration.ofSeconds(2));
      assertEquals(Duration.ZERO, snapshot(machine).budgetLeft());
    }

    @Test
    void aReplanningSessionKeepsHowItsSubgoalFailed() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.signalled("1", false, "block slipped");

      SessionSnapshot snapshot = snapshot(machine);

      assertEquals(Phase.REPLANNING, snapshot.phase());
      assertEquals(1, snapshot.replansUsed());
      assertEquals(2, snapshot.instructionEpoch());
      assertEquals("the robot reported failure: block slipped", snapshot.failureReason());
    }

    @Test
    void thereIsNothingToSnapshotBeforeTheFirstPlanNorOnceTheSessionEnded() {
      SessionMachine opening = new SessionMachine(SETTINGS, first);
      opening.admitted("arm-1", "pick up the red block", "");
      assertTrue(opening.snapshot("sess-1", 0, "").isEmpty());

      SessionMachine ended = running(MOVE);
      ended.cancelled("done for today");
      assertTrue(ended.snapshot("sess-1", 0, "").isEmpty());
    }

    @Test
    void aSnapshotMustBeOfARunningOrReplanningSessionWithItsSubgoalInThePlan() {
      SessionSnapshot valid = snapshot(running(MOVE));
      IllegalArgumentException ended = assertThrows(IllegalArgumentException.class,
          () -> withPhase(valid, Phase.ENDED));
      assertEquals("phase: ENDED (expected RUNNING or REPLANNING)", ended.getMessage());
      IllegalArgumentException index = assertThrows(IllegalArgumentException.class,
          () -> new SessionSnapshot("s", "r", 0, Phase.RUNNING, "t", "", SKILLS, STEP, 0, valid.plan(), 1, List.of(),
              0, 1, 1, 1, false, Double.NaN, Duration.ZERO, Duration.ZERO, "", ""));
      assertEquals("subgoalIndex: 1 (expected 0..0)", index.getMessage());
      IllegalArgumentException trace = assertThrows(IllegalArgumentException.class,
          () -> new SessionSnapshot("s", "r", 0, Phase.RUNNING, "t", "", SKILLS, STEP, 0, valid.plan(), 0, List.of(),
              0, 1, 1, 1, false, Double.NaN, Duration.ZERO, Duration.ZERO, "", "00-not-a-trace"));
      assertEquals("traceParent: '00-not-a-trace' (expected \"\" or a W3C traceparent, 00-<32 hex>-<16 hex>-<2 hex>)",
          trace.getMessage());
    }

    private static SessionSnapshot withPhase(SessionSnapshot s, Phase phase) {
      return new SessionSnapshot(s.sessionId(), s.robotId(), s.connectionEpoch(), phase, s.task(), s.scene(),
          s.skills(), s.stepPeriod(), s.revision(), s.plan(), s.subgoalIndex(), s.completed(), s.replansUsed(),
          s.lastSubgoalId(), s.attempt(), s.instructionEpoch(), s.halted(), s.lastGripper(), s.budgetLeft(),
          s.elapsed(), s.failureReason(), s.traceParent());
    }
  }

  @Nested
  class Restoring {
    @Test
    void aRunningSessionGoesOnWithTheSameSubgoalAndOnlyReopensItsLinks() {
      SessionMachine machine = running(MOVE, GRASP);
      first.advance(Duration.ofMillis(400));

      Restored restored = SessionMachine.restore(snapshot(machine), SETTINGS, second);

      assertEquals(List.of(new OpenExecution(), new OpenPolicy(MOVE.instruction())), restored.effects());
      SessionMachine again = restored.machine();
      assertEquals(Phase.RUNNING, again.phase());
      assertEquals(machine.subgoal(), again.subgoal());
      assertEquals(machine.plan(), again.plan());
      assertEquals(0, again.revision());
      assertEquals(1, again.instructionEpoch());
      assertTrue(again.executes(1));
      assertEquals(second.nanos + 1_100_000_000L, again.budgetDeadlineNanos());
    }

    @Test
    void theRestoredSubgoalCountsItsTimeBeforeTheMoveAndTheNextOneFollowsOnWithFreshIds() {
      SessionMachine machine = running(MOVE, GRASP);
      first.advance(Duration.ofMillis(400));
      SessionMachine again = SessionMachine.restore(snapshot(machine), SETTINGS, second).machine();
      second.advance(Duration.ofMillis(100));

      List<SessionEffect> effects = again.signalled("1", true, "");

      assertEquals(List.of(
          new ReportSubgoal("1", ReportSubgoal.Status.COMPLETED, 1, 5, Duration.ofMillis(500), ""),
          new Instruct(GRASP.instruction()),
          new ReportSubgoal("2", ReportSubgoal.Status.STARTED, 1, 0, Duration.ZERO, "")), effects);
      assertEquals(2, again.instructionEpoch());
      assertEquals(List.of(MOVE), again.completed());
    }

    @Test
    void theRestoredSubgoalTimesOutWhenWhatWasLeftOfItsBudgetRunsOut() {
      SessionMachine machine = running(MOVE);
      first.advance(Duration.ofMillis(1400));
      SessionMachine again = SessionMachine.restore(snapshot(machine), SETTINGS, second).machine();

      second.advance(Duration.ofMillis(100));
      assertEquals(List.of(), again.tick());
      second.advance(Duration.ofMillis(1));
      List<SessionEffect> effects = again.tick();

      assertEquals(ReportSubgoal.Status.TIMED_OUT, ((ReportSubgoal) effects.get(0)).status());
      assertEquals(Phase.REPLANNING, again.phase());
      assertEquals(1, again.replans());
    }

    @Test
    void aHaltedRobotIsToldHowToGoOnAndExecutionOpensAtItsResume() {
      SessionMachine machine = running(MOVE);
      first.advance(Duration.ofMillis(500));
      machine.halt();

      Restored restored = SessionMachine.restore(snapshot(machine), SETTINGS, second);

      assertEquals(List.of(
          new Hold("robot arm-1 was halted when its session was resumed; once the cell is safe, send `resume` and the"
              + " task goes on"),
          new OpenPolicy(MOVE.instruction())), restored.effects());
      SessionMachine again = restored.machine();
      assertTrue(again.halted());
      assertFalse(again.acceptsObservations());
      second.advance(Duration.ofSeconds(30));
      assertEquals(List.of(), again.tick());

      assertEquals(List.of(new OpenExecution()), again.resumed());
      assertEquals(second.nanos + 1_000_000_000L, again.budgetDeadlineNanos());
      assertTrue(again.acceptsObservations());
    }

    @Test
    void aReplanningSessionAsksForTheSameReplanAgainAndAdoptsItsPlanAsBefore() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.gripperObserved(0.3);
      machine.signalled("1", false, "block slipped");

      Restored restored = SessionMachine.restore(snapshot(machine), SETTINGS, second);

      assertEquals(List.of(
          new OpenExecution(),
          new OpenPolicy(MOVE.instruction()),
          new Replan(new PlanningRequest("pick up the red block", "a red block", SKILLS, List.of(),
              new SubgoalFailure(MOVE, "the robot reported failure: block slipped"), 0.3))), restored.effects());
      SessionMachine again = restored.machine();
      assertEquals(Phase.REPLANNING, again.phase());
      assertFalse(again.acceptsObservations());

      List<SessionEffect> effects = again.replanned(new PlannedTask(List.of(MOVE, LIFT), "scripted", "again"));

      SendPlan plan = (SendPlan) effects.get(0);
      assertEquals(1, plan.revision());
      assertEquals("subgoal 1 'move to the red block' the robot reported failure: block slipped; again",
          plan.reason());
      assertEquals(List.of("3", "4"), plan.subgoals().stream().map(SessionSubgoal::id).toList());
      assertEquals(3, again.instructionEpoch());
    }

    @Test
    void theReplansUsedBeforeTheMoveStillCount() {
      SessionMachine machine = new SessionMachine(new SessionSettings(1, 1.5, Duration.ofSeconds(5)), first);
      machine.admitted("arm-1", "pick up the red block", "");
      machine.started(new PlannedTask(List.of(MOVE), "scripted", ""), SKILLS, STEP, BridgeHold.NONE);
      machine.signalled("1", false, "");
      machine.replanned(new PlannedTask(List.of(MOVE), "scripted", ""));
      SessionMachine again = SessionMachine.restore(snapshot(machine), new SessionSettings(1, 1.5,
          Duration.ofSeconds(5)), second).machine();

      List<SessionEffect> effects = again.signalled("2", false, "");

      Ended ended = (Ended) effects.get(1);
      assertEquals(SessionEnding.Cause.SUBGOAL_FAILED, ended.ending().cause());
      assertEquals(1, ended.replans());
    }

    @Test
    void theSessionsElapsedTimeGoesOnFromTheSnapshot() {
      SessionMachine machine = running(MOVE);
      first.advance(Duration.ofMillis(700));
      SessionMachine again = SessionMachine.restore(snapshot(machine), SETTINGS, second).machine();
      second.advance(Duration.ofMillis(300));

      Ended ended = (Ended) again.cancelled("enough").get(0);

      assertEquals(Duration.ofSeconds(1), ended.elapsed());
    }

    @Test
    void aRestoredSessionCanBeSnapshottedAgainTheSame() {
      SessionMachine machine = running(MOVE, GRASP);
      first.advance(Duration.ofMillis(400));
      SessionSnapshot snapshot = snapshot(machine);

      SessionMachine again = SessionMachine.restore(snapshot, SETTINGS, second).machine();

      assertEquals(snapshot, snapshot(again));
    }
  }
}
