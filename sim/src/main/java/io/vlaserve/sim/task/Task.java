package io.vlaserve.sim.task;

import io.vlaserve.sim.BlockColor;
import io.vlaserve.sim.WorldState;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

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

  /** Returns whether every block the task names is in {@code state}. */
  public boolean isApplicableTo(WorldState state) {
    return state.indexOf(block) >= 0 && (target == null || state.indexOf(target) >= 0);
  }

  /**
   * Returns a random task applicable to {@code state}, drawn from {@code kinds} with equal weight
   * per kind; STACK needs at least two blocks and is skipped otherwise.
   *
   * @throws IllegalArgumentException if {@code kinds} is empty or none applies
   */
  public static Task sample(WorldState state, List<TaskKind> kinds, SplittableRandom random) {
    List<TaskKind> usable = new ArrayList<>(kinds);
    if (state.blocks().size() < 2) {
      usable.remove(TaskKind.STACK);
    }
    if (usable.isEmpty() || state.blocks().isEmpty()) {
      throw new IllegalArgumentException("no task of kinds " + kinds + " fits a scene with "
          + state.blocks().size() + " blocks (expected a non-empty list; STACK needs two blocks)");
    }
    TaskKind kind = usable.get(random.nextInt(usable.size()));
    int count = state.blocks().size();
    int first = random.nextInt(count);
    BlockColor block = state.blocks().get(first).color();
    if (kind != TaskKind.STACK) {
      return new Task(kind, block, null);
    }
    int second = (first + 1 + random.nextInt(count - 1)) % count;
    return stack(block, state.blocks().get(second).color());
  }

  @Override
  public String toString() {
    return instruction();
  }
}
