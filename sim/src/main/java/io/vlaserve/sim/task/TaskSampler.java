package io.vlaserve.sim.task;

import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.BlockColor;
import io.vlaserve.skills.Task;
import io.vlaserve.skills.TaskKind;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Tasks in a simulated scene: which apply, and drawing one at random. Stateless and thread-safe. */
public final class TaskSampler {
  private TaskSampler() {}

  /** Returns whether every block {@code task} names is in {@code state}. */
  public static boolean isApplicable(Task task, WorldState state) {
    return state.indexOf(task.block()) >= 0 && (task.target() == null || state.indexOf(task.target()) >= 0);
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
    return Task.stack(block, state.blocks().get(second).color());
  }
}
