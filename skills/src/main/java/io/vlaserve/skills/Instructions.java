package io.vlaserve.skills;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses instruction text into {@link Subgoal}s and {@link Task}s.
 *
 * <p>Only the canonical phrases are accepted, ignoring case and surrounding or repeated
 * whitespace; anything else is rejected with a message listing the accepted forms. Stateless and
 * thread-safe.
 */
public final class Instructions {

  private static final String COLOURS = "red|green|blue|yellow";
  private static final Pattern WHITESPACE = Pattern.compile("\\s+");
  private static final Map<Skill, Pattern> SKILL_PATTERNS = new EnumMap<>(Skill.class);
  private static final Map<TaskKind, Pattern> TASK_PATTERNS = new EnumMap<>(TaskKind.class);

  static {
    for (Skill skill : Skill.values()) {
      SKILL_PATTERNS.put(skill, pattern(skill.template()));
    }
    for (TaskKind kind : TaskKind.values()) {
      TASK_PATTERNS.put(kind, pattern(kind.template()));
    }
  }

  private Instructions() {}

  /**
   * Parses a subgoal instruction such as {@code "grasp the red block"}.
   *
   * @throws IllegalArgumentException if the text is not one of {@link #subgoalForms()}
   */
  public static Subgoal parseSubgoal(String text) {
    String normal = normalise(text);
    for (Skill skill : Skill.values()) {
      Matcher matcher = SKILL_PATTERNS.get(skill).matcher(normal);
      if (matcher.matches()) {
        return new Subgoal(skill, skill.takesColour() ? BlockColor.fromWord(matcher.group(1)) : null);
      }
    }
    throw new IllegalArgumentException("unknown subgoal instruction '" + text.strip()
        + "' (expected one of: " + String.join("; ", subgoalForms()) + "; colours: red, green, blue, yellow)");
  }

  /**
   * Parses a task instruction such as {@code "put the red block on the plate"}.
   *
   * @throws IllegalArgumentException if the text is not one of {@link #taskForms()}, or stacks a
   *     block on itself
   */
  public static Task parseTask(String text) {
    String normal = normalise(text);
    for (TaskKind kind : TaskKind.values()) {
      Matcher matcher = TASK_PATTERNS.get(kind).matcher(normal);
      if (matcher.matches()) {
        BlockColor block = BlockColor.fromWord(matcher.group(1));
        BlockColor target = kind == TaskKind.STACK ? BlockColor.fromWord(matcher.group(2)) : null;
        return new Task(kind, block, target);
      }
    }
    throw new IllegalArgumentException("unknown task instruction '" + text.strip()
        + "' (expected one of: " + String.join("; ", taskForms()) + "; colours: red, green, blue, yellow)");
  }

  /** Returns the accepted subgoal forms, e.g. {@code "grasp the <colour> block"}. */
  public static List<String> subgoalForms() {
    List<String> forms = new ArrayList<>();
    for (Skill skill : Skill.values()) {
      forms.add(skill.template());
    }
    return List.copyOf(forms);
  }

  /** Returns the accepted task forms. */
  public static List<String> taskForms() {
    List<String> forms = new ArrayList<>();
    for (TaskKind kind : TaskKind.values()) {
      forms.add(kind.template());
    }
    return List.copyOf(forms);
  }

  private static String normalise(String text) {
    return WHITESPACE.matcher(text.strip()).replaceAll(" ").toLowerCase(Locale.ROOT);
  }

  private static Pattern pattern(String template) {
    String regex = Pattern.quote(template)
        .replace("<colour>", "\\E(" + COLOURS + ")\\Q")
        .replace("<target>", "\\E(" + COLOURS + ")\\Q");
    return Pattern.compile(regex);
  }
}
