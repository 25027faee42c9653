package io.vlaserve.planner;

import java.util.List;
import java.util.Locale;

/**
 * The texts {@link OpenAiChatPlanner} sends: the system message (the job, the skills, the JSON
 * contract), the user message (task, scene, progress, failure) and the correction after an invalid
 * reply. Stateless.
 */
final class PlanPrompt {
  /** The reply's shape, shown to the model verbatim. */
  static final String JSON_CONTRACT = "{\"subgoals\":[{\"instruction\":\"<one of the skills verbatim>\","
      + "\"max_steps\":<positive integer, optional>}],\"rationale\":\"<one short sentence>\"}";

  private PlanPrompt() {}

  static String system(SkillLibrary library) {
    return """
        You are the task planner of a robot. The robot runs a vision-language-action policy that can \
        only follow the instructions listed below, one at a time. Break the user's task into the \
        sequence of these instructions (subgoals) the robot should run, in order.

        The policy's skills; copy them verbatim, nothing else is accepted:
        %s
        Answer with only one JSON object, without code fences or other text, of this form:
        %s
        "max_steps" is the policy steps a subgoal may take before it counts as failed; leave it out \
        to use the skill's default. Plan only the subgoals still to run. After a failure, resume \
        where the robot should continue, and repeat earlier subgoals when the failure undid them \
        (for example, a dropped block must be approached and grasped again).
        If the task cannot be done with these skills at all, answer \
        {"subgoals":[],"unsupported":"<why>"} instead.
        """.formatted(bullets(library.skills()), JSON_CONTRACT);
  }

  static String user(PlanningRequest request) {
    StringBuilder text = new StringBuilder();
    text.append("Task: ").append(request.task().strip()).append('\n');
    text.append("Scene: ").append(request.scene().isBlank() ? "(not described)" : request.scene().strip()).append('\n');
    text.append("Completed subgoals:");
    if (request.completed().isEmpty()) {
      text.append(" none\n");
    } else {
      text.append('\n');
      for (int i = 0; i < request.completed().size(); i++) {
        text.append(i + 1).append(". ").append(request.completed().get(i).instruction()).append('\n');
      }
    }
    if (request.isReplan()) {
      PlannedSubgoal failed = request.failure().subgoal();
      text.append("Failed subgoal: ").append(failed.instruction())
          .append(" (budget ").append(failed.maxSteps()).append(" steps)\n");
      text.append("Failure reason: ").append(request.failure().reason()).append('\n');
      text.append("Gripper opening: ").append(gripper(request.gripperOpening())).append('\n');
      text.append("Plan the subgoals still to run after this failure.");
    } else {
      text.append("Plan the subgoals.");
    }
    return text.toString();
  }

  /** What the model is told after an invalid reply; {@code error} says exactly what was wrong. */
  static String correction(String error, SkillLibrary library) {
    return "Your reply is not a valid plan: " + error + ".\n"
        + "Answer again with only one JSON object of this form:\n" + JSON_CONTRACT + "\n"
        + "Every instruction must be exactly one of these skills:\n" + bullets(library.skills());
  }

  private static String gripper(double opening) {
    if (!Double.isFinite(opening)) {
      return "unknown";
    }
    String state = opening > 0.5 ? "open: a block is probably not held" : "closed: a block may be held";
    return String.format(Locale.ROOT, "%.2f (0 closed .. 1 open; %s)", opening, state);
  }

  private static String bullets(List<String> lines) {
    StringBuilder text = new StringBuilder();
    for (String line : lines) {
      text.append("- ").append(line).append('\n');
    }
    return text.toString();
  }
}
