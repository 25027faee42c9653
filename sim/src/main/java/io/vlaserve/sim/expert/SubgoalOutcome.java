package io.vlaserve.sim.expert;

import io.vlaserve.skills.Subgoal;

/**
 * How one subgoal of an episode went. Immutable and thread-safe.
 *
 * @param subgoal the subgoal
 * @param succeeded whether its success predicate held within its step budget
 * @param steps control steps spent on it
 */
public record SubgoalOutcome(Subgoal subgoal, boolean succeeded, int steps) {}
