package io.vlaserve.controller.bench;

import io.vlaserve.controller.ActionChunk;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Policy-like action chunks for benchmarks: a slowly wandering intended velocity, each chunk an
 * independent noisy prediction of it, so consecutive chunks disagree at their seams the way a real
 * policy's do. Positions are pulled back towards the start so long runs stay in the workspace.
 * Deterministic for a seed. Not thread-safe.
 */
final class PolicyStream {
  private final SplittableRandom random;
  private final double[] velocity = new double[3];
  private final double[] offset = new double[3];
  private final double speed;

  /**
   * @param seed reproducible randomness
   * @param speed typical speed, m/s (the sim's action bound is 0.5 m/s)
   */
  PolicyStream(long seed, double speed) {
    this.random = new SplittableRandom(seed);
    this.speed = speed;
  }

  /** The next chunk: {@code steps} steps of {@code stepNanos}, answering an observation at {@code observationNanos}. */
  ActionChunk next(long id, long observationNanos, long stepNanos, int steps) {
    double dt = stepNanos * 1e-9;
    for (int axis = 0; axis < 3; axis++) {
      // Ornstein-Uhlenbeck-like wander of the intended velocity, pulled back towards the start.
      velocity[axis] += 0.3 * (random.nextDouble(-speed, speed) - velocity[axis]) - 0.5 * offset[axis];
    }
    List<double[]> values = new ArrayList<>(steps);
    for (int i = 0; i < steps; i++) {
      double[] step = new double[7];
      for (int axis = 0; axis < 3; axis++) {
        // Each prediction is noisy (2 mm per step), so chunks disagree with each other.
        step[axis] = velocity[axis] * dt + random.nextDouble(-0.002, 0.002);
      }
      step[5] = random.nextDouble(-0.02, 0.02);
      step[6] = 1;
      values.add(step);
    }
    for (int axis = 0; axis < 3; axis++) {
      offset[axis] += velocity[axis] * dt;
    }
    return ActionChunk.of(id, observationNanos, stepNanos, values, 128);
  }

  /** A random inference latency in [low, high) nanoseconds. */
  long latency(long low, long high) {
    return random.nextLong(low, high);
  }
}
