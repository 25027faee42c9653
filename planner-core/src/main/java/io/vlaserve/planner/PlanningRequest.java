package io.vlaserve.planner;

import java.util.List;
import java.util.Objects;

/**
 * What a planner is asked.
 *
 * @param task the task in plain language, e.g. "put the red block on the plate"
 * @param scene an optional description of the scene ("" if none), e.g. "blocks: red, green; a plate"
 * @param skills the instructions the loaded policy was trained on; every subgoal must be one of them
 * @param completed subgoals already done in this session, in order (empty for the first plan)
 * @param failure the failure that triggered this replan, or null for the first plan
 * @param gripperOpening the robot's last reported gripper opening (0 closed .. 1 open), or NaN if
 *     unknown; lets a replan tell whether a grasped block was dropped
 */
public record PlanningRequest(String task, String scene, List<String> skills, List<PlannedSubgoal> completed,
    SubgoalFailure failure, double gripperOpening) {
  public PlanningRequest {
    Objects.requireNonNull(task, "task");
    scene = scene == null ? "" : scene;
    skills = List.copyOf(skills);
    completed = List.copyOf(completed);
  }

  /** The first plan of a task. */
  public static PlanningRequest initial(String task, String scene, List<String> skills) {
    return new PlanningRequest(task, scene, skills, List.of(), null, Double.NaN);
  }

  /** Whether this asks for a replan after a failure. */
  public boolean isReplan() {
    return failure != null;
  }
}
