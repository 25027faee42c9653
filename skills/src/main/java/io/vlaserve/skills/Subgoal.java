package io.vlaserve.skills;

import java.util.Objects;
import java.util.Optional;

/**
 * One step of a task: a skill and, for skills that take one, the colour of the block it acts on.
 *
 * <p>Immutable and thread-safe.
 *
 * @param skill the skill
 * @param color the block colour; non-null exactly when {@link Skill#takesColour()}
 */
public record Subgoal(Skill skill, BlockColor color) {

  public Subgoal {
    Objects.requireNonNull(skill, "skill");
    if (skill.takesColour() != (color != null)) {
      throw new IllegalArgumentException(skill + " with colour " + color
          + (skill.takesColour() ? " (expected a colour)" : " (expected none)"));
    }
  }

  /** "move to the {@code color} block". */
  public static Subgoal moveTo(BlockColor color) {
    return new Subgoal(Skill.MOVE_TO, Objects.requireNonNull(color, "color"));
  }

  /** "grasp the {@code color} block". */
  public static Subgoal grasp(BlockColor color) {
    return new Subgoal(Skill.GRASP, Objects.requireNonNull(color, "color"));
  }

  /** "lift the block". */
  public static Subgoal lift() {
    return new Subgoal(Skill.LIFT, null);
  }

  /** "move above the plate". */
  public static Subgoal moveAbovePlate() {
    return new Subgoal(Skill.MOVE_ABOVE_PLATE, null);
  }

  /** "move above the {@code color} block". */
  public static Subgoal moveAbove(BlockColor color) {
    return new Subgoal(Skill.MOVE_ABOVE, Objects.requireNonNull(color, "color"));
  }

  /** "release the block". */
  public static Subgoal release() {
    return new Subgoal(Skill.RELEASE, null);
  }

  /** Returns the block colour, if the skill takes one. */
  public Optional<BlockColor> colour() {
    return Optional.ofNullable(color);
  }

  /** Returns the canonical English instruction, e.g. {@code "grasp the red block"}. */
  public String instruction() {
    return color == null ? skill.template() : skill.template().replace("<colour>", color.word());
  }

  @Override
  public String toString() {
    return instruction();
  }
}
