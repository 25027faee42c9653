package io.vlaserve.policy.decode;

import io.vlaserve.tokenizer.ActionTokenizer;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Turns a model's logits into action tokens and tokens into actions, the one way both the policy
 * ({@code VlaPolicy}) and the continuous-batching scheduler do it: position {@code t} of a chunk is
 * dimension {@code t % D}, its logits are masked to that dimension's token slice and sampled
 * ({@link MaskedSampler}), and a finished chunk is detokenized with the model's tokenizer profile.
 *
 * <p>Stateless and thread-safe; the samplers it makes are not (one per thread).
 */
public final class ActionDecoder {
  private final ActionTokenizer tokenizer;
  private final int dims;
  private final int maxSlice;

  public ActionDecoder(ActionTokenizer tokenizer, int dims) {
    this.tokenizer = tokenizer;
    this.dims = dims;
    int max = 0;
    for (int d = 0; d < dims; d++) {
      max = Math.max(max, tokenizer.allowedTokens(d).size());
    }
    this.maxSlice = max;
  }

  /** A sampler sized for this model's largest token slice; confine it to one thread. */
  public MaskedSampler newSampler() {
    return new MaskedSampler(maxSlice);
  }

  /**
   * Samples the token of chunk position {@code position} from the logits at
   * {@code logits[offset ..]}; the sampler then holds the token and its log-probability.
   *
   * @throws DecodingException when the logits admit no valid token
   */
  public void sample(MaskedSampler sampler, float[] logits, int offset, int position, SamplingParams params,
      SplittableRandom random) {
    sampler.sample(logits, offset, tokenizer.allowedTokens(position % dims), params, random);
  }

  /**
   * Takes {@code token} for chunk position {@code position} instead of sampling it (a committed
   * prefix's token); the sampler then holds it and its log probability under the logits.
   */
  public void force(MaskedSampler sampler, float[] logits, int offset, int position, SamplingParams params, int token) {
    sampler.force(logits, offset, tokenizer.allowedTokens(position % dims), params, token);
  }

  /**
   * The tokens of a committed prefix, d x D of them.
   *
   * @throws IllegalArgumentException naming the step and dimension of a value that is not finite or a
   *     step without D values
   */
  public int[] prefixTokens(double[][] prefix) {
    int[] tokens = new int[prefix.length * dims];
    for (int s = 0; s < prefix.length; s++) {
      if (prefix[s] == null || prefix[s].length != dims) {
        throw new IllegalArgumentException("committed prefix step " + s + ": " + (prefix[s] == null ? 0
            : prefix[s].length) + " values (expected " + dims + ", one per action dimension)");
      }
      for (int d = 0; d < dims; d++) {
        if (!Double.isFinite(prefix[s][d])) {
          throw new IllegalArgumentException("committed prefix step " + s + " dimension " + d + " ("
              + tokenizer.profile().dimensions().get(d).name() + "): " + prefix[s][d] + " (expected a finite value)");
        }
        tokens[s * dims + d] = tokenizer.encodeValue(d, prefix[s][d]);
      }
    }
    return tokens;
  }

  /** Detokenizes the first {@code steps} x D tokens into {@code steps} actions of D values. */
  public double[][] actions(int[] tokens, int steps) {
    double[] flat = new double[steps * dims];
    tokenizer.decode(tokens, 0, flat, 0, steps);
    double[][] actions = new double[steps][];
    for (int s = 0; s < steps; s++) {
      actions[s] = Arrays.copyOfRange(flat, s * dims, (s + 1) * dims);
    }
    return actions;
  }
}
