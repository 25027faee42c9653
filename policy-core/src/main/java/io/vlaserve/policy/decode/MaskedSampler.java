package io.vlaserve.policy.decode;

import io.vlaserve.tokenizer.TokenRange;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses one token from the logits restricted to an allowed slice (constrained decoding): tokens
 * outside the slice are never chosen, whatever their logits. Returns the token and its log
 * probability under the masked, temperature-scaled, truncated distribution it was drawn from.
 *
 * <p>Numerically safe for every positive temperature: it shifts by the largest logit before
 * dividing by the temperature, so probabilities stay in [0, 1] and the log probability of the chosen
 * token is finite (the chosen token always has positive mass). Degenerate temperatures are refused
 * earlier, by {@link SamplingParams} (below {@link SamplingParams#MIN_TEMPERATURE}), because they are
 * greedy in effect. A NaN or +Inf logit in the allowed slice fails the call: an engine that produces
 * one has no usable output, and no token is invented from it.
 *
 * <p>Allocation-free after construction; not thread-safe (one per decode loop).
 */
public final class MaskedSampler {
  private final double[] scaled;
  private final long[] order;
  private int chosen;
  private double logProbability;

  /** @param maxSliceSize the largest allowed slice it will see */
  public MaskedSampler(int maxSliceSize) {
    if (maxSliceSize > 4096) {
      throw new IllegalArgumentException("slice size " + maxSliceSize + " (expected: <= 4096)");
    }
    scaled = new double[maxSliceSize];
    order = new long[maxSliceSize];
  }

  public int token() {
    return chosen;
  }

  public double logProbability() {
    return logProbability;
  }

  /**
   * Samples from {@code logits[offset + range.first() .. offset + range.last()]}.
   *
   * @throws DecodingException when the slice holds NaN or +Inf, or every allowed logit is -Inf
   */
  public void sample(float[] logits, int offset, TokenRange range, SamplingParams params, SplittableRandom random) {
    int n = range.size();
    int base = offset + range.first();
    double max = Double.NEGATIVE_INFINITY;
    int argmax = -1;
    for (int i = 0; i < n; i++) {
      float logit = logits[base + i];
      if (Float.isNaN(logit) || logit == Float.POSITIVE_INFINITY) {
        throw new DecodingException("non-finite logit " + logit + " for token " + (range.first() + i)
            + " in the allowed slice " + range + ": the model output is unusable; no action was produced");
      }
      if (logit > max) {
        max = logit;
        argmax = i;
      }
    }
    if (argmax < 0) {
      throw new DecodingException("every token of the allowed slice " + range
          + " has probability 0 (all logits -Infinity): no valid action token to choose");
    }
    double temperature = params.greedy() ? 1.0 : params.temperature();
    double sum = 0;
    for (int i = 0; i < n; i++) {
      // Log-sum-exp shift before scaling: (logit - max) is exact in double and <= 0, so dividing by any
      // positive temperature gives a value in [-Inf, 0] and exp gives [0, 1], with the peak exactly
      // 0 and sum >= 1. Dividing first (logit / T - max / T) overflows to Inf - Inf = NaN once
      // max / T leaves the double range.
      scaled[i] = (logits[base + i] - max) / temperature;
      sum += Math.exp(scaled[i]);
    }
    if (params.greedy()) {
      chosen = range.first() + argmax;
      logProbability = scaled[argmax] - Math.log(sum);
      return;
    }
    int kept = n;
    if ((params.topK() > 0 && params.topK() < n) || (params.topP() > 0 && params.topP() < 1)) {
      kept = truncate(n, params, sum);
    } else {
      for (int i = 0; i < n; i++) {
        order[i] = i;
      }
    }
    // Renormalise over the kept tokens and draw by inverse CDF.
    double keptSum = 0;
    for (int j = 0; j < kept; j++) {
      keptSum += Math.exp(scaled[(int) order[j]]);
    }
    double u = random.nextDouble() * keptSum;
    // Unreachable fallback (u < keptSum and running ends at exactly keptSum), kept at a token with mass.
    int pick = argmax;
    double running = 0;
    for (int j = 0; j < kept; j++) {
      int i = (int) order[j];
      running += Math.exp(scaled[i]);
      if (u < running) {
        pick = i;
        break;
      }
    }
    chosen = range.first() + pick;
    logProbability = scaled[pick] - Math.log(keptSum);
  }

  /**
   * Takes {@code token} as chosen (a committed action's token, forced rather than sampled), with its
   * log probability under the masked, temperature-scaled distribution of the slice: how likely the
   * model found it.
   *
   * @throws DecodingException when the slice holds NaN or +Inf, or every allowed logit is -Inf
   * @throws IllegalArgumentException when {@code token} is outside {@code range}
   */
  public void force(float[] logits, int offset, TokenRange range, SamplingParams params, int token) {
    if (!range.contains(token)) {
      throw new IllegalArgumentException("forced token " + token + " outside the allowed slice " + range);
    }
    int n = range.size();
    int base = offset + range.first();
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      float logit = logits[base + i];
      if (Float.isNaN(logit) || logit == Float.POSITIVE_INFINITY) {
        throw new DecodingException("non-finite logit " + logit + " for token " + (range.first() + i)
            + " in the allowed slice " + range + ": the model output is unusable; no action was produced");
      }
      max = Math.max(max, logit);
    }
    if (max == Double.NEGATIVE_INFINITY) {
      throw new DecodingException("every token of the allowed slice " + range
          + " has probability 0 (all logits -Infinity): no valid action token to choose");
    }
    double temperature = params.greedy() ? 1.0 : params.temperature();
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += Math.exp((logits[base + i] - max) / temperature);
    }
    chosen = token;
    logProbability = (logits[base + token - range.first()] - max) / temperature - Math.log(sum);
  }

  /** Orders tokens by probability (descending) into {@link #order} and returns how many are kept. */
  private int truncate(int n, SamplingParams params, double sum) {
    for (int i = 0; i < n; i++) {
      // Sort key: descending probability, then ascending token for ties; packed to sort primitives.
      long key = Double.doubleToLongBits(-scaled[i]);
      key = key ^ ((key >> 63) & Long.MAX_VALUE);
      order[i] = (key & 0xFFFFFFFFFFFFF000L) | i;
    }
    Arrays.sort(order, 0, n);
    for (int i = 0; i < n; i++) {
      order[i] &= 0xFFF;
    }
    int kept = params.topK() > 0 ? Math.min(params.topK(), n) : n;
    if (params.topP() > 0 && params.topP() < 1) {
      double mass = 0;
      for (int j = 0; j < kept; j++) {
        mass += Math.exp(scaled[(int) order[j]]) / sum;
        if (mass >= params.topP()) {
          return j + 1;
        }
      }
    }
    return kept;
  }
}
