package io.vlaserve.planner.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import io.vlaserve.planner.session.SessionEffect.PolicyLost;
import io.vlaserve.planner.session.SessionEffect.PolicyRestored;
import io.vlaserve.planner.session.SessionEffect.Replan;
import io.vlaserve.planner.session.SessionEffect.ReportSubgoal;
import io.vlaserve.planner.session.SessionEffect.SendPlan;
import io.vlaserve.planner.session.SessionEnding.Cause;
import io.vlaserve.planner.session.SessionEnding.Outcome;
import io.vlaserve.planner.session.SessionMachine.BridgeHold;
import io.vlaserve.planner.session.SessionMachine.Phase;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Every transition of a session, on a clock the test moves: no threads, no timers, no sleeps.
 * Budgets here: MOVE 10 steps, GRASP 20, LIFT 4, at 100 ms a step and a time factor of 1.5, so
 * 1.5 s, 3 s and 0.6 s.
 */
class SessionMachineTest {
  private static final String ROBOT = "arm-1";
  private static final String TASK = "pick up the red block";
  private static final String SCENE = "a red block, a plate";
  private static final List<String> SKILLS = List.of("move to the red block", "grasp the red block", "lift the block");
  private static final Duration STEP = Duration.ofMillis(100);
  private static final PlannedSubgoal MOVE = new PlannedSubgoal("move to the red block", 10);
  private static final PlannedSubgoal GRASP = new PlannedSubgoal("grasp the red block", 20);
  private static final PlannedSubgoal LIFT = new PlannedSubgoal("lift the block", 4);
  private static final Duration FAILOVER = Duration.ofSeconds(5);

  /** Monotonic nanoseconds that move only when a test says so; the origin is arbitrary, as nanoTime's is. */
  private static final class TestClock implements LongSupplier {
    long nanos = 987_654_321L;

    void advance(Duration by) {
      nanos += by.toNanos();
    }

    @Override
    public long getAsLong() {
      return nanos;
    }
  }

  private final TestClock clock = new TestClock();

  private SessionMachine machine(int maxReplans) {
    SessionMachine machine = new SessionMachine(new SessionSettings(maxReplans, 1.5, FAILOVER), clock);
    machine.admitted(ROBOT, TASK, SCENE);
    return machine;
  }

  /** A machine running the first subgoal of {@code plan}, the bridge ready. */
  private SessionMachine running(int maxReplans, PlannedSubgoal... plan) {
    SessionMachine machine = machine(maxReplans);
    machine.started(plan("first", plan), SKILLS, STEP, BridgeHold.NONE);
    return machine;
  }

  private SessionMachine running(PlannedSubgoal... plan) {
    return running(2, plan);
  }

  private static PlannedTask plan(String rationale, PlannedSubgoal... subgoals) {
    return new PlannedTask(List.of(subgoals), "scripted", rationale);
  }

  private static SessionSubgoal subgoal(int id, PlannedSubgoal planned) {
    return new SessionSubgoal(String.valueOf(id), planned, Duration.ofNanos(Math.round(planned.maxSteps() * 1.5e8)));
  }

  private static ReportSubgoal started(int id, int attempt) {
    return new ReportSubgoal(String.valueOf(id), ReportSubgoal.Status.STARTED, attempt, 0, Duration.ZERO, "");
  }

  private static ReportSubgoal report(int id, ReportSubgoal.Status status, int attempt, Duration elapsed,
      String reason) {
    return new ReportSubgoal(String.valueOf(id), status, attempt, (int) (elapsed.toNanos() / STEP.toNanos()), elapsed,
        reason);
  }

  private Ended ended(Outcome outcome, Cause cause, String reason, boolean tellRobot, int completed, int replans,
      Duration elapsed) {
    return new Ended(new SessionEnding(outcome, cause, reason), tellRobot, completed, replans, elapsed);
  }

  @Nested
  class Opening {
    @Test
    void theFirstPlanOpensExecutionAnnouncesThePlanStartsItsFirstSubgoalAndOpensThePolicy() {
      SessionMachine machine = machine(2);
      assertEquals(Phase.OPENING, machine.phase());
      assertEquals("", machine.instruction());
      assertNull(machine.subgoal());

      List<SessionEffect> effects = machine.started(plan("two steps", MOVE, GRASP), SKILLS, STEP, BridgeHold.NONE);

      assertEquals(List.of(
          new OpenExecution(),
          new SendPlan(0, "scripted", "task start; two steps", List.of(subgoal(1, MOVE), subgoal(2, GRASP))),
          started(1, 1),
          new OpenPolicy(MOVE.instruction())), effects);
      assertEquals(Phase.RUNNING, machine.phase());
      assertEquals(subgoal(1, MOVE), machine.subgoal());
      assertEquals(0, machine.revision());
      assertEquals(1, machine.instructionEpoch());
      assertEquals(clock.nanos + 1_500_000_000L, machine.budgetDeadlineNanos());
      assertTrue(machine.acceptsObservations());
    }

