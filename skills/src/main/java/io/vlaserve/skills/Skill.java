package io.vlaserve.skills;

/**
 * A subgoal-level skill the policy learns, with its instruction template and step budget.
 *
 * <p>Templates use {@code <colour>} for the block argument. Budgets are in control steps (0.1 s);
 * the scripted expert finishes well inside them. Immutable and thread-safe.
 */
public enum Skill {
  /** Hover with the open gripper above a block, pointing straight down. */
  MOVE_TO("move to the <colour> block", true, 30),
  /** Descend around a block, close on it and lift it slightly. */
  GRASP("grasp the <colour> block", true, 30),
  /** Raise the carried block to carrying height. */
  LIFT("lift the block", false, 20),
  /** Carry the block to above the plate's centre. */
  MOVE_ABOVE_PLATE("move above the plate", false, 30),
  /** Carry the block to above another block. */
  MOVE_ABOVE("move above the <colour> block", true, 30),
  /** Lower the carried block onto what is under it and open the gripper. */
  RELEASE("release the block", false, 20);

  private final String template;
  private final boolean takesColour;
  private final int stepBudget;

  Skill(String template, boolean takesColour, int stepBudget) {
    this.template = template;
    this.takesColour = takesColour;
    this.stepBudget = stepBudget;
  }

  /** Returns the instruction template, e.g. {@code "grasp the <colour> block"}. */
  public String template() {
    return template;
  }

  /** Returns whether the skill names a block colour. */
  public boolean takesColour() {
    return takesColour;
  }

  /** Returns the steps allowed before the subgoal counts as timed out. */
  public int stepBudget() {
    return stepBudget;
  }
}
