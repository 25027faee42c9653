package io.vlaserve.sim.expert;

import io.vlaserve.sim.task.TaskSampler;
import io.vlaserve.sim.ActionSpace;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.sim.task.SuccessPredicates;
import io.vlaserve.skills.Task;
import io.vlaserve.skills.TaskKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Runs whole tasks with the {@link ScriptedExpert} and records them as {@link Episode}s.
 *
 * <p>Subgoals run in the order {@link Task#subgoals()} gives. Before each step the current
 * subgoal's success predicate is checked (against the state at which the subgoal began); on
 * success the next subgoal starts, and a subgoal still unmet after its
 * {@link io.vlaserve.skills.Skill#stepBudget() step budget} ends the episode as failed. Each
 * recorded step holds the frame and proprioception observed before the action, the current
 * instruction and the action.
 *
 * <p>Everything derives from one seed: the world is {@code new TabletopWorld(seed, worldConfig)},
 * the expert's noise and any task sampling use separate streams of the same seed, so an episode is
 * reproducible from {@code (seed, configs)}. Not thread-safe (it owns a renderer); use one runner
 * per thread.
 */
public final class EpisodeRunner {

  // Distinct streams per purpose, so adding noise draws never shifts the scene or the task.
  private static final long EXPERT_STREAM = 0x9E3779B97F4A7C15L;
  private static final long TASK_STREAM = 0xC2B2AE3D27D4EB4FL;

  private final WorldConfig worldConfig;
  private final CameraConfig camera;
  private final ExpertConfig expertConfig;
  private final boolean recordImages;
  private final TabletopRenderer renderer;

  /**
   * Creates a runner.
   *
   * @param recordImages whether to render a frame per step; false leaves {@link EpisodeStep#image()}
   *     empty, for fast statistics
   */
  public EpisodeRunner(
      WorldConfig worldConfig, CameraConfig camera, ExpertConfig expertConfig, boolean recordImages) {
    this.worldConfig = Objects.requireNonNull(worldConfig, "worldConfig");
    this.camera = Objects.requireNonNull(camera, "camera");
    this.expertConfig = Objects.requireNonNull(expertConfig, "expertConfig");
    this.recordImages = recordImages;
    this.renderer = new TabletopRenderer(camera);
  }

  /** Creates a runner with default configs that records 64x64 images. */
  public EpisodeRunner() {
    this(WorldConfig.DEFAULT, CameraConfig.DEFAULT, ExpertConfig.DEFAULT, true);
  }

  /**
   * Runs {@code task} in the world reset from {@code seed}.
   *
   * @throws IllegalArgumentException if the scene lacks a block the task names
   */
  public Episode run(long seed, Task task) {
    TabletopWorld world = new TabletopWorld(seed, worldConfig);
    if (!TaskSampler.isApplicable(task, world.snapshot())) {
      throw new IllegalArgumentException(
          "task '" + task + "' names a block that seed " + seed + " does not place (scene: "
              + world.snapshot().describe() + ")");
    }
    return run(world, task, new ScriptedExpert(expertConfig, new SplittableRandom(seed ^ EXPERT_STREAM)), seed);
  }

  /** Runs a task drawn with {@link TaskSampler#sample} from {@code kinds} in the world reset from {@code seed}. */
  public Episode runRandomTask(long seed, List<TaskKind> kinds) {
    TabletopWorld world = new TabletopWorld(seed, worldConfig);
    Task task = TaskSampler.sample(world.snapshot(), kinds, new SplittableRandom(seed ^ TASK_STREAM));
    return run(world, task, new ScriptedExpert(expertConfig, new SplittableRandom(seed ^ EXPERT_STREAM)), seed);
  }

  /**
   * Runs {@code task} from the world's current state with the given expert, recording as
   * {@code seed}. The world is advanced in place.
   */
  public Episode run(TabletopWorld world, Task task, ScriptedExpert expert, long seed) {
    List<EpisodeStep> steps = new ArrayList<>();
    List<SubgoalOutcome> outcomes = new ArrayList<>();
    List<Subgoal> plan = task.subgoals();
    WorldState initial = world.snapshot();
    WorldState now = initial;
    boolean allSucceeded = true;
    for (int g = 0; g < plan.size() && allSucceeded; g++) {
      Subgoal subgoal = plan.get(g);
      WorldState start = now;
      int used = 0;
      boolean done = SuccessPredicates.isSatisfied(subgoal, start, now);
      while (!done && used < subgoal.skill().stepBudget()) {
        byte[] image = new byte[recordImages ? camera.frameBytes() : 0];
        if (recordImages) {
          renderer.render(world, image);
        }
        double[] action = new double[ActionSpace.DIMENSIONS];
        expert.act(now, subgoal, action);
        steps.add(new EpisodeStep(steps.size(), g, subgoal, image, now.proprio(), action, now));
        world.step(action);
        now = world.snapshot();
        used++;
        done = SuccessPredicates.isSatisfied(subgoal, start, now);
      }
      outcomes.add(new SubgoalOutcome(subgoal, done, used));
      allSucceeded = done;
    }
    boolean success = allSucceeded && SuccessPredicates.isSatisfied(task, now);
    return new Episode(seed, task, camera.width(), camera.height(), steps, outcomes, initial, now, success);
  }
}
