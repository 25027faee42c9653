package io.vlaserve.skills;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A task-level goal, e.g. "put the red block on the plate", and its decomposition into subgoals.
 *
 * <p>Immutable and thread-safe.
 *
 * @param kind what to do
 * @param block the block to move
 * @param target the block to stack on; non-null exactly for {@link TaskKind#STACK}, and then a
 *     different colour from {@code block}
 */
public record Task(TaskKind kind, BlockColor block, BlockColor target) {

  public Task {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(block, "block");
    if ((kind == TaskKind.STACK) != (target != null)) {
      throw new IllegalArgumentException(kind + " with target " + target
          + (kind == TaskKind.STACK ? " (expected a target block)" : " (expected none)"));
    }
    if (block == target) {
      throw new IllegalArgumentException("stacking the " + block.word() + " block on itself (expected two colours)");
    }
  }

  /** "put the {@code block} block on the plate". */
  public static Task putOnPlate(BlockColor block) {
    return new Task(TaskKind.PUT_ON_PLATE, block, null);
  }

  /** "pick up the {@code block} block". */
  public static Task pickUp(BlockColor block) {
    return new Task(TaskKind.PICK_UP, block, null);
  }

  /** "stack the {@code block} block on the {@code target} block". */
  public static Task stack(BlockColor block, BlockColor target) {
    return new Task(TaskKind.STACK, block, Objects.requireNonNull(target, "target"));
  }

  /** Returns the canonical English instruction. */
  public String instruction() {
    String text = kind.template().replace("<colour>", block.word());
    return target == null ? text : text.replace("<target>", target.word());
  }

  /** Returns the subgoals that achieve this task, in order. */
  public List<Subgoal> subgoals() {
    List<Subgoal> plan = new ArrayList<>(5);
    plan.add(Subgoal.moveTo(block));
    plan.add(Subgoal.grasp(block));
    plan.add(Subgoal.lift());
    switch (kind) {
      case PUT_ON_PLATE -> {
        plan.add(Subgoal.moveAbovePlate());
        plan.add(Subgoal.release());
      }
      case STACK -> {
        plan.add(Subgoal.moveAbove(target));
        plan.add(Subgoal.release());
      }
      case PICK_UP -> {
        // Holding the block at carrying height is the whole task.
      }
    }
    return List.copyOf(plan);
  }

  /** Returns the sum of the subgoals' step budgets. */
  public int stepBudget() {
    return subgoals().stream().mapToInt(subgoal -> subgoal.skill().stepBudget()).sum();
  }

  @Override
  public String toString() {
    return instruction();
  }
}
