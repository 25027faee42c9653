package io.vlaserve.sim.task;

import io.vlaserve.skills.Task;
import io.vlaserve.skills.TaskKind;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TaskSamplerTest {

  @Test
  void sampledTasksOnlyNamePresentBlocksAndCoverEveryKind() {
    SplittableRandom random = new SplittableRandom(3);
    EnumSet<TaskKind> kinds = EnumSet.noneOf(TaskKind.class);
    for (long seed = 0; seed < 200; seed++) {
      WorldState state = new TabletopWorld(seed, WorldConfig.withBlocks(2)).snapshot();
      Task task = TaskSampler.sample(state, List.of(TaskKind.values()), random);
      assertTrue(TaskSampler.isApplicable(task, state), task + " in " + state.describe());
      if (task.target() != null) {
        assertNotEquals(task.block(), task.target());
      }
      kinds.add(task.kind());
    }
    assertEquals(EnumSet.allOf(TaskKind.class), kinds);
  }

  @Test
  void singleBlockScenesNeverGetStackTasks() {
    SplittableRandom random = new SplittableRandom(4);
    for (long seed = 0; seed < 50; seed++) {
      WorldState state = new TabletopWorld(seed, WorldConfig.withBlocks(1)).snapshot();
      assertNotEquals(TaskKind.STACK, TaskSampler.sample(state, List.of(TaskKind.values()), random).kind());
    }
  }
}
