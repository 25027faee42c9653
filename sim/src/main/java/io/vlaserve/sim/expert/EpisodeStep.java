package io.vlaserve.sim.expert;

import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.Subgoal;
import java.util.Objects;

/**
 * One recorded control step: what the policy would see, and the action the expert took.
 *
 * <p>The arrays are shared, not copied, to keep recording cheap: treat them as read-only.
 * Otherwise immutable and thread-safe.
 *
 * @param index step number within the episode, from 0
 * @param subgoalIndex index of the current subgoal in {@link Episode#subgoals()}
 * @param subgoal the current subgoal; its instruction is what the policy is told
 * @param image the camera frame before the action, row-major RGB8, or an empty array when the
 *     episode was recorded without images
 * @param proprio proprioception before the action, laid out as
 *     {@link io.vlaserve.sim.ActionSpace#PROPRIO_NAMES}
 * @param action the action taken, laid out as {@link io.vlaserve.sim.ActionSpace#DIMENSION_NAMES}
 * @param state the full world state before the action (for relabelling and debugging)
 */
public record EpisodeStep(
    int index,
    int subgoalIndex,
    Subgoal subgoal,
    byte[] image,
    double[] proprio,
    double[] action,
    WorldState state) {

  public EpisodeStep {
    Objects.requireNonNull(subgoal, "subgoal");
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(proprio, "proprio");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(state, "state");
  }

  /** Returns the instruction given to the policy at this step, e.g. "grasp the red block". */
  public String instruction() {
    return subgoal.instruction();
  }
}
