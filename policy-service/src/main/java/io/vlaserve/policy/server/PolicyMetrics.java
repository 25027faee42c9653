package io.vlaserve.policy.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vlaserve.policy.batching.BatchingListener;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.springframework.stereotype.Component;

/**
 * Per-stage latency histograms, request outcomes and the batching scheduler's meters, exported to
 * Prometheus. Thread-safe; the scheduler's callbacks only touch meters registered up front.
 *
 * <ul>
 *   <li>{@code vla_policy_batch_size} (phase=prefill|decode): sequences per graph run
 *   <li>{@code vla_policy_batch_run_seconds} (phase): time per graph run
 *   <li>{@code vla_policy_queue_wait_seconds}: submission to admission into a batch
 *   <li>{@code vla_policy_queue_depth}: requests waiting for admission
 *   <li>{@code vla_policy_tokens_total}: action tokens sampled (tokens/s = its rate)
 *   <li>{@code vla_policy_drops_total} (reason=deadline|overload|superseded|shutdown|failed|cancelled)
 *   <li>{@code vla_policy_sessions_active}: Session streams open on this replica
 * </ul>
 */
@Component
public class PolicyMetrics implements BatchingListener {
  private final MeterRegistry registry;
  private final Map<String, Timer> stages = new ConcurrentHashMap<>();
  private final Map<String, Counter> outcomes = new ConcurrentHashMap<>();
  private final Map<Phase, DistributionSummary> batchSizes = new EnumMap<>(Phase.class);
  private final Map<Phase, Timer> batchRuns = new EnumMap<>(Phase.class);
  private final Map<DropReason, Counter> drops = new EnumMap<>(DropReason.class);
  private final Timer queueWait;
  private final Counter tokens;
  private final java.util.concurrent.atomic.AtomicInteger openSessions = new java.util.concurrent.atomic.AtomicInteger();

  public PolicyMetrics(MeterRegistry registry) {
    this.registry = registry;
    io.micrometer.core.instrument.Gauge.builder("vla.policy.sessions.active", openSessions, Number::doubleValue)
        .description("Session streams open on this replica (robots it serves)").register(registry);
    for (Phase phase : Phase.values()) {
      String name = phase.name().toLowerCase(Locale.ROOT);
      batchSizes.put(phase, DistributionSummary.builder("vla.policy.batch.size")
          .description("Sequences per graph run of the continuous-batching scheduler")
          .tag("phase", name)
          .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128)
          .register(registry));
      batchRuns.put(phase, Timer.builder("vla.policy.batch.run")
          .description("Time per graph run of the continuous-batching scheduler")
          .tag("phase", name)
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofMillis(1).dividedBy(10))
          .maximumExpectedValue(Duration.ofSeconds(2))
          .register(registry));
    }
    for (DropReason reason : DropReason.values()) {
      drops.put(reason, Counter.builder("vla.policy.drops")
          .description("Requests that ended without a result, by reason")
          .tag("reason", reason.name().toLowerCase(Locale.ROOT))
          .register(registry));
    }
    queueWait = Timer.builder("vla.policy.queue.wait")
        .description("Time from submission to admission into a batch")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1).dividedBy(100))
        .maximumExpectedValue(Duration.ofSeconds(5))
        .register(registry);
    tokens = Counter.builder("vla.policy.tokens")
        .description("Action tokens sampled; its rate is the replica's tokens per second")
        .register(registry);
  }

  /** Exports the scheduler's queue depth. */
  void watchQueue(IntSupplier waiting) {
    // Held strongly: a gauge keeps only a weak reference to its object by default, and nothing else
    // holds this method reference, so after the first collection the gauge read NaN.
    Gauge.builder("vla.policy.queue.depth", waiting, IntSupplier::getAsInt)
        .strongReference(true)
        .description("Requests waiting for admission into a batch")
        .register(registry);
  }

  /** Records an answered inference: its stages, measured from {@code receivedNanos}, and an ok outcome. */
  void recordInference(PolicyFrontDoor.Answer answer, long receivedNanos) {
    var result = answer.scheduled().result();
    recordStage("queue", answer.scheduled().queueNanos());
    recordStage("preprocess", answer.preprocessedNanos() - receivedNanos);
    recordStage("prefill", result.prefillNanos());
    recordStage("decode", result.decodeNanos());
    recordStage("postprocess", result.postprocessNanos());
    recordStage("total", answer.finishedNanos() - receivedNanos);
    recordOutcome("ok");
  }

  /** Counts a failure by status code and turns it into the exception to answer with. */
  io.grpc.StatusRuntimeException failed(Throwable failure) {
    io.grpc.StatusRuntimeException exception = PolicyStatus.exception(failure);
    recordOutcome(exception.getStatus().getCode().name());
    return exception;
  }

  void recordStage(String stage, long nanos) {
    stages.computeIfAbsent(stage, name -> Timer.builder("vla.policy.stage")
            .description("Time per inference stage")
            .tag("stage", name)
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1).dividedBy(10))
            .maximumExpectedValue(Duration.ofSeconds(5))
            .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  void recordOutcome(String outcome) {
    outcomes.computeIfAbsent(outcome, name -> Counter.builder("vla.policy.requests")
            .description("Inference requests by outcome (ok or the gRPC status code)")
            .tag("outcome", name)
            .register(registry))
        .increment();
  }

  @Override
  public void batchRun(Phase phase, int size, long nanos) {
    batchSizes.get(phase).record(size);
    batchRuns.get(phase).record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void admitted(long nanos) {
    queueWait.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void tokens(int count) {
    tokens.increment(count);
  }

  @Override
  public void dropped(DropReason reason) {
    drops.get(reason).increment();
  }

  /** A Session stream opened. */
  void sessionOpened() {
    openSessions.incrementAndGet();
  }

  /** A Session stream ended, however; once per stream. */
  void sessionClosed() {
    openSessions.decrementAndGet();
  }
}
