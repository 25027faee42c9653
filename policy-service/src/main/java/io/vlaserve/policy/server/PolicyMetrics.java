package io.vlaserve.policy.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.springframework.stereotype.Component;

/** Per-stage latency histograms and request outcomes, exported to Prometheus. Thread-safe. */
@Component
public class PolicyMetrics {
  private final MeterRegistry registry;
  private final Map<String, Timer> stages = new ConcurrentHashMap<>();
  private final Map<String, Counter> outcomes = new ConcurrentHashMap<>();

  public PolicyMetrics(MeterRegistry registry) {
    this.registry = registry;
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
}
