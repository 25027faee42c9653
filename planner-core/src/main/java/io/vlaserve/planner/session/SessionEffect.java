package io.vlaserve.planner.session;

import io.vlaserve.planner.PlanningRequest;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link SessionMachine} decided, for its adapter to carry out in the order given: messages
 * to the robot, requests to policy-service and the controller bridge, a plan to make.
 */
public sealed interface SessionEffect {

  /** Open the robot's execution stream at the controller bridge. */
  record OpenExecution() implements SessionEffect {}

  /** Open a policy-service session with {@code instruction}; report it with {@code policyReady} or {@code policyLost}. */
  record OpenPolicy(String instruction) implements SessionEffect {}

  /** Give the open policy session a new instruction for the observations that follow. */
  record Instruct(String instruction) implements SessionEffect {}

  /** Tell the robot the plan it now follows. */
  record SendPlan(int revision, String planner, String reason, List<SessionSubgoal> subgoals) implements SessionEffect {
    public SendPlan {
      subgoals = List.copyOf(subgoals);
    }
  }

  /**
   * Tell the robot how a subgoal stands.
   *
   * @param attempt from 1
   * @param steps policy step periods the subgoal has run (halts not counted)
   * @param elapsed how long it has run (halts not counted)
   * @param reason why it ended, or the robot's detail; "" for a start
   */
  record ReportSubgoal(String subgoalId, Status status, int attempt, int steps, Duration elapsed, String reason)
      implements SessionEffect {
    /** Where a subgoal stands. */
    public enum Status { STARTED, COMPLETED, FAILED, TIMED_OUT }
  }

  /** Tell the robot to hold its pose, and why. */
  record Hold(String reason) implements SessionEffect {}

  /** Make a plan off the session's lock and report it with {@code replanned} or {@code replanFailed}. */
  record Replan(PlanningRequest request) implements SessionEffect {
    public Replan {
      Objects.requireNonNull(request, "request");
    }
  }

  /** policy-service went away (first loss only): the robot holds while the session reconnects. */
  record PolicyLost(String cause) implements SessionEffect {}

  /** policy-service is back after being lost for {@code downFor}. */
  record PolicyRestored(Duration downFor) implements SessionEffect {}

  /** The robot's execution is open again, at its bridge or another, after {@code downFor} without one. */
  record ExecutionRestored(Duration downFor) implements SessionEffect {}

  /**
   * The session ended: release its streams and, if {@code tellRobot}, send the robot its outcome
   * and close its stream.
   */
  record Ended(SessionEnding ending, boolean tellRobot, int subgoalsCompleted, int replans, Duration elapsed)
      implements SessionEffect {}
}