    @Test
    void aPlanWithoutRationaleIsAnnouncedAsTheTaskStart() {
      SessionMachine machine = machine(2);
      SendPlan plan = (SendPlan) machine.started(plan("", MOVE), SKILLS, STEP, BridgeHold.NONE).get(1);
      assertEquals("task start", plan.reason());
    }

    @Test
    void aRobotHeldAtTheBridgeIsToldHowToGoOnAndNothingExecutesUntilItResumes() {
      SessionMachine machine = machine(2);
      List<SessionEffect> effects = machine.started(plan("", MOVE), SKILLS, STEP, BridgeHold.HALTED);
      assertEquals(List.of(
          new SendPlan(0, "scripted", "task start", List.of(subgoal(1, MOVE))),
          started(1, 1),
          new Hold("robot arm-1 is halted at the controller bridge (see its safety events or log); once the cell is"
              + " safe, send `resume` and the task starts"),
          new OpenPolicy(MOVE.instruction())), effects);
      assertTrue(machine.halted());
      assertFalse(machine.acceptsObservations());

      assertEquals(List.of(new OpenExecution()), machine.resumed());
      assertTrue(machine.acceptsObservations());
      assertEquals(List.of(), machine.resumed(), "execution is open already");
    }

    @Test
    void anEStoppedRobotIsToldSo() {
      Hold hold = (Hold) machine(2).started(plan("", MOVE), SKILLS, STEP, BridgeHold.E_STOPPED).get(2);
      assertTrue(hold.reason().startsWith("robot arm-1 is e-stopped at the controller bridge"), hold.reason());
    }

    @Test
    void beforeTheFirstPlanSignalsAndTicksDoNothing() {
      SessionMachine machine = machine(2);
      assertEquals(List.of(), machine.signalled("1", true, ""));
      clock.advance(Duration.ofMinutes(1));
      assertEquals(List.of(), machine.tick());
      assertFalse(machine.acceptsObservations());
      assertEquals(Phase.OPENING, machine.phase());
    }

    @Test
    void aSecondFirstPlanIsIgnored() {
      SessionMachine machine = running(MOVE);
      assertEquals(List.of(), machine.started(plan("", GRASP), SKILLS, STEP, BridgeHold.NONE));
      assertEquals(subgoal(1, MOVE), machine.subgoal());
    }

    @Test
    void aPlanArrivingAfterTheRobotLeftIsIgnored() {
      SessionMachine machine = machine(2);
      clock.advance(Duration.ofSeconds(2));
      assertEquals(List.of(ended(Outcome.CANCELLED, Cause.ROBOT_CANCELLED, "the robot closed its stream", false, 0, 0,
          Duration.ofSeconds(2))), machine.robotLeft("the robot closed its stream"));
      assertEquals(List.of(), machine.started(plan("", MOVE), SKILLS, STEP, BridgeHold.NONE));
      assertEquals(Phase.ENDED, machine.phase());
    }

    @Test
    void aRefusedSessionEndsWithoutEffects() {
      SessionMachine machine = machine(2);
      machine.reject("INVALID_ARGUMENT: no sandwiches");
      assertEquals(new SessionEnding(Outcome.REJECTED, Cause.UNSPECIFIED, "INVALID_ARGUMENT: no sandwiches"),
          machine.ending());
      assertEquals(List.of(), machine.started(plan("", MOVE), SKILLS, STEP, BridgeHold.NONE));
      machine.reject("again");
      assertEquals("INVALID_ARGUMENT: no sandwiches", machine.ending().reason(), "the first ending stays");
    }

    @Test
    void aStepPeriodMustBePositive() {
      assertThrows(IllegalArgumentException.class,
          () -> machine(2).started(plan("", MOVE), SKILLS, Duration.ZERO, BridgeHold.NONE));
    }
  }

  @Nested
  class Subgoals {
    @Test
    void aCompletedSubgoalIsReportedAndTheNextStartsWithItsInstruction() {
      SessionMachine machine = running(MOVE, GRASP);
      clock.advance(Duration.ofMillis(350));
      assertEquals(List.of(
          report(1, ReportSubgoal.Status.COMPLETED, 1, Duration.ofMillis(350), "at the block"),
          new Instruct(GRASP.instruction()),
          started(2, 1)), machine.signalled("1", true, "at the block"));
      assertEquals(subgoal(2, GRASP), machine.subgoal());
      assertEquals(2, machine.instructionEpoch());
      assertEquals(clock.nanos + 3_000_000_000L, machine.budgetDeadlineNanos(), "the new subgoal's budget");
      assertEquals(List.of(MOVE), machine.completed());
    }

