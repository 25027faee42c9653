package io.vlaserve.policy.engine;

/**
 * The attention keys and values of a batch of sequences, owned by the engine that made it. Decoding
 * advances a cache in place. Not thread-safe: one decode loop uses it at a time.
 */
public interface KvCache extends AutoCloseable {
  /** Sequences in the batch. */
  int batchSize();

  /** Positions cached so far (the prompt plus tokens decoded). */
  int length();

  /** Releases the cache's memory. */
  @Override
  void close();
}
