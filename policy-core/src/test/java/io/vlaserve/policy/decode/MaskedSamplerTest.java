package io.vlaserve.policy.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.tokenizer.TokenRange;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class MaskedSamplerTest {
  private static final TokenRange SLICE = new TokenRange(64, 319);
  private final MaskedSampler sampler = new MaskedSampler(256);

  private static float[] logits(int vocab) {
    float[] logits = new float[vocab];
    SplittableRandom random = new SplittableRandom(3);
    for (int i = 0; i < vocab; i++) {
      logits[i] = (float) random.nextGaussian();
    }
    return logits;
  }

  @Nested
  class Masking {
    @Test
    void greedyPicksTheBestAllowedTokenEvenWhenATextTokenScoresHigher() {
      float[] logits = logits(320);
      logits[5] = 100f; // a text token the unmasked argmax would pick
      logits[64 + 17] = 9f;
      sampler.sample(logits, 0, SLICE, SamplingParams.GREEDY, new SplittableRandom(1));
      assertEquals(64 + 17, sampler.token());
      assertTrue(sampler.logProbability() < 0 && sampler.logProbability() > -1, "a clear winner");
    }

    @Test
    void aForcedTokenIsTakenWithItsLogProbabilityUnderTheMaskedDistribution() {
      float[] logits = logits(320);
      logits[5] = 100f; // outside the slice: no mass
      logits[64 + 17] = 9f;
      sampler.sample(logits, 0, SLICE, SamplingParams.GREEDY, new SplittableRandom(1));
      double greedy = sampler.logProbability();
      sampler.force(logits, 0, SLICE, SamplingParams.GREEDY, 64 + 17);
      assertEquals(64 + 17, sampler.token());
      assertEquals(greedy, sampler.logProbability(), 1e-12, "the same token, the same probability");
      sampler.force(logits, 0, SLICE, SamplingParams.GREEDY, 64 + 3);
      assertEquals(64 + 3, sampler.token());
      assertTrue(sampler.logProbability() < greedy - 5, "an unlikely token is forced all the same, and says so");
      assertThrows(IllegalArgumentException.class, () -> sampler.force(logits, 0, SLICE, SamplingParams.GREEDY, 5));
    }

    @Test
    void sampledTokensNeverLeaveTheSlice() {
      float[] logits = logits(320);
      Arrays.fill(logits, 0, 64, 50f);
      SamplingParams hot = new SamplingParams(5.0, 0, 0, 7);
      SplittableRandom random = new SplittableRandom(hot.seed());
      for (int i = 0; i < 5000; i++) {
        sampler.sample(logits, 0, SLICE, hot, random);
        assertTrue(SLICE.contains(sampler.token()), "token " + sampler.token());
      }
    }

    @Test
    void nanOrPlusInfinityInTheSliceFailsInsteadOfInventingAnAction() {
      float[] logits = logits(320);
      logits[100] = Float.NaN;
      DecodingException nan = assertThrows(DecodingException.class,
          () -> sampler.sample(logits, 0, SLICE, SamplingParams.GREEDY, new SplittableRandom(1)));
      assertTrue(nan.getMessage().contains("non-finite logit NaN for token 100"), nan.getMessage());
      logits[100] = Float.POSITIVE_INFINITY;
      assertThrows(DecodingException.class,
          () -> sampler.sample(logits, 0, SLICE, SamplingParams.GREEDY, new SplittableRandom(1)));
    }

    @Test
    void allAllowedTokensMaskedOutFailsClearly() {
      float[] logits = logits(320);
      Arrays.fill(logits, 64, 320, Float.NEGATIVE_INFINITY);
      DecodingException e = assertThrows(DecodingException.class,
          () -> sampler.sample(logits, 0, SLICE, new SamplingParams(1.0, 0, 0, 1), new SplittableRandom(1)));
      assertTrue(e.getMessage().contains("all logits -Infinity"), e.getMessage());
    }

    @Test
    void textTokensAtNanDoNotMatterOutsideTheSlice() {
      float[] logits = logits(320);
      Arrays.fill(logits, 0, 64, Float.NaN);
      sampler.sample(logits, 0, SLICE, SamplingParams.GREEDY, new SplittableRandom(1));
      assertTrue(SLICE.contains(sampler.token()));
    }
  }

  @Nested
  class Sampling {
    @Test
    void theSameSeedGivesTheSameTokens() {
      float[] logits = logits(320);
      SamplingParams params = new SamplingParams(1.0, 40, 0.9, 1234);
      int[] first = draw(logits, params, 200);
      int[] second = draw(logits, params, 200);
      assertEquals(Arrays.toString(first), Arrays.toString(second));
      int[] other = draw(logits, new SamplingParams(1.0, 40, 0.9, 1235), 200);
      assertTrue(!Arrays.equals(first, other), "another seed, other tokens");
    }

    private int[] draw(float[] logits, SamplingParams params, int count) {
      SplittableRandom random = new SplittableRandom(params.seed());
      int[] out = new int[count];
      for (int i = 0; i < count; i++) {
        sampler.sample(logits, 0, SLICE, params, random);
        out[i] = sampler.token();
      }
      return out;
    }

    @Test
    void topKKeepsOnlyTheKMostLikelyTokens() {
      float[] logits = new float[320];
      for (int i = 64; i < 320; i++) {
        logits[i] = i / 64f; // strictly increasing: the top 3 are 317, 318, 319
      }
      SamplingParams params = new SamplingParams(10.0, 3, 0, 9);
      SplittableRandom random = new SplittableRandom(9);
      int[] counts = new int[320];
      for (int i = 0; i < 3000; i++) {
        sampler.sample(logits, 0, SLICE, params, random);
        counts[sampler.token()]++;
      }
      assertEquals(3000, counts[317] + counts[318] + counts[319]);
      assertTrue(counts[317] > 500 && counts[319] > 500, "all three are drawn at a high temperature");
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
      float[] logits = new float[320];
      Arrays.fill(logits, 64, 320, -20f);
      logits[100] = 2f; // ~0.665
      logits[101] = 1.3f; // ~0.330 -> together 0.995 of the mass
      SamplingParams params = new SamplingParams(1.0, 0, 0.9, 4);
      SplittableRandom random = new SplittableRandom(4);
      int[] counts = new int[320];
      for (int i = 0; i < 4000; i++) {
        sampler.sample(logits, 0, SLICE, params, random);
        counts[sampler.token()]++;
      }
      assertEquals(4000, counts[100] + counts[101], "nothing outside the nucleus");
      double share = counts[100] / 4000.0;
      assertEquals(0.668, share, 0.04, "renormalised over the nucleus: e^2 / (e^2 + e^1.3)");
    }

    @Test
    void logProbabilityIsUnderTheTruncatedDistribution() {
      float[] logits = new float[320];
      Arrays.fill(logits, 64, 320, Float.NEGATIVE_INFINITY);
      logits[70] = 0f;
      logits[71] = 0f;
      sampler.sample(logits, 0, SLICE, new SamplingParams(1.0, 0, 0, 1), new SplittableRandom(1));
      assertEquals(Math.log(0.5), sampler.logProbability(), 1e-12);
    }

    @Test
    void aTinyPositiveTemperatureIsRefusedAndSaysWhatWasExpected() {
      // 1e-300 used to pass and make every log probability NaN (max / T overflowed to Inf - Inf).
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new SamplingParams(1e-300, 0, 0, 0));
      assertEquals("temperature: 1.0E-300 (expected: 0 for greedy, or >= 0.001)", e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> new SamplingParams(Float.MIN_VALUE, 0, 0, 0));
      assertThrows(IllegalArgumentException.class, () -> new SamplingParams(0.000999, 0, 0, 0));
      assertEquals(SamplingParams.MIN_TEMPERATURE, new SamplingParams(SamplingParams.MIN_TEMPERATURE, 0, 0, 0).temperature());
    }

    @Test
    void theSmallestTemperatureKeepsProbabilitiesFiniteForExtremeFloatLogits() {
      float[] logits = new float[320];
      SplittableRandom noise = new SplittableRandom(12);
      for (int i = 64; i < 320; i++) {
        logits[i] = (float) (noise.nextGaussian() * 1e4);
      }
      logits[70] = Float.MAX_VALUE;
      logits[71] = Float.MAX_VALUE; // a tie at the top: both keep half the mass
      logits[72] = -Float.MAX_VALUE;
      logits[73] = Float.NEGATIVE_INFINITY;
      SplittableRandom random = new SplittableRandom(5);
      for (SamplingParams params : new SamplingParams[] {
          new SamplingParams(SamplingParams.MIN_TEMPERATURE, 0, 0, 5),
          new SamplingParams(SamplingParams.MIN_TEMPERATURE, 3, 0, 5),
          new SamplingParams(SamplingParams.MIN_TEMPERATURE, 0, 0.9, 5),
          new SamplingParams(1e6, 0, 0, 5)}) {
        for (int i = 0; i < 200; i++) {
          sampler.sample(logits, 0, SLICE, params, random);
          assertTrue(Double.isFinite(sampler.logProbability()) && sampler.logProbability() <= 0,
              params + ": log probability " + sampler.logProbability());
          assertTrue(SLICE.contains(sampler.token()), "token " + sampler.token());
        }
      }
      sampler.sample(logits, 0, SLICE, new SamplingParams(SamplingParams.MIN_TEMPERATURE, 0, 0, 5), random);
      assertEquals(Math.log(0.5), sampler.logProbability(), 1e-12, "the two tied maxima share the mass");
    }

    @Test
    void invalidParametersSayWhatWasExpected() {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SamplingParams(-1, 0, 0, 0));
      assertEquals("temperature: -1.0 (expected: >= 0, 0 for greedy)", e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, -2, 0, 0));
      assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, 0, 1.5, 0));
      assertThrows(IllegalArgumentException.class, () -> new SamplingParams(Double.NaN, 0, 0, 0));
    }
  }
}
