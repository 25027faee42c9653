package io.vlaserve.skills;

/** The kinds of task the planner decomposes into subgoals. Immutable and thread-safe. */
public enum TaskKind {
  /** "put the <colour> block on the plate". */
  PUT_ON_PLATE("put the <colour> block on the plate"),
  /** "pick up the <colour> block". */
  PICK_UP("pick up the <colour> block"),
  /** "stack the <colour> block on the <target> block". */
  STACK("stack the <colour> block on the <target> block");

  private final String template;

  TaskKind(String template) {
    this.template = template;
  }

  /** Returns the instruction template. */
  public String template() {
    return template;
  }
}
