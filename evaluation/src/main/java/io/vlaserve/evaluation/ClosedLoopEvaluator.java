package io.vlaserve.evaluation;

import io.vlaserve.skills.BlockColor;
import io.vlaserve.sim.BlockState;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import io.vlaserve.sim.expert.ExpertConfig;
import io.vlaserve.sim.expert.ScriptedExpert;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import io.vlaserve.skills.Skill;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.sim.task.SuccessPredicates;
import io.vlaserve.skills.Task;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Closed-loop evaluation in the simulator. Per subgoal type, each seeded episode brings the world to
 * the state in which that subgoal starts (the scripted expert runs the plan's earlier subgoals),
 * then hands control to the action source until the subgoal's success predicate holds or its step
 * budget runs out. Per task, the source runs every subgoal of the plan in order. Not thread-safe.
 */
public final class ClosedLoopEvaluator {
  private final CameraConfig camera;
  private final TabletopRenderer renderer;

  public ClosedLoopEvaluator(int imageWidth, int imageHeight) {
    this.camera = CameraConfig.of(imageWidth, imageHeight);
    this.renderer = new TabletopRenderer(camera);
  }

  /** Success count and steps used for one subgoal type or task. */
  public record Score(String name, int episodes, int successes, double meanSteps) {
    public double successRate() {
      return episodes == 0 ? 0 : (double) successes / episodes;
    }
  }

  /** Evaluates each skill in {@code skills} over {@code episodes} seeded episodes. */
  public Map<Skill, Score> evaluateSubgoals(ActionSource source, List<Skill> skills, int episodes, long seed) {
    Map<Skill, Score> scores = new EnumMap<>(Skill.class);
    for (Skill skill : skills) {
      int successes = 0;
      long steps = 0;
      for (int e = 0; e < episodes; e++) {
        SplittableRandom random = new SplittableRandom(seed * 1_000_003L + skill.ordinal() * 10_007L + e);
        Setup setup = setUp(skill, random);
        int used = runSubgoal(source, setup.world(), setup.subgoal());
        if (used >= 0) {
          successes++;
          steps += used;
        }
      }
      scores.put(skill, new Score(skill.template(), episodes, successes, successes == 0 ? 0 : (double) steps / successes));
    }
    return scores;
  }

  /** Evaluates whole tasks: the source runs every subgoal of the plan. */
  public Score evaluateTasks(ActionSource source, String name, java.util.function.Function<WorldState, Task> taskFor,
      int episodes, long seed) {
    int successes = 0;
    long steps = 0;
    for (int e = 0; e < episodes; e++) {
      SplittableRandom random = new SplittableRandom(seed * 7_919L + e);
      TabletopWorld world = new TabletopWorld(random.nextLong(), new WorldConfig(2 + random.nextInt(3), true));
      Task task = taskFor.apply(world.snapshot());
      int used = 0;
      boolean ok = true;
      for (Subgoal subgoal : task.subgoals()) {
        int subgoalSteps = runSubgoal(source, world, subgoal);
        if (subgoalSteps < 0) {
          ok = false;
          break;
        }
        used += subgoalSteps;
      }
      if (ok && SuccessPredicates.isSatisfied(task, world.snapshot())) {
        successes++;
        steps += used;
      }
    }
    return new Score(name, episodes, successes, successes == 0 ? 0 : (double) steps / successes);
  }

  private record Setup(TabletopWorld world, Subgoal subgoal) {}

  /** A world in the state where {@code skill}'s subgoal starts, reached by the expert. */
  private Setup setUp(Skill skill, SplittableRandom random) {
    boolean stacking = skill == Skill.MOVE_ABOVE;
    TabletopWorld world = new TabletopWorld(random.nextLong(), new WorldConfig(2 + random.nextInt(3), true));
    List<BlockState> blocks = world.snapshot().blocks();
    BlockColor block = blocks.get(random.nextInt(blocks.size())).color();
    Task task;
    if (stacking) {
      List<BlockColor> others = new ArrayList<>();
      blocks.forEach(b -> {
        if (b.color() != block) {
          others.add(b.color());
        }
      });
      task = Task.stack(block, others.get(random.nextInt(others.size())));
    } else {
      task = Task.putOnPlate(block);
    }
    ScriptedExpert expert = new ScriptedExpert(ExpertConfig.DEFAULT, random.split());
    for (Subgoal subgoal : task.subgoals()) {
      if (subgoal.skill() == skill) {
        return new Setup(world, subgoal);
      }
      ActionSource expertSource = (state, image, g) -> new double[][] {expert.act(state, g)};
      if (runSubgoal(expertSource, world, subgoal) < 0) {
        throw new IllegalStateException("the expert failed " + subgoal + " while setting up " + skill);
      }
    }
    throw new IllegalArgumentException("no task plan contains skill " + skill);
  }

  /** Runs {@code subgoal} with {@code source}; the steps used, or -1 if the budget ran out first. */
  private int runSubgoal(ActionSource source, TabletopWorld world, Subgoal subgoal) {
    WorldState start = world.snapshot();
    WorldState now = start;
    byte[] image = renderer.newFrame();
    int used = 0;
    int budget = subgoal.skill().stepBudget();
    while (!SuccessPredicates.isSatisfied(subgoal, start, now)) {
      if (used >= budget) {
        return -1;
      }
      renderer.render(world, image);
      for (double[] action : source.act(now, image, subgoal)) {
        world.step(action);
        now = world.snapshot();
        used++;
        if (used >= budget || SuccessPredicates.isSatisfied(subgoal, start, now)) {
          break;
        }
      }
    }
    return used;
  }
}
