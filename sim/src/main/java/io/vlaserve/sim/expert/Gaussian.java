package io.vlaserve.sim.expert;

import java.util.SplittableRandom;

/**
 * Standard normal samples from a {@link SplittableRandom}, by Marsaglia's polar method with
 * {@link StrictMath#log}, so a seed gives the same sequence on every JVM (unlike
 * {@code RandomGenerator.nextGaussian}, whose algorithm is not specified). Not thread-safe.
 */
final class Gaussian {

  private final SplittableRandom random;
  private double spare;
  private boolean hasSpare;

  Gaussian(SplittableRandom random) {
    this.random = random;
  }

  double next() {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    double u;
    double v;
    double s;
    do {
      u = 2 * random.nextDouble() - 1;
      v = 2 * random.nextDouble() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double scale = Math.sqrt(-2 * StrictMath.log(s) / s);
    spare = v * scale;
    hasSpare = true;
    return u * scale;
  }
}
