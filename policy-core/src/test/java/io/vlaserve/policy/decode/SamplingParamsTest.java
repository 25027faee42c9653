package io.vlaserve.policy.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplingParamsTest {
  @Test
  void everyObservationOfAStreamGetsItsOwnSeed() {
    Set<Long> seeds = new HashSet<>();
    for (long sequence = 0; sequence < 100_000; sequence++) {
      seeds.add(SamplingParams.observationSeed(42, sequence));
    }
    assertEquals(100_000, seeds.size(), "distinct sequences, distinct seeds");
    assertNotEquals(SamplingParams.observationSeed(42, 1), SamplingParams.observationSeed(43, 1), "and distinct streams");
  }

  @Test
  void theSeedOfAnObservationIsAFunctionOfSeedAndSequenceOnly() {
    SamplingParams stream = new SamplingParams(1.5, 50, 0.9, 42);
    SamplingParams first = stream.forObservation(7);
    assertEquals(first, new SamplingParams(1.5, 50, 0.9, 42).forObservation(7));
    assertEquals(new SamplingParams(1.5, 50, 0.9, first.seed()), first, "only the seed changes");
  }

  @Test
  void consecutiveObservationsDoNotDrawShiftedCopiesOfTheSameNoise() {
    // SplittableRandom walks its seed by a fixed gamma; a derivation like seed + gamma * sequence
    // would make observation n + 1 replay observation n's draws shifted by one.
    double[] first = draws(new SamplingParams(1, 0, 0, 42).forObservation(1).seed(), 64);
    double[] second = draws(new SamplingParams(1, 0, 0, 42).forObservation(2).seed(), 64);
    for (int shift = 0; shift < 8; shift++) {
      int equal = 0;
      for (int i = 0; i + shift < first.length; i++) {
        equal += first[i + shift] == second[i] || second[i + shift] == first[i] ? 1 : 0;
      }
      assertTrue(equal == 0, "shift " + shift + ": " + equal + " equal draws");
    }
  }

  private static double[] draws(long seed, int n) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = random.nextDouble();
    }
    return out;
  }
}
