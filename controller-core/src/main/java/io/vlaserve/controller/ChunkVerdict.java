package io.vlaserve.controller;

/**
 * The controller's answer to a submitted chunk: accepted (with how much latency compensation
 * skipped) or rejected (with why, in a sentence that says what to do).
 *
 * <p>Immutable and thread-safe.
 *
 * @param chunkId the chunk
 * @param rejection null when accepted
 * @param skippedSteps steps already in the past on arrival, not executed
 * @param observationAgeNanos age of the chunk's observation on arrival
 * @param message empty when accepted
 */
public record ChunkVerdict(long chunkId, Rejection rejection, int skippedSteps, long observationAgeNanos,
    String message) {

  /** Why a chunk was not accepted. */
  public enum Rejection {
    /** Malformed: non-finite, wrong dimensions, no steps, an observation time in the future. */
    INVALID,
    /** The robot is halted or e-stopped; Resume first. */
    HALTED,
    /** The robot has not reported its state yet (a remote robot whose agent is not connected). */
    NOT_READY,
    /** Every step's time had passed on arrival. */
    ALL_STEPS_PAST,
    /** The chunk answers an older observation than a chunk already accepted. */
    OUT_OF_ORDER
  }

  /** Returns whether the chunk was accepted. */
  public boolean accepted() {
    return rejection == null;
  }

  static ChunkVerdict accepted(long chunkId, int skippedSteps, long observationAgeNanos) {
    return new ChunkVerdict(chunkId, null, skippedSteps, observationAgeNanos, "");
  }

  static ChunkVerdict rejected(long chunkId, Rejection rejection, long observationAgeNanos, String message) {
    return new ChunkVerdict(chunkId, rejection, 0, observationAgeNanos, message);
  }
}
