package io.vlaserve.planner;

import java.util.List;

/**
 * A planner's answer: the subgoals still to run, in order.
 *
 * @param subgoals at least one, each validated against the policy's skills
 * @param planner which planner made it, e.g. "embedded" or "openai:gpt-4o-mini"
 * @param rationale a short human-readable reason, e.g. "grasp failed: retrying from the approach"
 */
public record PlannedTask(List<PlannedSubgoal> subgoals, String planner, String rationale) {
  public PlannedTask {
    subgoals = List.copyOf(subgoals);
    if (subgoals.isEmpty()) {
      throw new IllegalArgumentException("a plan needs at least one subgoal");
    }
  }
}
