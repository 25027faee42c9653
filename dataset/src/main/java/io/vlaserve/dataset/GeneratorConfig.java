package io.vlaserve.dataset;

import io.vlaserve.skills.TaskKind;
import java.util.List;

/**
 * What {@link DemonstrationGenerator} produces.
 *
 * @param episodes successful episodes to record
 * @param seed the one seed every episode's world, task, expert noise and perturbation derive from
 * @param imageSize camera frames are imageSize x imageSize RGB
 * @param tasks task kinds to sample from, uniformly
 * @param minBlocks fewest blocks in a scene (1..4)
 * @param maxBlocks most blocks in a scene (minBlocks..4)
 * @param expertNoise multiplier on the expert's default action noise (0 = noiseless)
 * @param perturbProbability per-step probability of executing a perturbed action (labels stay clean)
 * @param perturbScale multiplier on the perturbation's size (1 = 0.01 m and 0.03 rad standard deviation)
 */
public record GeneratorConfig(
    int episodes,
    long seed,
    int imageSize,
    List<TaskKind> tasks,
    int minBlocks,
    int maxBlocks,
    double expertNoise,
    double perturbProbability,
    double perturbScale) {

  public GeneratorConfig {
    require(episodes > 0, "episodes: " + episodes + " (expected: > 0)");
    require(imageSize >= 16 && imageSize <= 512, "image size: " + imageSize + " (expected: 16..512)");
    require(tasks != null && !tasks.isEmpty(), "tasks: empty (expected: at least one of put, pick, stack)");
    require(minBlocks >= 1 && maxBlocks <= 4 && minBlocks <= maxBlocks,
        "blocks: " + minBlocks + ".." + maxBlocks + " (expected: 1 <= min <= max <= 4)");
    require(expertNoise >= 0 && Double.isFinite(expertNoise), "expert noise: " + expertNoise + " (expected: >= 0)");
    require(perturbProbability >= 0 && perturbProbability <= 1,
        "perturb probability: " + perturbProbability + " (expected: 0..1)");
    require(perturbScale >= 0 && Double.isFinite(perturbScale), "perturb scale: " + perturbScale + " (expected: >= 0)");
    tasks = List.copyOf(tasks);
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
