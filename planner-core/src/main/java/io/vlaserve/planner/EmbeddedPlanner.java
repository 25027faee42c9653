package io.vlaserve.planner;

import io.vlaserve.skills.Instructions;
import io.vlaserve.skills.Skill;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.skills.Task;
import java.util.ArrayList;
import java.util.List;

/**
 * The default planner: offline, deterministic, and limited to the simulator's task language.
 *
 * <p><b>Grammar</b> (case and extra whitespace ignored; colours red, green, blue, yellow):
 *
 * <pre>
 * put the &lt;colour&gt; block on the plate      -> move to, grasp, lift, move above the plate, release
 * pick up the &lt;colour&gt; block                -> move to, grasp, lift
 * stack the &lt;colour&gt; block on the &lt;target&gt; block -> move to, grasp, lift, move above the &lt;target&gt; block, release
 * </pre>
 *
 * Anything else is {@link PlanningException.Kind#UNSUPPORTED_TASK}, with the accepted forms in the
 * message; so is a plan that needs a skill the loaded policy lacks.
 *
 * <p><b>Replanning</b> resumes from the failed subgoal, backing up when the failure suggests the
 * block is no longer held: a failed grasp restarts from the approach ("move to"); a failed lift,
 * carry or release with the gripper reported open restarts from the approach; a failed approach
 * with the gripper closed releases first (the only skill that opens it); anything else retries the
 * failed subgoal. It never sees the scene beyond the gripper opening, so it cannot notice, for
 * example, a block knocked off the table: bounded retries then end the task with a clear failure.
 */
public final class EmbeddedPlanner implements Planner {
  /** Gripper opening above which a block cannot be held (the simulator's gripper closes to 0). */
  private static final double OPEN = 0.5;

  @Override
  public String name() {
    return "embedded";
  }

  @Override
  public PlannedTask plan(PlanningRequest request) throws PlanningException {
    Task task;
    try {
      task = Instructions.parseTask(request.task());
    } catch (IllegalArgumentException e) {
      throw new PlanningException(PlanningException.Kind.UNSUPPORTED_TASK,
          "the embedded planner cannot plan this task: " + e.getMessage()
              + ". Configure an LLM planner for other tasks.");
    }
    SkillLibrary library = new SkillLibrary(request.skills());
    List<Subgoal> full = task.subgoals();
    int from = 0;
    String rationale = "decomposed '" + task.instruction() + "' with the embedded grammar";
    if (request.isReplan()) {
      int failed = indexOf(full, request.failure().subgoal().instruction(), request.completed().size());
      if (failed < 0) {
        throw new PlanningException(PlanningException.Kind.UNSUPPORTED_TASK, "the failed subgoal '"
            + request.failure().subgoal().instruction() + "' is not part of the plan for '" + task.instruction() + "'");
      }
      Skill skill = full.get(failed).skill();
      boolean blockLost = Double.isFinite(request.gripperOpening()) && request.gripperOpening() > OPEN;
      boolean gripperClosed = Double.isFinite(request.gripperOpening()) && request.gripperOpening() <= OPEN;
      if (skill == Skill.MOVE_TO && gripperClosed && hasRelease(library)) {
        // An approach needs an open gripper; the policy only opens it when releasing.
        PlannedTask recovery = fromIndex(full, failed, library, "the approach failed (" + request.failure().reason()
            + ") with the gripper closed: releasing first to open it");
        List<PlannedSubgoal> subgoals = new ArrayList<>();
        subgoals.add(library.validate(Subgoal.release().instruction(), 0).orElseThrow());
        subgoals.addAll(recovery.subgoals());
        return new PlannedTask(subgoals, name(), recovery.rationale());
      }
      if (skill == Skill.GRASP) {
        from = Math.max(0, failed - 1);
        rationale = "grasp failed (" + request.failure().reason() + "): approaching the block again";
      } else if (skill != Skill.MOVE_TO && blockLost) {
        from = 0;
        rationale = full.get(failed).instruction() + " failed (" + request.failure().reason()
            + ") with the gripper open: the block is not held, starting over from the approach";
      } else {
        from = failed;
        rationale = "retrying '" + full.get(failed).instruction() + "' after: " + request.failure().reason();
      }
    }
    return fromIndex(full, from, library, rationale);
  }

  private PlannedTask fromIndex(List<Subgoal> full, int from, SkillLibrary library, String rationale)
      throws PlanningException {
    List<PlannedSubgoal> subgoals = new ArrayList<>();
    for (Subgoal subgoal : full.subList(from, full.size())) {
      PlannedSubgoal planned = library.validate(subgoal.instruction(), 0).orElseThrow(() -> new PlanningException(
          PlanningException.Kind.UNSUPPORTED_TASK, "the loaded policy has no skill '" + subgoal.instruction()
              + "' (its skills: " + String.join("; ", library.skills()) + ")"));
      subgoals.add(planned);
    }
    return new PlannedTask(subgoals, name(), rationale);
  }

  private static boolean hasRelease(SkillLibrary library) {
    return library.match(Subgoal.release().instruction()).isPresent();
  }

  /** The failed subgoal's index in the full plan: the first match at or after the completed count, else any. */
  private static int indexOf(List<Subgoal> full, String instruction, int completed) {
    String key = SkillLibrary.normalise(instruction);
    for (int pass = 0; pass < 2; pass++) {
      for (int i = pass == 0 ? Math.min(completed, full.size()) : 0; i < full.size(); i++) {
        if (SkillLibrary.normalise(full.get(i).instruction()).equals(key)) {
          return i;
        }
      }
    }
    return -1;
  }
}
