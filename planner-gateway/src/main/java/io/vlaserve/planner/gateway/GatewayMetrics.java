package io.vlaserve.planner.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vlaserve.planner.session.SessionEffect;
import io.vlaserve.planner.session.SessionEnding;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.stereotype.Component;

/**
 * The gateway's Prometheus metrics: sessions, resumes, subgoals, replans, planning and step latency,
 * and observations not sent to the policy.
 */
@Component
public class GatewayMetrics {
  private final MeterRegistry registry;
  private final AtomicInteger activeSessions = new AtomicInteger();
  private final Timer stepLatency;
  private final Timer resumeLatency;
  private final Timer policyFailover;
  private final Timer bridgeFailover;
  private final Counter replans;
  private final DistributionSummary committedPrefixes;

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    registry.gauge("vla.gateway.sessions.active", activeSessions);
    stepLatency = Timer.builder("vla.gateway.step.latency")
        .description("Observation arrival at the gateway to its chunk forwarded to the controller bridge")
        .publishPercentileHistogram()
        .register(registry);
    resumeLatency = Timer.builder("vla.gateway.resume.latency")
        .description("A resuming open's arrival to the robot accepted: most of a hand-over's hold between replicas")
        .publishPercentileHistogram()
        .register(registry);
    policyFailover = Timer.builder("vla.gateway.policy.failover")
        .description("A session's policy-service stream lost to a ready one again (another replica, or the same back)")
        .publishPercentileHistogram()
        .register(registry);
    bridgeFailover = Timer.builder("vla.gateway.bridge.failover")
        .description("A robot's execution stream lost with its bridge to open again (the bridge back, or another)")
        .publishPercentileHistogram()
        .register(registry);
    replans = Counter.builder("vla.gateway.replans").description("Plans made after a failed subgoal").register(registry);
    committedPrefixes = DistributionSummary.builder("vla.gateway.committed.prefix.steps")
        .description("Steps of the committed prefix sent with an observation (CHUNK_CONTINUATION_PREFIX sessions)")
        .baseUnit("steps")
        .register(registry);
  }

  void committedPrefix(int steps) {
    committedPrefixes.record(steps);
  }

  void sessionStarted() {
    activeSessions.incrementAndGet();
  }

  /** A registered session ended; tagged e.g. outcome="failed", cause="subgoal_failed". */
  void sessionEnded(SessionEnding.Outcome outcome, SessionEnding.Cause cause) {
    activeSessions.decrementAndGet();
    registry.counter("vla.gateway.sessions.finished", "outcome", outcome.name().toLowerCase(Locale.ROOT),
        "cause", cause.name().toLowerCase(Locale.ROOT)).increment();
  }

  /** An open refused because the replica serves vla.gateway.quota.max-sessions already. */
  void sessionRefusedAtCapacity() {
    registry.counter("vla.gateway.sessions.refused", "reason", "capacity").increment();
  }

  /**
   * An open with a resume token: {@code result} "ok", a refused token's reason (e.g. "expired",
   * "replayed"), or "robot_busy" / "execution_failed" when execution did not open.
   */
  void resumed(String result) {
    registry.counter("vla.gateway.resumes", "result", result).increment();
  }

  /** A session's lost policy stream was replaced by a ready one after {@code downFor}. */
  void policyFailedOver(Duration downFor) {
    policyFailover.record(downFor);
  }

  /** A robot's execution was open again {@code downFor} after its bridge went away. */
  void bridgeFailedOver(Duration downFor) {
    bridgeFailover.record(downFor);
  }

  /** A resume took the session, {@code latency} after its open arrived. */
  void resumeAccepted(Duration latency) {
    resumeLatency.record(latency);
  }

  int activeSessions() {
    return activeSessions.get();
  }

  /** A subgoal started, completed, failed or timed out; tagged e.g. status="timed_out". */
  void subgoal(SessionEffect.ReportSubgoal.Status status) {
    registry.counter("vla.gateway.subgoals", "status", status.name().toLowerCase(Locale.ROOT)).increment();
  }

  void replan() {
    replans.increment();
  }

  void planned(String planner, Duration took, String result) {
    Timer.builder("vla.gateway.planning").tag("planner", planner).tag("result", result)
        .register(registry).record(took);
  }

  void step(long nanos) {
    stepLatency.record(Duration.ofNanos(nanos));
  }

  void observationDropped(String reason) {
    registry.counter("vla.gateway.observations.dropped", "reason", reason).increment();
  }

  void chunkRejected(int code) {
    registry.counter("vla.gateway.chunks.rejected", "code", io.grpc.Status.fromCodeValue(code).getCode().name()).increment();
  }
}