    @Test
    void theLastSubgoalCompletedEndsTheSessionSucceeded() {
      SessionMachine machine = running(MOVE, GRASP);
      clock.advance(Duration.ofSeconds(1));
      machine.signalled("1", true, "");
      clock.advance(Duration.ofSeconds(2));
      assertEquals(List.of(
          report(2, ReportSubgoal.Status.COMPLETED, 1, Duration.ofSeconds(2), ""),
          ended(Outcome.SUCCEEDED, Cause.TASK_COMPLETED, "every subgoal completed", true, 2, 0, Duration.ofSeconds(3))),
          machine.signalled("2", true, ""));
      assertEquals(Phase.ENDED, machine.phase());
    }

    @Test
    void aSignalForAnotherSubgoalIsIgnored() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.signalled("1", true, "");
      assertEquals(List.of(), machine.signalled("1", true, "late, for the old subgoal"));
      assertEquals(List.of(), machine.signalled("1", false, "late, for the old subgoal"));
      assertEquals(List.of(), machine.signalled("7", true, "a subgoal never planned"));
      assertEquals(subgoal(2, GRASP), machine.subgoal());
    }

    @Test
    void aFailedSubgoalIsReplannedWithWhatIsDoneAndWhatFailed() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.signalled("1", true, "");
      machine.gripperObserved(0.25);
      clock.advance(Duration.ofMillis(420));
      assertEquals(List.of(
          report(2, ReportSubgoal.Status.FAILED, 1, Duration.ofMillis(420), "the robot reported failure: slipped"),
          new Replan(new PlanningRequest(TASK, SCENE, SKILLS, List.of(MOVE),
              new SubgoalFailure(GRASP, "the robot reported failure: slipped"), 0.25))),
          machine.signalled("2", false, "slipped"));
      assertEquals(Phase.REPLANNING, machine.phase());
      assertEquals(1, machine.replans());
      assertEquals(3, machine.instructionEpoch(), "the failed subgoal's chunks are abandoned");
      assertEquals(GRASP.instruction(), machine.instruction(), "the failed subgoal's, until the new plan");
    }

    @Test
    void aFailureWithoutDetailSaysOnlyThat() {
      SessionMachine machine = running(MOVE);
      ReportSubgoal failed = (ReportSubgoal) machine.signalled("1", false, "").get(0);
      assertEquals("the robot reported failure", failed.reason());
    }

    @Test
    void aReplanWithoutAGripperReadingSaysItIsUnknown() {
      SessionMachine machine = running(MOVE);
      Replan replan = (Replan) machine.signalled("1", false, "").get(1);
      assertTrue(Double.isNaN(replan.request().gripperOpening()));
    }

    @Test
    void theNewPlanIsAnnouncedWithItsReasonAndFreshIdsAndItsFirstSubgoalStarts() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.signalled("1", false, "slipped");
      clock.advance(Duration.ofSeconds(2));
      assertEquals(List.of(
          new SendPlan(1, "scripted", "subgoal 1 'move to the red block' the robot reported failure: slipped; retry",
              List.of(subgoal(3, MOVE), subgoal(4, LIFT))),
          new Instruct(MOVE.instruction()),
          started(3, 1)), machine.replanned(plan("retry", MOVE, LIFT)));
      assertEquals(Phase.RUNNING, machine.phase());
      assertEquals(1, machine.revision());
      assertEquals(List.of(subgoal(3, MOVE), subgoal(4, LIFT)), machine.plan());
      assertEquals(clock.nanos + 1_500_000_000L, machine.budgetDeadlineNanos(), "a fresh budget");
    }

    @Test
    void aNewPlanWithoutRationaleGivesOnlyWhatFailed() {
      SessionMachine machine = running(MOVE);
      machine.signalled("1", false, "");
      SendPlan plan = (SendPlan) machine.replanned(plan("", MOVE)).get(0);
      assertEquals("subgoal 1 'move to the red block' the robot reported failure", plan.reason());
    }

    @Test
    void theAttemptCountsEarlierCompletionsOfTheSameInstruction() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.signalled("1", true, "");
      machine.signalled("2", false, "dropped it");
      List<SessionEffect> effects = machine.replanned(plan("again", MOVE, GRASP));
      assertEquals(started(3, 2), effects.get(2), "MOVE completed once before");
      assertEquals(List.of(
          report(3, ReportSubgoal.Status.COMPLETED, 2, Duration.ZERO, ""),
          new Instruct(GRASP.instruction()),
          started(4, 1)), machine.signalled("3", true, ""), "GRASP failed before, which does not count");
    }

    @Test
    void whileReplanningSignalsAndTicksChangeNothing() {
      SessionMachine machine = running(MOVE);
      machine.signalled("1", false, "");
      assertEquals(List.of(), machine.signalled("1", true, "too late"));
      clock.advance(Duration.ofMinutes(1));
      assertEquals(List.of(), machine.tick(), "no budget runs while replanning");
      assertFalse(machine.acceptsObservations());
    }

    @Test
    void whenTheAllowedReplansAreUsedUpTheNextFailureEndsTheSession() {
      SessionMachine machine = running(2, MOVE);
      machine.signalled("1", false, "a");
      machine.replanned(plan("", MOVE));
      machine.signalled("2", false, "b");
      machine.replanned(plan("", MOVE));
      clock.advance(Duration.ofSeconds(1));
      assertEquals(List.of(
          report(3, ReportSubgoal.Status.FAILED, 1, Duration.ofSeconds(1), "the robot reported failure: c"),
          ended(Outcome.FAILED, Cause.SUBGOAL_FAILED, "subgoal 'move to the red block' the robot reported failure: c,"
              + " and the 2 replan(s) allowed are used up", true, 0, 2, Duration.ofSeconds(1))),
          machine.signalled("3", false, "c"));
      assertEquals(2, machine.replans());
    }

    @Test
    void withNoReplansAllowedTheFirstFailureEndsTheSession() {
      SessionMachine machine = running(0, MOVE);
      Ended ended = (Ended) machine.signalled("1", false, "").get(1);
      assertEquals("subgoal 'move to the red block' the robot reported failure, and the 0 replan(s) allowed are used"
          + " up", ended.ending().reason());
      assertEquals(0, ended.replans());
    }

    @Test
    void aReplanThePlannerCannotMakeEndsTheSession() {
      SessionMachine machine = running(MOVE);
      machine.signalled("1", false, "lost it");
      clock.advance(Duration.ofSeconds(30));
      assertEquals(List.of(ended(Outcome.FAILED, Cause.PLANNER_FAILED, "subgoal 1 'move to the red block' the robot"
          + " reported failure: lost it; replanning failed: no route to the LLM", true, 0, 1, Duration.ofSeconds(30))),
          machine.replanFailed("no route to the LLM"));
    }

    @Test
    void aPlanOrAPlanningFailureNobodyAskedForIsIgnored() {
      SessionMachine machine = running(MOVE);
      assertEquals(List.of(), machine.replanned(plan("", GRASP)));
      assertEquals(List.of(), machine.replanFailed("stale"));
      assertEquals(Phase.RUNNING, machine.phase());
      assertEquals(subgoal(1, MOVE), machine.subgoal());
    }
  }

  @Nested
  class TimeOuts {
    @Test
    void aSubgoalTimesOutAtTheFirstTickPastItsBudgetAndIsReplanned() {
      SessionMachine machine = running(MOVE, GRASP);
      clock.advance(Duration.ofMillis(1500));
      assertEquals(List.of(), machine.tick(), "exactly at the budget it still runs");
      clock.advance(Duration.ofNanos(1));
      String reason = "timed out: its budget of 1.5 s (10 steps x 1.5) ran out";
      assertEquals(List.of(
          report(1, ReportSubgoal.Status.TIMED_OUT, 1, Duration.ofNanos(1_500_000_001L), reason),
          new Replan(new PlanningRequest(TASK, SCENE, SKILLS, List.of(), new SubgoalFailure(MOVE, reason),
              Double.NaN))), machine.tick());
      assertEquals(Phase.REPLANNING, machine.phase());
      SendPlan plan = (SendPlan) machine.replanned(plan("", MOVE)).get(0);
      assertEquals("subgoal 1 'move to the red block' " + reason, plan.reason());
    }

    @Test
    void aTimeOutPastTheAllowedReplansEndsTheSession() {
      SessionMachine machine = running(0, LIFT);
      clock.advance(Duration.ofSeconds(1));
      assertEquals(ended(Outcome.FAILED, Cause.SUBGOAL_FAILED, "subgoal 'lift the block' timed out: its budget of"
          + " 0.6 s (4 steps x 1.5) ran out, and the 0 replan(s) allowed are used up", true, 0, 0,
          Duration.ofSeconds(1)), machine.tick().get(1));
    }

    @Test
    void aHaltStopsTheBudgetAndTheResumeMovesTheDeadlineOnByTheHalt() {
      SessionMachine machine = running(MOVE);
      long deadline = machine.budgetDeadlineNanos();
      clock.advance(Duration.ofSeconds(1));
      assertTrue(machine.halt());
      clock.advance(Duration.ofSeconds(10));
      assertEquals(List.of(), machine.tick(), "no time-out while halted");
      assertEquals(List.of(), machine.resumed());
      assertEquals(deadline + 10_000_000_000L, machine.budgetDeadlineNanos());
      clock.advance(Duration.ofMillis(500));
      assertEquals(List.of(), machine.tick());
      clock.advance(Duration.ofNanos(1));
      assertEquals(report(1, ReportSubgoal.Status.TIMED_OUT, 1, Duration.ofNanos(1_500_000_001L),
          "timed out: its budget of 1.5 s (10 steps x 1.5) ran out"), machine.tick().get(0));
    }

    @Test
    void aSubgoalsElapsedTimeLeavesOutItsHalts() {
      SessionMachine machine = running(MOVE, GRASP);
      clock.advance(Duration.ofMillis(500));
      machine.halt();
      clock.advance(Duration.ofSeconds(2));
      assertEquals(report(1, ReportSubgoal.Status.COMPLETED, 1, Duration.ofMillis(500), ""),
          machine.signalled("1", true, "").get(0), "completed while halted");
    }

    @Test
    void aSubgoalStartedWhileHaltedStartsItsBudgetAtTheResume() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.halt();
      clock.advance(Duration.ofSeconds(2));
      assertEquals(started(2, 1), machine.signalled("1", true, "").get(2), "completed and started while halted");
      clock.advance(Duration.ofSeconds(1));
      machine.resumed();
      clock.advance(Duration.ofSeconds(3));
      assertEquals(List.of(), machine.tick(), "3 s budget, 3 s run since the resume");
      clock.advance(Duration.ofNanos(1));
      assertEquals(report(2, ReportSubgoal.Status.TIMED_OUT, 1, Duration.ofNanos(3_000_000_001L),
          "timed out: its budget of 3.0 s (20 steps x 1.5) ran out"), machine.tick().get(0));
    }

    @Test
    void aReplanAdoptedWhileHaltedStartsItsBudgetAtTheResume() {
      SessionMachine machine = running(MOVE);
      machine.halt();
      machine.signalled("1", false, "dropped it");
      clock.advance(Duration.ofSeconds(5));
      assertEquals(started(2, 1), machine.replanned(plan("", LIFT)).get(2));
      clock.advance(Duration.ofSeconds(1));
      assertEquals(report(2, ReportSubgoal.Status.COMPLETED, 1, Duration.ZERO, ""),
          machine.signalled("2", true, "").get(0), "no time has run: the robot was halted all along");
    }

    @Test
    void noBudgetRunsOutWhilePolicyServiceIsLostButTheTimeItWasAwayCounts() {
      SessionMachine machine = running(MOVE);
      clock.advance(Duration.ofSeconds(1));
      machine.policyLost("UNAVAILABLE: restarting");
      clock.advance(Duration.ofSeconds(1));
      machine.tick(); // reconnects
      clock.advance(Duration.ofSeconds(1));
      assertEquals(List.of(), machine.tick(), "3 s into a 1.5 s budget, but the policy is not back");
      machine.policyReady();
      assertEquals(report(1, ReportSubgoal.Status.TIMED_OUT, 1, Duration.ofSeconds(3),
          "timed out: its budget of 1.5 s (10 steps x 1.5) ran out"), machine.tick().get(0));
    }
  }

  @Nested
  class HaltAndResume {
    @Test
    void aHaltStopsObservationsAndChunksUntilTheResume() {
      SessionMachine machine = running(MOVE);
      int epoch = machine.instructionEpoch();
      assertTrue(machine.executes(epoch));
      assertTrue(machine.halt(), "newly halted: what waits for the policy is stale");
      assertFalse(machine.halt(), "halted already");
      assertFalse(machine.acceptsObservations());
      assertFalse(machine.executes(epoch));
      assertEquals(List.of(), machine.resumed(), "execution is open already");
      assertFalse(machine.halted());
      assertTrue(machine.executes(epoch));
    }

    @Test
    void aResumeWithoutAHaltChangesNoBudget() {
      SessionMachine machine = running(MOVE);
      long deadline = machine.budgetDeadlineNanos();
      clock.advance(Duration.ofSeconds(1));
      assertEquals(List.of(), machine.resumed());
      assertEquals(deadline, machine.budgetDeadlineNanos());
    }

    @Test
    void aRobotHaltedBeforeItsPlanStaysHalted() {
      SessionMachine machine = machine(2);
      assertTrue(machine.halt());
      machine.started(plan("", MOVE), SKILLS, STEP, BridgeHold.NONE);
      assertTrue(machine.halted());
      assertFalse(machine.acceptsObservations());
    }

    @Test
    void executionRefusedBecauseTheBridgeHoldsTheRobotLeavesTheSessionHaltedUntilTheResume() {
      SessionMachine machine = running(MOVE);
      long deadline = machine.budgetDeadlineNanos();
      List<SessionEffect> effects = machine.executionRefusedHeld(BridgeHold.E_STOPPED);
      assertEquals(1, effects.size(), effects.toString());
      Hold hold = assertInstanceOf(Hold.class, effects.getFirst());
      assertTrue(hold.reason().contains("e-stopped") && hold.reason().contains("send `resume`"), hold.reason());
      assertTrue(machine.halted());
      assertFalse(machine.acceptsObservations());
      assertFalse(machine.ended(), "a held robot is no failure: the session waits for its resume");
      assertEquals(List.of(), machine.executionRefusedHeld(BridgeHold.HALTED), "execution is not open any more");

      clock.advance(Duration.ofSeconds(3));
      assertEquals(List.of(new OpenExecution()), machine.resumed());
      assertEquals(deadline + Duration.ofSeconds(3).toNanos(), machine.budgetDeadlineNanos(),
          "the budget stood still while the robot was held");
    }

    @Test
    void aRefusalWithoutAHoldChangesNothing() {
      SessionMachine machine = running(MOVE);
      assertEquals(List.of(), machine.executionRefusedHeld(BridgeHold.NONE));
      assertFalse(machine.halted());
    }

    @Test
    void aResumeBeforeThePlanClearsTheHaltAndExecutionOpensOnceAtTheStart() {
      SessionMachine machine = machine(2);
      machine.halt();
      assertEquals(List.of(), machine.resumed());
      assertFalse(machine.halted());
      List<SessionEffect> effects = machine.started(plan("", MOVE), SKILLS, STEP, BridgeHold.NONE);
      assertEquals(1, effects.stream().filter(OpenExecution.class::isInstance).count(), effects.toString());
      assertEquals(List.of(), machine.resumed());
    }
  }

  @Nested
  class InstructionEpochs {
    @Test
    void aChunkForAnEarlierSubgoalIsNotExecuted() {
      SessionMachine machine = running(MOVE, GRASP);
      int first = machine.instructionEpoch();
      machine.signalled("1", true, "");
      assertFalse(machine.executes(first));
      assertTrue(machine.executes(machine.instructionEpoch()));
    }

    @Test
    void aChunkForAFailedSubgoalIsNotExecutedWhileReplanningNorAfter() {
      SessionMachine machine = running(MOVE);
      int failed = machine.instructionEpoch();
      machine.signalled("1", false, "");
      assertFalse(machine.executes(failed));
      assertFalse(machine.executes(machine.instructionEpoch()), "nothing executes while replanning");
      machine.replanned(plan("", MOVE));
      assertFalse(machine.executes(failed), "the same instruction, but a new attempt");
      assertTrue(machine.executes(machine.instructionEpoch()));
    }
  }

  @Nested
  class PolicyService {
    @Test
    void theFirstLossFailsOverAtOnceAndTheRobotIsToldToHoldOnlyWhenThatFails() {
      SessionMachine machine = running(MOVE);
      assertEquals(List.of(new PolicyLost("UNAVAILABLE: restarting"), new OpenPolicy(MOVE.instruction())),
          machine.policyLost("UNAVAILABLE: restarting"), "a new stream, which the channel gives a live replica");
      assertEquals(List.of(new Hold("policy-service unavailable (UNAVAILABLE: restarting): no new chunks, the"
          + " controller bridge brings the robot to a hold; reconnecting for up to 5000 ms")),
          machine.policyLost("UNAVAILABLE: still down"));
      clock.advance(Duration.ofMillis(200));
      assertEquals(List.of(new OpenPolicy(MOVE.instruction())), machine.tick());
      assertEquals(List.of(), machine.policyLost("UNAVAILABLE: still down"), "told once per loss");
    }

    @Test
    void aFailoverThatDoesNotGetReadyIn200MsTellsTheRobotToHoldOnce() {
      SessionMachine machine = running(MOVE);
      machine.policyLost("UNAVAILABLE: killed");
      clock.advance(Duration.ofMillis(199));
      assertEquals(List.of(), machine.tick(), "the failover may still come in time");
      clock.advance(Duration.ofMillis(1));
      assertEquals(List.of(new Hold("policy-service unavailable (UNAVAILABLE: killed): no new chunks, the controller"
          + " bridge brings the robot to a hold; reconnecting for up to 5000 ms")), machine.tick());
      clock.advance(Duration.ofSeconds(1));
      assertEquals(List.of(), machine.tick(), "told once; the attempt is still open");
    }

    @Test
    void aFailoverReadyAtOnceNeverTellsTheRobotToHold() {
      SessionMachine machine = running(MOVE);
      machine.policyLost("UNAVAILABLE: killed");
      clock.advance(Duration.ofMillis(30));
      assertEquals(List.of(new PolicyRestored(Duration.ofMillis(30)), new Instruct(MOVE.instruction())),
          machine.policyReady());
      clock.advance(Duration.ofSeconds(1));
      assertEquals(List.of(), machine.tick());
    }

    @Test
    void aLostPolicyIsReconnectedEvery200MsWhileNoAttemptIsOpen() {
      SessionMachine machine = running(MOVE);
      machine.policyLost("UNAVAILABLE: down");
      machine.policyLost("UNAVAILABLE: refused"); // the failover failed too
      clock.advance(Duration.ofMillis(199));
      assertEquals(List.of(), machine.tick());
      clock.advance(Duration.ofMillis(1));
      assertEquals(List.of(new OpenPolicy(MOVE.instruction())), machine.tick());
      clock.advance(Duration.ofSeconds(1));
      assertEquals(List.of(), machine.tick(), "one attempt at a time");
      machine.policyLost("UNAVAILABLE: refused");
      clock.advance(Duration.ofMillis(200));
      assertEquals(List.of(new OpenPolicy(MOVE.instruction())), machine.tick());
    }

    @Test
    void aPolicyBackInTimeGetsTheRunningInstruction() {
      SessionMachine machine = running(MOVE);
      machine.policyLost("UNAVAILABLE: down");
      clock.advance(Duration.ofMillis(300));
      machine.tick();
      clock.advance(Duration.ofMillis(100));
      assertEquals(List.of(new PolicyRestored(Duration.ofMillis(400)), new Instruct(MOVE.instruction())),
          machine.policyReady());
      assertEquals(List.of(new Instruct(MOVE.instruction())), machine.policyReady(), "an ordinary ready");
      clock.advance(Duration.ofMinutes(1));
      machine.policyLost("UNAVAILABLE: again");
      assertTrue(machine.tick().isEmpty(), "the failover time counts from the latest loss");
    }

    @Test
    void aPolicyAwayPastTheFailoverTimeEndsTheSession() {
      SessionMachine machine = running(MOVE);
      clock.advance(Duration.ofSeconds(1));
      machine.policyLost("UNAVAILABLE: gone");
      machine.policyLost("UNAVAILABLE: refused");
      clock.advance(FAILOVER);
      assertEquals(List.of(new OpenPolicy(MOVE.instruction())), machine.tick(), "exactly at the failover time");
      machine.policyLost("UNAVAILABLE: refused");
      clock.advance(Duration.ofNanos(1));
      assertEquals(List.of(ended(Outcome.FAILED, Cause.POLICY_UNAVAILABLE, "policy-service unavailable for 5000 ms"
          + " (UNAVAILABLE: gone); the robot was brought to a hold", true, 0, 0, Duration.ofNanos(6_000_000_001L))),
          machine.tick());
    }

    @Test
    void aReconnectThatNeverGetsReadyEndsTheSessionAtTheFailoverTime() {
      SessionMachine machine = running(MOVE);
      assertTrue(machine.policyLost("UNAVAILABLE: gone").contains(new OpenPolicy(MOVE.instruction())));
      clock.advance(FAILOVER);
      assertEquals(List.of(new Hold("policy-service unavailable (UNAVAILABLE: gone): no new chunks, the controller"
          + " bridge brings the robot to a hold; reconnecting for up to 5000 ms")), machine.tick(),
          "open, not ready, and within the failover time");
      clock.advance(Duration.ofNanos(1));
      assertEquals(List.of(ended(Outcome.FAILED, Cause.POLICY_UNAVAILABLE, "policy-service unavailable for 5000 ms"
          + " (UNAVAILABLE: gone); the robot was brought to a hold", true, 0, 0, Duration.ofNanos(5_000_000_001L))),
          machine.tick());
    }

    @Test
    void whileReplanningTheReconnectAsksForTheFailedInstruction() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.signalled("1", true, "");
      machine.signalled("2", false, "");
      assertEquals(List.of(new PolicyLost("UNAVAILABLE: down"), new OpenPolicy(GRASP.instruction())),
          machine.policyLost("UNAVAILABLE: down"));
      clock.advance(Duration.ofMillis(200));
      assertEquals(List.of(new PolicyRestored(Duration.ofMillis(200)), new Instruct(GRASP.instruction())),
          machine.policyReady());
    }

    @Test
    void aNewSubgoalIsInstructedOnTheFailoverStreamAndAgainWhenItIsReady() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.policyLost("UNAVAILABLE: down");
      assertEquals(List.of(report(1, ReportSubgoal.Status.COMPLETED, 1, Duration.ZERO, ""),
          new Instruct(GRASP.instruction()), started(2, 1)), machine.signalled("1", true, ""));
      assertEquals(List.of(new PolicyRestored(Duration.ZERO), new Instruct(GRASP.instruction())), machine.policyReady(),
          "the failover stream, opened for the first subgoal, gets the running one once ready");
    }
  }

  @Nested
  class BridgeFailover {
    private static final String HOLD = "controller-bridge went away (UNAVAILABLE: shutting down): the robot holds;"
        + " opening its execution again, at its bridge or another, for up to 5000 ms";

    @Test
    void aBridgeThatWentAwayHoldsTheRobotAndExecutionOpensAgainEvery200Ms() {
      SessionMachine machine = running(MOVE);
      assertEquals(List.of(new Hold(HOLD)), machine.executionLost("UNAVAILABLE: shutting down", true));
      assertTrue(machine.bridgeLost());
      clock.advance(Duration.ofMillis(199));
      assertEquals(List.of(), machine.tick());
      clock.advance(Duration.ofMillis(1));
      assertEquals(List.of(new OpenExecution()), machine.tick());
      assertEquals(List.of(), machine.tick(), "one attempt at a time");
      assertEquals(List.of(), machine.executionLost("UNAVAILABLE: still gone", true), "the robot is told once");
      clock.advance(Duration.ofMillis(200));
      assertEquals(List.of(new OpenExecution()), machine.tick());
      clock.advance(Duration.ofMillis(100));
      assertEquals(List.of(new SessionEffect.ExecutionRestored(Duration.ofMillis(500))), machine.executionReady());
      assertFalse(machine.bridgeLost());
      assertEquals(List.of(), machine.executionReady(), "an ordinary answer");
    }

    @Test
    void noBudgetRunsOutWhileTheBridgeIsAway() {
      SessionMachine machine = running(MOVE);
      machine.executionLost("UNAVAILABLE: shutting down", true);
      clock.advance(Duration.ofSeconds(3));
      assertEquals(List.of(new OpenExecution()), machine.tick(), "3 s into a 1.5 s budget: no time-out");
      machine.executionReady();
      assertEquals(ReportSubgoal.Status.TIMED_OUT, ((ReportSubgoal) machine.tick().get(0)).status(),
          "the time away counts once the bridge is back");
    }

    @Test
    void aBridgeAwayPastTheFailoverTimeEndsTheSession() {
      SessionMachine machine = running(MOVE);
      machine.executionLost("UNAVAILABLE: gone", true);
      clock.advance(FAILOVER.plusNanos(1));
      assertEquals(List.of(ended(Outcome.FAILED, Cause.CONTROLLER, "controller-bridge unavailable for 5000 ms"
          + " (UNAVAILABLE: gone); the robot was brought to a hold", true, 0, 0, Duration.ofNanos(5_000_000_001L))),
          machine.tick());
    }

    @Test
    void aBridgeThatRefusesOrEndsTheStreamStillFailsTheSession() {
      SessionMachine machine = running(MOVE);
      assertEquals(List.of(ended(Outcome.FAILED, Cause.CONTROLLER, "controller-bridge ended robot arm-1's execution"
          + " stream (FAILED_PRECONDITION: robot arm-1 is halted)", true, 0, 0, Duration.ZERO)),
          machine.executionLost("FAILED_PRECONDITION: robot arm-1 is halted", false));
    }
  }

  @Nested
  class Endings {
    @Test
    void theBridgeEndingExecutionFailsTheSession() {
      SessionMachine machine = running(MOVE);
      clock.advance(Duration.ofSeconds(1));
      assertEquals(List.of(ended(Outcome.FAILED, Cause.CONTROLLER, "controller-bridge ended robot arm-1's execution"
          + " stream (NOT_FOUND: unknown robot arm-1)", true, 0, 0, Duration.ofSeconds(1))),
          machine.executionLost("NOT_FOUND: unknown robot arm-1"));
      assertEquals(Outcome.FAILED, machine.ending().outcome());
    }

    @Test
    void aRobotThatCancelsIsToldItsOutcome() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.signalled("1", false, "");
      machine.replanned(plan("", MOVE, GRASP));
      machine.signalled("3", true, "");
      clock.advance(Duration.ofSeconds(4));
      assertEquals(List.of(ended(Outcome.CANCELLED, Cause.ROBOT_CANCELLED, "cancelled by the robot: done", true, 1, 1,
          Duration.ofSeconds(4))), machine.cancelled("done"));
    }

    @Test
    void aRobotThatLeftIsNotTold() {
      SessionMachine machine = running(MOVE);
      assertEquals(List.of(ended(Outcome.CANCELLED, Cause.ROBOT_CANCELLED, "the robot's stream was cancelled", false,
          0, 0, Duration.ZERO)), machine.robotLeft("the robot's stream was cancelled"));
    }

    @Test
    void aShutdownEndsTheSessionOnce() {
      SessionMachine machine = running(MOVE);
      assertTrue(machine.shutDown());
      assertEquals(new SessionEnding(Outcome.SHUTDOWN, Cause.UNSPECIFIED, "the gateway is shutting down"),
          machine.ending());
      assertFalse(machine.shutDown());
    }

    @Test
    void afterTheEndEveryEventIsIgnored() {
      SessionMachine machine = running(MOVE, GRASP);
      machine.cancelled("done");
      SessionEnding ending = machine.ending();
      clock.advance(Duration.ofMinutes(10));
      assertEquals(List.of(), machine.signalled("1", true, ""));
      assertEquals(List.of(), machine.signalled("1", false, ""));
      assertEquals(List.of(), machine.tick());
      assertEquals(List.of(), machine.policyReady());
      assertEquals(List.of(), machine.policyLost("UNAVAILABLE: gone"));
      assertEquals(List.of(), machine.executionLost("UNAVAILABLE: gone"));
      assertEquals(List.of(), machine.cancelled("twice"));
      assertEquals(List.of(), machine.robotLeft("gone"));
      assertEquals(List.of(), machine.replanned(plan("", MOVE)));
      assertEquals(List.of(), machine.replanFailed("no"));
      assertEquals(List.of(), machine.resumed());
      assertEquals(List.of(), machine.started(plan("", MOVE), SKILLS, STEP, BridgeHold.NONE));
      assertFalse(machine.halt());
      assertFalse(machine.shutDown());
      machine.reject("late");
      assertFalse(machine.acceptsObservations());
      assertFalse(machine.executes(machine.instructionEpoch()));
      assertEquals(ending, machine.ending());
    }
  }
}
