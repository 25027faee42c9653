package io.vlaserve.controller.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.TimeGauge;
import io.vlaserve.controller.ChunkVerdict;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.loop.ControlLoop;
import io.vlaserve.controller.loop.LoopStatistics;
import io.vlaserve.controller.safety.SafetyEventKind;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import org.springframework.stereotype.Component;

/**
 * The bridge's Micrometer meters (Prometheus names in brackets).
 *
 * <ul>
 *   <li>per loop: period error percentiles {@code quantile} 0.5 / 0.99 / 0.999 / 1 (max)
 *       [{@code vla_controller_loop_period_error_seconds}], compute time per tick, same quantiles
 *       [{@code vla_controller_loop_compute_seconds}], ticks and missed deadlines
 *       [{@code vla_controller_loop_ticks_total}, {@code vla_controller_loop_missed_deadlines_total}];
 *   <li>per robot: safety events by kind, exact even if a client falls behind
 *       [{@code vla_controller_safety_events_total}], chunks accepted and rejected by reason
 *       [{@code vla_controller_chunks_total}], accepted chunks by how they started (spliced,
 *       blended, dropped) [{@code vla_controller_chunks_started_total}].
 * </ul>
 *
 * <p>Loop statistics are folded from the loops' recorders at most every 100 ms, however many meters
 * and clients ask. Thread-safe.
 */
@Component
public final class ControllerMetrics {
  private static final long CACHE_NANOS = 100_000_000;

  private final MeterRegistry registry;
  private final Map<ControlLoop, Cached> loops = new ConcurrentHashMap<>();
  private final Map<String, Counter> chunks = new ConcurrentHashMap<>();

  private static final class Cached {
    long atNanos = Long.MIN_VALUE;
    LoopStatistics.Snapshot snapshot;
  }

  public ControllerMetrics(RobotFleet fleet, MeterRegistry registry) {
    this.registry = registry;
    for (ControlLoop loop : fleet.loops()) {
      registerLoop(loop);
    }
    for (Robot robot : fleet.robots()) {
      for (SafetyEventKind kind : SafetyEventKind.values()) {
        FunctionCounter.builder("vla.controller.safety.events", robot.controller().events(), log -> log.count(kind))
            .description("Safety interventions: clamps, halts, e-stops, watchdog holds, link losses")
            .tag("robot", robot.id())
            .tag("kind", kind.name().toLowerCase(Locale.ROOT))
            .register(registry);
      }
      for (String start : new String[] {"spliced", "blended", "dropped"}) {
        FunctionCounter.builder("vla.controller.chunks.started", robot.controller(), c -> chunksStarted(c, start))
            .description("Accepted chunks by how they started: spliced where their committed prefix ended, blended in,"
                + " or dropped before starting (superseded, or every step past by then)")
            .tag("robot", robot.id())
            .tag("start", start)
            .register(registry);
      }
      chunkCounter(robot.id(), "accepted", "none");
      chunkCounter(robot.id(), "rejected", "invalid");
      if (robot.driver() instanceof RemoteRobotDriver remote) {
        FunctionCounter.builder("vla.controller.agent.setpoints.dropped", remote, RemoteRobotDriver::droppedSetpoints)
            .description("Setpoints never sent to a remote robot's agent: stale while its stream was not ready")
            .tag("robot", robot.id())
            .register(registry);
      }
    }
  }

  private static double chunksStarted(RobotController controller, String start) {
    ExecutionSnapshot state = new ExecutionSnapshot();
    controller.readState(state);
    return switch (start) {
      case "spliced" -> state.chunksSpliced;
      case "blended" -> state.chunksActivated - state.chunksSpliced;
      default -> state.chunksDropped;
    };
  }

  private void registerLoop(ControlLoop loop) {
    String name = loop.name();
    double[] quantiles = {0.5, 0.99, 0.999, 1.0};
    for (double quantile : quantiles) {
      ToLongFunction<LoopStatistics.Snapshot> error = quantile == 0.5 ? LoopStatistics.Snapshot::periodErrorP50Nanos
          : quantile == 0.99 ? LoopStatistics.Snapshot::periodErrorP99Nanos
          : quantile == 0.999 ? LoopStatistics.Snapshot::periodErrorP999Nanos : LoopStatistics.Snapshot::periodErrorMaxNanos;
      ToLongFunction<LoopStatistics.Snapshot> compute = quantile == 0.5 ? LoopStatistics.Snapshot::computeP50Nanos
          : quantile == 0.99 ? LoopStatistics.Snapshot::computeP99Nanos
          : quantile == 0.999 ? LoopStatistics.Snapshot::computeP999Nanos : LoopStatistics.Snapshot::computeMaxNanos;
      String label = quantile == 1.0 ? "1" : Double.toString(quantile);
      TimeGauge.builder("vla.controller.loop.period.error", loop, TimeUnit.NANOSECONDS,
              l -> error.applyAsLong(loopStatistics(l)))
          .description("Control-loop tick period minus its target, by quantile (1 = max) since start")
          .tags("loop", name, "quantile", label)
          .register(registry);
      TimeGauge.builder("vla.controller.loop.compute", loop, TimeUnit.NANOSECONDS,
              l -> compute.applyAsLong(loopStatistics(l)))
          .description("Compute time per control tick, all robots of the loop, by quantile (1 = max) since start")
          .tags("loop", name, "quantile", label)
          .register(registry);
    }
    Gauge.builder("vla.controller.loop.elevated", loop, l -> l.schedulingElevated() ? 1 : 0)
        .description("1 if the OS runs the loop thread above normal threads (SCHED_FIFO, vla.controller.loop-priority,"
            + " or a negative nice value), else 0; the reason is in the health details and the log")
        .tag("loop", name).register(registry);
    FunctionCounter.builder("vla.controller.loop.ticks", loop, l -> loopStatistics(l).ticks())
        .description("Control-loop ticks run").tag("loop", name).register(registry);
    FunctionCounter.builder("vla.controller.loop.missed.deadlines", loop, l -> loopStatistics(l).missedDeadlines())
        .description("Ticks that started more than one period after their deadline").tag("loop", name)
        .register(registry);
  }

  /** Returns the loop's statistics, folded at most {@value #CACHE_NANOS} ns ago. */
  LoopStatistics.Snapshot loopStatistics(ControlLoop loop) {
    Cached cached = loops.computeIfAbsent(loop, l -> new Cached());
    synchronized (cached) {
      long now = System.nanoTime();
      if (cached.snapshot == null || now - cached.atNanos > CACHE_NANOS) {
        cached.snapshot = loop.statistics().snapshot();
        cached.atNanos = now;
      }
      return cached.snapshot;
    }
  }

  /** Counts one chunk verdict. */
  void countChunk(String robotId, ChunkVerdict verdict) {
    String outcome = verdict.accepted() ? "accepted" : "rejected";
    String reason = verdict.accepted() ? "none" : verdict.rejection().name().toLowerCase(Locale.ROOT);
    chunkCounter(robotId, outcome, reason).increment();
  }

  private Counter chunkCounter(String robotId, String outcome, String reason) {
    return chunks.computeIfAbsent(robotId + "/" + outcome + "/" + reason, key -> Counter.builder("vla.controller.chunks")
        .description("Action chunks accepted, and rejected by reason")
        .tags("robot", robotId, "outcome", outcome, "reason", reason)
        .register(registry));
  }
}
