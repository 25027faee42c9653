package io.vlaserve.sim.expert;

import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.Task;
import java.util.List;
import java.util.Objects;

/**
 * A recorded demonstration of one task: every step's observation and action, plus outcomes.
 *
 * <p>Immutable and thread-safe (the step arrays are shared read-only; see {@link EpisodeStep}).
 *
 * @param seed the seed the world and the expert's noise were derived from
 * @param task the task attempted
 * @param imageWidth frame width in pixels
 * @param imageHeight frame height in pixels
 * @param steps the recorded steps, in order
 * @param subgoals the outcome of each subgoal attempted, in order; subgoals after a failed one
 *     are not attempted and not listed
 * @param initialState the state at the start
 * @param finalState the state after the last step
 * @param success whether every subgoal succeeded and the task predicate holds at the end
 */
public record Episode(
    long seed,
    Task task,
    int imageWidth,
    int imageHeight,
    List<EpisodeStep> steps,
    List<SubgoalOutcome> subgoals,
    WorldState initialState,
    WorldState finalState,
    boolean success) {

  public Episode {
    Objects.requireNonNull(task, "task");
    steps = List.copyOf(steps);
    subgoals = List.copyOf(subgoals);
    Objects.requireNonNull(initialState, "initialState");
    Objects.requireNonNull(finalState, "finalState");
  }

  /** Returns the task instruction, e.g. "put the red block on the plate". */
  public String instruction() {
    return task.instruction();
  }
}
