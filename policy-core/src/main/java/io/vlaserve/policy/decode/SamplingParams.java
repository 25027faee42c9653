package io.vlaserve.policy.decode;

/**
 * How each action token is chosen from the masked logits.
 *
 * <p>The seed is used as is: it seeds the request's own generator, so the same seed gives the same
 * tokens alone or batched. A caller that sends a stream of observations must not reuse one seed for
 * all of them (every chunk would draw the same noise); it derives one per observation with
 * {@link #forObservation(long)}, which policy-service does for every observation it receives.
 *
 * @param temperature 0 for greedy (argmax); otherwise logits are divided by it before sampling, and it
 *     must be at least {@link #MIN_TEMPERATURE}
 * @param topK keep only the k most likely tokens; 0 disables
 * @param topP keep the smallest set of tokens whose probability reaches p; 0 or 1 disables
 * @param seed seeds the per-sequence generator: the same seed gives the same tokens, alone or batched
 */
public record SamplingParams(double temperature, int topK, double topP, long seed) {
  public static final SamplingParams GREEDY = new SamplingParams(0, 0, 0, 0);

  /**
   * The smallest positive temperature accepted. {@link MaskedSampler} stays finite for any positive
   * temperature, but below this one sampling is greedy in all but name (a logit gap of 0.05, well
   * under what float logits resolve as meaningful, already weighs e^-50), so a smaller value is
   * more likely a unit mistake than a wish, and is refused rather than silently turned into argmax.
   */
  public static final double MIN_TEMPERATURE = 1e-3;

  // SplitMix64's increment: 2^64 divided by the golden ratio, rounded to odd.
  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  public SamplingParams {
    if (!(temperature >= 0) || !Double.isFinite(temperature)) {
      throw new IllegalArgumentException("temperature: " + temperature + " (expected: >= 0, 0 for greedy)");
    }
    if (temperature > 0 && temperature < MIN_TEMPERATURE) {
      throw new IllegalArgumentException("temperature: " + temperature + " (expected: 0 for greedy, or >= "
          + MIN_TEMPERATURE + ")");
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k: " + topK + " (expected: >= 0, 0 to disable)");
    }
    if (!(topP >= 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p: " + topP + " (expected: 0..1, 0 or 1 to disable)");
    }
  }

  public boolean greedy() {
    return temperature == 0;
  }

  /**
   * These parameters with the seed of one observation of a stream: {@link #observationSeed(long, long)}
   * of this seed and the observation's sequence number.
   */
  public SamplingParams forObservation(long sequence) {
    return new SamplingParams(temperature, topK, topP, observationSeed(seed, sequence));
  }

  /**
   * The generator seed of observation {@code sequence} in a stream seeded with {@code seed}. For a
   * fixed stream seed, distinct sequences give distinct seeds (the map is a bijection of the
   * sequence), and the seeds of consecutive sequences are unrelated bit patterns.
   *
   * <p>Why hashing and not {@code seed + sequence}: {@link java.util.SplittableRandom} itself walks
   * its seed by a fixed increment, so seeds that differ by a multiple of it give the same noise
   * shifted by a few draws. Each of the two finaliser passes below is a bijection of 64-bit values,
   * so mixing the sequence, xor-ing the seed in and mixing again keeps distinct sequences distinct.
   */
  public static long observationSeed(long seed, long sequence) {
    return mix64(seed ^ mix64(sequence + GOLDEN_GAMMA));
  }

  /** SplitMix64's finaliser (Stafford's Mix13): a bijection of 64-bit values with good avalanche. */
  private static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
