package io.vlaserve.policy.batching;

/**
 * What the scheduler reports as it runs, e.g. to metrics. Called on the scheduler's decode and
 * prefill threads (and on submitting threads for refusals and supersessions): implementations must be
 * thread-safe, quick, and must not block.
 */
public interface BatchingListener {
  /** Why a request ended without a result. */
  enum DropReason { DEADLINE, OVERLOAD, SUPERSEDED, SHUTDOWN, FAILED, CANCELLED }

  /** Which graph a batch ran. */
  enum Phase { PREFILL, DECODE }

  BatchingListener NONE = new BatchingListener() {};

  /** One graph run over {@code size} sequences took {@code nanos}. */
  default void batchRun(Phase phase, int size, long nanos) {}

  /** A request left the queue for compute after waiting {@code nanos}. */
  default void admitted(long nanos) {}

  /** {@code count} action tokens were sampled. */
  default void tokens(int count) {}

  /** A request ended without a result. */
  default void dropped(DropReason reason) {}
}
