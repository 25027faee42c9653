package io.vlaserve.planner.gateway;

import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.common.v1.CommittedPrefix;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.controller.v1.ChunkAccepted;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.planner.session.CommittedActions;
import io.vlaserve.planner.session.RecentDelays;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.proto.ProtoTimes;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Real-time chunking for one robot session ({@code CHUNK_CONTINUATION_PREFIX}): tracks what the
 * robot is committed to executing, from the chunks the bridge accepted, and gives each observation
 * the actions the robot will execute while the policy answers it.
 *
 * <p>How many: the recent p90 of observation-to-chunk latency, in steps ({@link
 * CommittedActions#prefixLength}), none up to {@code vla.gateway.prefix-min-delay}; none while the robot follows no chunk (before the first, after
 * a hold or halt), when the chunk is then decoded whole and blended in as usual. Times are the
 * observations' capture times (the robot's clock), as the bridge's are. A dimension named {@code
 * gripper} is an opening to reach; every other one an increment per step, as in the project's
 * action profiles.
 *
 * <p>Not thread-safe: the session calls it under its lock.
 */
final class CommittedPrefixes {
  /** Chunks forwarded and not yet answered by the bridge that are remembered, newest first out last. */
  private static final int FORWARDED_REMEMBERED = 16;

  private final CommittedActions committed;
  private final long periodNanos;
  private final long minDelayNanos;
  private final int chunkLength;
  private final RecentDelays delays = new RecentDelays();
  private final Map<Long, ActionChunk> forwarded = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, ActionChunk> eldest) {
      return size() > FORWARDED_REMEMBERED;
    }
  };
  private ExecutionMode lastMode = ExecutionMode.EXECUTION_MODE_UNSPECIFIED;

  private CommittedPrefixes(boolean[] absolute, long periodNanos, long minDelayNanos, int chunkLength) {
    this.committed = new CommittedActions(absolute);
    this.periodNanos = periodNanos;
    this.minDelayNanos = minDelayNanos;
    this.chunkLength = chunkLength;
  }

  /**
   * For the model {@code metadata} describes; null if it cannot continue a prefix: its chunks are too
   * short (one step), or it decodes in parallel.
   *
   * @param minDelay no prefix while the expected delay is at most this; null: half a step
   */
  static CommittedPrefixes of(PolicyMetadata metadata, java.time.Duration minDelay) {
    long period = ProtoTimes.nanos(metadata.getStepPeriod());
    if (metadata.getMaxChunkLength() < 2 || period <= 0 || metadata.getActionDimensionsCount() == 0
        || metadata.getDecoding() == io.vlaserve.policy.v1.Decoding.DECODING_PARALLEL) {
      return null;
    }
    boolean[] absolute = new boolean[metadata.getActionDimensionsCount()];
    for (int d = 0; d < absolute.length; d++) {
      absolute[d] = metadata.getActionDimensions(d).equals("gripper");
    }
    return new CommittedPrefixes(absolute, period, minDelay == null ? period / 2 : minDelay.toNanos(),
        metadata.getMaxChunkLength());
  }

  /** A chunk went to the bridge at {@code now}: its latency counts towards the prefix length. */
  void forwarded(ActionChunk chunk, Instant now) {
    if (!chunk.hasObservationTime()) {
      return;
    }
    delays.add(ProtoTimes.epochNanos(ProtoTimes.timestamp(now)) - ProtoTimes.epochNanos(chunk.getObservationTime()));
    forwarded.put(chunk.getChunkId(), chunk);
  }

  /** The bridge accepted a chunk: from its first executed step on, the robot is committed to it. */
  void accepted(ChunkAccepted accepted) {
    ActionChunk chunk = forwarded.remove(accepted.getChunkId());
    if (chunk == null || chunk.getStepsCount() == 0 || !chunk.hasStepPeriod()) {
      return;
    }
    long period = ProtoTimes.nanos(chunk.getStepPeriod());
    long observation = ProtoTimes.epochNanos(chunk.getObservationTime());
    double[][] steps = new double[chunk.getStepsCount()][];
    for (int s = 0; s < steps.length; s++) {
      ActionVector step = chunk.getSteps(s);
      steps[s] = new double[step.getValuesCount()];
      for (int d = 0; d < steps[s].length; d++) {
        steps[s][d] = step.getValues(d);
      }
    }
    // It starts at its first executed step, or on arrival if that was later (a late chunk is blended in then).
    long firstExecuted = (Integer.toUnsignedLong(chunk.getFirstStep()) + accepted.getSkippedSteps()) * period;
    long arrival = accepted.hasObservationAge() ? ProtoTimes.nanos(accepted.getObservationAge()) : 0;
    try {
      committed.accepted(observation, period, chunk.getFirstStep(), steps, observation + Math.max(firstExecuted, arrival));
    } catch (IllegalArgumentException e) {
      // Not the model's shape (another profile's chunk): nothing is committed that a prefix could describe.
      committed.clear();
    }
  }

  /** The bridge reported its state: a robot that stops following chunks is committed to nothing. */
  void state(ExecutionState state) {
    if (lastMode == ExecutionMode.EXECUTION_MODE_EXECUTING && state.getMode() != ExecutionMode.EXECUTION_MODE_EXECUTING) {
      committed.clear();
    }
    lastMode = state.getMode();
  }

  /** Forgets what the robot was committed to (a halt, a lost bridge). */
  void clear() {
    committed.clear();
    forwarded.clear();
  }

  /** Steps the next prefix would have, from the recent latencies. */
  int prefixLength() {
    return CommittedActions.prefixLength(delays.p90(), minDelayNanos, periodNanos, chunkLength);
  }

  /** The committed prefix to send with {@code observation}; null for none. */
  CommittedPrefix prefixFor(Observation observation) {
    int length = prefixLength();
    if (length == 0 || !observation.hasCaptureTime()) {
      return null;
    }
    double[][] prefix = committed.prefix(ProtoTimes.epochNanos(observation.getCaptureTime()), periodNanos, length);
    if (prefix.length == 0) {
      return null;
    }
    CommittedPrefix.Builder builder = CommittedPrefix.newBuilder().setStepPeriod(ProtoTimes.duration(periodNanos));
    for (double[] step : prefix) {
      ActionVector.Builder vector = ActionVector.newBuilder();
      for (double value : step) {
        vector.addValues(value);
      }
      builder.addSteps(vector);
    }
    return builder.build();
  }
}
