package io.vlaserve.planner;

/**
 * Why a replan is asked for: the subgoal that failed or timed out, and how.
 *
 * @param subgoal the subgoal that did not complete
 * @param reason what happened, for people and for an LLM planner, e.g. "timed out after 30 steps"
 */
public record SubgoalFailure(PlannedSubgoal subgoal, String reason) {}
