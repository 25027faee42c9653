package io.vlaserve.controller.bench;

import io.vlaserve.controller.ControllerConfig;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.ManualClock;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.TestLimits;
import io.vlaserve.controller.ScriptedDriver;
import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.SafetyLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/**
 * Compute time of one control tick for N robots ticked by one loop thread, as Polymetis measured
 * it (0.2-0.3 ms per 1 kHz tick, to stay well under 0.5 ms): chunks stream in at 10 Hz per robot,
 * the gate runs and a kinematic robot follows (since 2026-12-06; before, the simulator did, which
 * controller-core no longer carries); the clock is manual, so only compute is timed (System.nanoTime
 * around the ticks of all robots), never waiting. Not part of the default build.
 *
 * <pre>
 * mvn -B -ntp test -pl controller-core -Dtest=TickComputeBenchmark -Dbench.robots=1,8,64 -Dbench.seconds=60 \
 *     -Dbench.limits=default,slow
 * </pre>
 *
 * {@code slow} is the tabletop with a = 0.05 m/s^2, j = 0.1 m/s^3 and 0.1 m/s (stops of ~2.5 s,
 * issue 15 hazard 5): the safety filter's per-tick cost must not grow with the stopping time.
 *
 * Prints a markdown table and writes it to {@code controller-core/target/benchmarks/tick-compute.md}.
 * Run on a quiet machine; chunk submission (which allocates, as on a gRPC thread) is not timed.
 */
class TickComputeBenchmark {
  private static final long MS = 1_000_000;

  @Test
  void computePerTick() throws IOException {
    double seconds = Double.parseDouble(System.getProperty("bench.seconds", "60"));
    String[] counts = System.getProperty("bench.robots", "1,64").split(",");
    String[] limitSets = System.getProperty("bench.limits", "default").split(",");
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "Compute per 1 kHz tick, %.0f s simulated after 10 s warm-up, %s, %s%n%n| limits | robots per loop | p50 (us) |"
            + " p99 (us) | p99.9 (us) | max (us) | p99 per robot (us) |%n|---|---:|---:|---:|---:|---:|---:|%n",
        seconds, Runtime.version(), System.getProperty("os.arch")));
    for (String limitSet : limitSets) {
      SafetyLimits limits = limits(limitSet.trim());
      for (String count : counts) {
        int robots = Integer.parseInt(count.trim());
        Histogram histogram = run(robots, seconds, limits);
        table.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.2f |%n", limitSet.trim(),
            robots, histogram.getValueAtPercentile(50) / 1e3, histogram.getValueAtPercentile(99) / 1e3,
            histogram.getValueAtPercentile(99.9) / 1e3, histogram.getMaxValue() / 1e3,
            histogram.getValueAtPercentile(99) / 1e3 / robots));
      }
    }
    System.out.println(table);
    Path out = Path.of("target", "benchmarks", "tick-compute.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, table);
  }

  /** The tabletop limits, or ("slow") the same with a = 0.05 m/s^2, j = 0.1 m/s^3, v = 0.1 m/s. */
  private static SafetyLimits limits(String name) {
    SafetyLimits tabletop = TestLimits.tabletop();
    return switch (name) {
      case "default" -> tabletop;
      case "slow" -> new SafetyLimits(tabletop.workspaceMin(), tabletop.workspaceMax(), tabletop.workspaceMode(),
          AxisLimit.clamp(0.1), AxisLimit.clamp(0.05), AxisLimit.clamp(0.1), tabletop.maxAngularVelocity(),
          tabletop.maxGripperRate(), tabletop.watchdogTimeout(), tabletop.maxAngularAcceleration(),
          tabletop.maxAngularJerk(), tabletop.maxGripperAcceleration(), tabletop.orientationWorkspace());
      default -> throw new IllegalArgumentException("bench.limits: " + name + " (expected: default or slow)");
    };
  }

  private static Histogram run(int robots, double seconds, SafetyLimits limits) {
    ManualClock clock = new ManualClock(1_000_000_000_000L);
    List<RobotController> controllers = new ArrayList<>();
    List<PolicyStream> policies = new ArrayList<>();
    for (int r = 0; r < robots; r++) {
      ScriptedDriver driver = ScriptedDriver.atCentre(clock.getAsLong());
      controllers.add(new RobotController(ControllerConfig.of("bench-" + r), limits, driver, clock));
      policies.add(new PolicyStream(r, 0.2));
    }
    Histogram histogram = new Histogram(1, 10_000_000_000L, 3);
    long warmUp = 10_000;
    long ticks = warmUp + Math.round(seconds * 1000);
    long id = 0;
    for (long t = 0; t < ticks; t++) {
      clock.advance(MS);
      if (t % 100 == 0) {
        for (int r = 0; r < robots; r++) {
          controllers.get(r).submit(policies.get(r).next(++id, clock.getAsLong() - 80 * MS, 100 * MS, 10),
              ExecutionSettings.DEFAULT);
        }
      }
      long start = System.nanoTime();
      for (RobotController controller : controllers) {
        controller.tick(clock.getAsLong());
      }
      long elapsed = System.nanoTime() - start;
      if (t >= warmUp) {
        histogram.recordValue(Math.max(1, elapsed));
      }
      if (t % 100 == 50) {
        for (RobotController controller : controllers) {
          controller.events().drain(event -> { });
        }
      }
    }
    return histogram;
  }
}
