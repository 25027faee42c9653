package io.vlaserve.planner;

import java.util.Objects;

/**
 * One subgoal of a plan.
 *
 * @param instruction the subgoal in the policy's skill language, e.g. "grasp the red block"
 * @param maxSteps policy steps (one step period each) before the subgoal counts as timed out; > 0
 */
public record PlannedSubgoal(String instruction, int maxSteps) {
  public PlannedSubgoal {
    Objects.requireNonNull(instruction, "instruction");
    if (maxSteps <= 0) {
      throw new IllegalArgumentException("maxSteps: " + maxSteps + " (expected > 0)");
    }
  }
}
