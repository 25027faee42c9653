package io.vlaserve.policy.engine;

import java.nio.FloatBuffer;

/**
 * A {@link KvCache} in host memory that callers may read and rearrange between decode steps, so a
 * scheduler can decode sequences of different lengths together (continuous batching). Layout of
 * every view: {@code [layers, 2 (key, value), batch, heads, positions, headDim]} floats, row-major.
 * Not thread-safe, like every cache.
 */
public interface HostKvCache extends KvCache {

  /** The cache as the last graph run left it: {@code batchSize()} sequences of {@code length()} positions. */
  FloatBuffer keysAndValues();

  /**
   * Makes this cache hold {@code batchSize} sequences of {@code length} positions and returns the
   * buffer the next decode reads as its past, for the caller to fill in the layout above. It is the
   * spare of the cache's two buffers: a {@link #keysAndValues()} view taken before this call stays
   * readable until the next decode, so rows can be moved from the old layout into the new one.
   *
   * @throws EngineException when the cache was sized for fewer sequences or positions
   */
  FloatBuffer reshape(int batchSize, int length);

  /** An empty cache of the same engine for up to {@code maxBatchSize} sequences of {@code capacity} positions. */
  HostKvCache newCache(int maxBatchSize, int capacity);
}
