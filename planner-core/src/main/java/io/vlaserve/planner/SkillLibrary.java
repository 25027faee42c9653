package io.vlaserve.planner;

import io.vlaserve.skills.Instructions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The loaded policy's skills (the exact instructions it was trained on) and their step budgets:
 * what every planner's subgoals are checked against. Immutable and thread-safe.
 */
public final class SkillLibrary {
  /** Budget for a skill the simulator's language does not name (a policy trained elsewhere). */
  public static final int DEFAULT_STEP_BUDGET = 30;
  /** Upper bound on a budget a planner may ask for: four times the skill's own. */
  public static final int MAX_BUDGET_FACTOR = 4;

  private static final Pattern WHITESPACE = Pattern.compile("\\s+");

  /** Normalised instruction -> the skill as the policy spells it. */
  private final Map<String, String> skills = new LinkedHashMap<>();
  private final Map<String, Integer> budgets = new LinkedHashMap<>();

  /**
   * @param skills the policy's skills, e.g. from {@code PolicyMetadata.skills}; at least one
   * @throws IllegalArgumentException if there are none
   */
  public SkillLibrary(List<String> skills) {
    for (String skill : skills) {
      String key = normalise(skill);
      if (!key.isEmpty()) {
        this.skills.putIfAbsent(key, skill.strip());
        this.budgets.putIfAbsent(key, simulatorBudget(skill));
      }
    }
    if (this.skills.isEmpty()) {
      throw new IllegalArgumentException("the policy lists no skills, so no plan can be validated");
    }
  }

  /** The skills as the policy spells them, in the policy's order. */
  public List<String> skills() {
    return new ArrayList<>(skills.values());
  }

  /** The skill {@code instruction} names (ignoring case and extra whitespace), if any. */
  public Optional<String> match(String instruction) {
    return Optional.ofNullable(instruction == null ? null : skills.get(normalise(instruction)));
  }

  /** The default step budget of a known skill. */
  public int budget(String skill) {
    Integer budget = budgets.get(normalise(skill));
    if (budget == null) {
      throw new IllegalArgumentException("unknown skill '" + skill + "'");
    }
    return budget;
  }

  /**
   * Checks one proposed subgoal and returns it with the policy's spelling and a sane budget.
   *
   * @param requestedSteps the planner's budget, or 0 for the skill's default
   * @return the subgoal, or empty if the instruction is not a skill (the caller reports it)
   */
  public Optional<PlannedSubgoal> validate(String instruction, int requestedSteps) {
    Optional<String> skill = match(instruction);
    if (skill.isEmpty()) {
      return Optional.empty();
    }
    int budget = budget(skill.get());
    int steps = requestedSteps <= 0 ? budget : Math.min(requestedSteps, budget * MAX_BUDGET_FACTOR);
    return Optional.of(new PlannedSubgoal(skill.get(), steps));
  }

  static String normalise(String text) {
    String stripped = text.strip();
    if (stripped.endsWith(".")) {
      stripped = stripped.substring(0, stripped.length() - 1);
    }
    return WHITESPACE.matcher(stripped).replaceAll(" ").toLowerCase(Locale.ROOT);
  }

  private static int simulatorBudget(String skill) {
    try {
      return Instructions.parseSubgoal(skill).skill().stepBudget();
    } catch (IllegalArgumentException notASimulatorSkill) {
      return DEFAULT_STEP_BUDGET;
    }
  }
}
