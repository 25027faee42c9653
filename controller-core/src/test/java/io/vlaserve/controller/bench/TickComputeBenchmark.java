package io.vlaserve.controller.bench;

import io.vlaserve.controller.ControllerConfig;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.ManualClock;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.TestLimits;
import io.vlaserve.controller.driver.SimulatedRobotDriver;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
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
 * the gate and the simulator run; the clock is manual, so only compute is timed (System.nanoTime
 * around the ticks of all robots), never waiting. Not part of the default build.
 *
 * <pre>
 * mvn -B -ntp test -pl controller-core -Dtest=TickComputeBenchmark -Dbench.robots=1,8,64 -Dbench.seconds=60
 * </pre>
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
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "Compute per 1 kHz tick, %.0f s simulated after 10 s warm-up, %s, %s%n%n| robots per loop | p50 (us) |"
            + " p99 (us) | p99.9 (us) | max (us) | p99 per robot (us) |%n|---:|---:|---:|---:|---:|---:|%n",
        seconds, Runtime.version(), System.getProperty("os.arch")));
    for (String count : counts) {
      int robots = Integer.parseInt(count.trim());
      Histogram histogram = run(robots, seconds);
      table.append(String.format(Locale.ROOT, "| %d | %.1f | %.1f | %.1f | %.1f | %.2f |%n", robots,
          histogram.getValueAtPercentile(50) / 1e3, histogram.getValueAtPercentile(99) / 1e3,
          histogram.getValueAtPercentile(99.9) / 1e3, histogram.getMaxValue() / 1e3,
          histogram.getValueAtPercentile(99) / 1e3 / robots));
    }
    System.out.println(table);
    Path out = Path.of("target", "benchmarks", "tick-compute.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, table);
  }

  private static Histogram run(int robots, double seconds) {
    ManualClock clock = new ManualClock(1_000_000_000_000L);
    List<RobotController> controllers = new ArrayList<>();
    List<PolicyStream> policies = new ArrayList<>();
    for (int r = 0; r < robots; r++) {
      SimulatedRobotDriver driver = new SimulatedRobotDriver(new TabletopWorld(r, new WorldConfig(3, false)),
          clock.getAsLong());
      controllers.add(new RobotController(ControllerConfig.of("bench-" + r), TestLimits.tabletop(), driver, clock));
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
