package io.vlaserve.policy.engine;

/**
 * Runs a VLA's two graphs: prefill a batch of prompts, then decode one token per sequence at a
 * time against the KV cache. Implementations: {@link OnnxRuntimeEngine} (CPU, the default) and the
 * TensorRT engine where CUDA is present. Thread-safe for concurrent calls on different caches.
 */
public interface VlaEngine extends AutoCloseable {

  /** E.g. {@code "onnxruntime-cpu"}. */
  String name();

  /**
   * Runs the prompts and returns their cache.
   *
   * @param logits receives {@code B * V} next-token logits for the last prompt position
   * @param maxNewTokens tokens the caller will decode at most, so the cache can be sized once
   */
  KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens);

  /**
   * Appends one token per sequence and advances {@code cache} in place.
   *
   * @param tokenIds {@code B} tokens chosen at the previous position
   * @param positionIds {@code B} positions of those tokens
   * @param attentionMask {@code B * (cache.length() + 1)}: 1 to attend, 0 to ignore
   * @param logits receives {@code B * V} next-token logits
   */
  void decode(KvCache cache, long[] tokenIds, long[] positionIds, float[] attentionMask, float[] logits);

  /**
   * A parallel-decoding model's one pass ({@link io.vlaserve.policy.model.ModelPackage.Decoding#PARALLEL}):
   * every action token's logits at once, no cache.
   *
   * @param logits receives {@code B * A * V} logits, A = the chunk's action tokens, row-major
   * @throws UnsupportedOperationException when this engine does not run parallel-decoding models
   */
  default void predictAll(PromptBatch batch, float[] logits) {
    throw new UnsupportedOperationException(name() + " does not run parallel-decoding models");
  }

  @Override
  void close();
}
