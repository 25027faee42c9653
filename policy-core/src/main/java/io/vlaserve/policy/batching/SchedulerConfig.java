package io.vlaserve.policy.batching;

import java.time.Duration;

/**
 * Knobs of the {@link ContinuousBatchScheduler}.
 *
 * @param maxBatchSize sequences decoded together at most; also the number of KV cache slots allocated up front
 * @param maxPrefillBatch prompts prefilled together at most: smaller groups join the running batch sooner,
 *     larger ones amortise more per graph run
 * @param maxQueueDelay how long an idle scheduler waits for more requests before starting a smaller batch
 *     (0 starts at once); a running batch admits newcomers at its next decode step without waiting
 * @param maxQueued requests waiting for admission, over all robots; beyond it requests are refused
 * @param maxQueuedPerRobot requests one robot may have waiting; beyond it that robot is refused
 * @param minRetryAfter the smallest retry delay suggested to refused callers
 */
public record SchedulerConfig(int maxBatchSize, int maxPrefillBatch, Duration maxQueueDelay, int maxQueued,
    int maxQueuedPerRobot, Duration minRetryAfter) {

  public SchedulerConfig {
    if (maxBatchSize < 1 || maxBatchSize > 1024) {
      throw new IllegalArgumentException("max batch size " + maxBatchSize + " (expected: 1..1024)");
    }
    if (maxPrefillBatch < 1) {
      throw new IllegalArgumentException("max prefill batch " + maxPrefillBatch + " (expected: >= 1)");
    }
    if (maxQueueDelay.isNegative()) {
      throw new IllegalArgumentException("max queue delay " + maxQueueDelay + " (expected: >= 0)");
    }
    if (maxQueued < 1) {
      throw new IllegalArgumentException("max queued " + maxQueued + " (expected: >= 1)");
    }
    if (maxQueuedPerRobot < 1) {
      throw new IllegalArgumentException("max queued per robot " + maxQueuedPerRobot + " (expected: >= 1)");
    }
    if (minRetryAfter.isNegative()) {
      throw new IllegalArgumentException("min retry after " + minRetryAfter + " (expected: >= 0)");
    }
  }

  /** Defaults for a CPU replica serving up to 64 robots. */
  public static SchedulerConfig defaults() {
    return new SchedulerConfig(64, 64, Duration.ZERO, 256, 4, Duration.ofMillis(10));
  }

  public SchedulerConfig withMaxPrefillBatch(int size) {
    return new SchedulerConfig(maxBatchSize, size, maxQueueDelay, maxQueued, maxQueuedPerRobot, minRetryAfter);
  }

  public SchedulerConfig withMaxBatchSize(int size) {
    return new SchedulerConfig(size, maxPrefillBatch, maxQueueDelay, maxQueued, maxQueuedPerRobot, minRetryAfter);
  }
}
