package io.vlaserve.planner.session;

import java.util.Objects;

/**
 * How a session ended.
 *
 * @param outcome the result
 * @param cause the category, for dashboards and load tests
 * @param reason the same in words, for people, e.g. "every subgoal completed"
 */
public record SessionEnding(Outcome outcome, Cause cause, String reason) {
  public SessionEnding {
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(cause, "cause");
    Objects.requireNonNull(reason, "reason");
  }

  /** The result of a session. */
  public enum Outcome {
    SUCCEEDED,
    /** A subgoal kept failing after the allowed replans, or a service failed. */
    FAILED,
    /** The robot cancelled or left. */
    CANCELLED,
    /** Refused before or instead of running: a bad open, no policy, an unplannable task. */
    REJECTED,
    /** The gateway stopped; the robot was told to hold and reconnect. */
    SHUTDOWN
  }

  /** Why a session ended, as a category. */
  public enum Cause {
    /** No category: a refusal or a shutdown. */
    UNSPECIFIED,
    TASK_COMPLETED,
    /** A subgoal kept failing or timing out after the allowed replans. */
    SUBGOAL_FAILED,
    /** The planner could not make a new plan after a subgoal failed. */
    PLANNER_FAILED,
    /** controller-bridge ended the robot's execution. */
    CONTROLLER,
    /** policy-service stayed away for longer than the failover time. */
    POLICY_UNAVAILABLE,
    /** The robot cancelled the session or closed its stream. */
    ROBOT_CANCELLED
  }
}
