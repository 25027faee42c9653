package io.vlaserve.policy.decode;

/**
 * How each action token is chosen from the masked logits.
 *
 * @param temperature 0 for greedy (argmax); otherwise logits are divided by it before sampling
 * @param topK keep only the k most likely tokens; 0 disables
 * @param topP keep the smallest set of tokens whose probability reaches p; 0 or 1 disables
 * @param seed seeds the per-sequence generator: the same seed gives the same tokens, alone or batched
 */
public record SamplingParams(double temperature, int topK, double topP, long seed) {
  public static final SamplingParams GREEDY = new SamplingParams(0, 0, 0, 0);

  public SamplingParams {
    if (!(temperature >= 0) || !Double.isFinite(temperature)) {
      throw new IllegalArgumentException("temperature: " + temperature + " (expected: >= 0, 0 for greedy)");
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
}
