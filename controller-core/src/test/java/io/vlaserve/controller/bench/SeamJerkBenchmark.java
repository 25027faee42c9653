package io.vlaserve.controller.bench;

import io.vlaserve.controller.ControllerConfig;
import io.vlaserve.controller.ControllerHarness;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.TestLimits;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Jerk at chunk seams with blending against the naive switch (BLENDING_NONE), for every
 * interpolation. Deterministic (a manual clock, no sleeping), so it can run anywhere; not part of
 * the default build (surefire only picks up *Test, *Tests, *Properties).
 *
 * <p>Policy-like chunks of 10 steps x 100 ms arrive every 100 ms with 50-150 ms inference latency.
 * "Through" uses limits so wide the gate passes the reference through: that is the trajectory's own
 * jerk. "Gated" uses the tabletop limits (1 m/s, 10 m/s^2, 2000 m/s^3) and counts clamps.
 *
 * <pre>
 * mvn -B -ntp test -pl controller-core -Dtest=SeamJerkBenchmark -Dbench.seconds=60
 * </pre>
 *
 * Prints a markdown table and writes it to {@code controller-core/target/benchmarks/seam-jerk.md}.
 */
class SeamJerkBenchmark {
  private static final long MS = 1_000_000;

  record Row(String interpolation, String blending, double maxJerk, double p99Jerk, double seamJerk, long clamps) {}

  @Test
  void jerkAtSeams() throws IOException {
    double seconds = Double.parseDouble(System.getProperty("bench.seconds", "60"));
    List<ExecutionSettings> settings = new ArrayList<>();
    for (Interpolation interpolation : Interpolation.values()) {
      settings.add(new ExecutionSettings(interpolation, Blending.NONE));
      settings.add(new ExecutionSettings(interpolation, Blending.exponential(0.5)));
      settings.add(new ExecutionSettings(interpolation, Blending.crossfade(Duration.ofMillis(100))));
    }
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "Seam jerk, %.0f s of simulated policy chunks per row (10 steps x 100 ms every 100 ms, 50-150 ms latency,"
            + " ~0.2 m/s), 1 kHz%n%n| interpolation | blending | max jerk (m/s^3) | p99 jerk | max jerk within"
            + " 20 ms of a seam | clamp events with tabletop limits |%n|---|---|---:|---:|---:|---:|%n", seconds));
    for (ExecutionSettings setting : settings) {
      Row through = run(setting, TestLimits.wide(), seconds);
      Row gated = run(setting, TestLimits.tabletop(), seconds);
      table.append(String.format(Locale.ROOT, "| %s | %s | %.0f | %.0f | %.0f | %d |%n", through.interpolation(),
          through.blending(), through.maxJerk(), through.p99Jerk(), through.seamJerk(), gated.clamps()));
    }
    System.out.println(table);
    Path out = Path.of("target", "benchmarks", "seam-jerk.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, table);
  }

  private static Row run(ExecutionSettings settings, SafetyLimits limits, double seconds) {
    ControllerHarness h = new ControllerHarness(ControllerConfig.of("bench"), limits);
    PolicyStream policy = new PolicyStream(7, 0.2);
    h.tick();
    long end = h.now() + Math.round(seconds * 1e9);
    long nextChunk = h.now();
    long id = 0;
    List<Long> seams = new ArrayList<>();
    long activated = 0;
    while (h.now() < end) {
      if (h.now() >= nextChunk) {
        long latency = policy.latency(50 * MS, 150 * MS);
        h.controller.submit(policy.next(++id, h.now() - latency, 100 * MS, 10), settings);
        nextChunk += 100 * MS;
      }
      h.tick();
      long now = h.state().chunksActivated;
      if (now != activated) {
        seams.add((long) h.sent.size() - 1);
        activated = now;
      }
    }
    // Jerk per axis from the setpoints, as a robot would differentiate them.
    double[] jerks = new double[h.sent.size()];
    double max = 0;
    for (int i = 3; i < h.sent.size(); i++) {
      double largest = 0;
      for (int axis = 0; axis < 3; axis++) {
        double p0 = h.sent.get(i)[axis];
        double p1 = h.sent.get(i - 1)[axis];
        double p2 = h.sent.get(i - 2)[axis];
        double p3 = h.sent.get(i - 3)[axis];
        largest = Math.max(largest, Math.abs(p0 - 3 * p1 + 3 * p2 - p3) / 1e-9);
      }
      jerks[i] = largest;
      max = Math.max(max, largest);
    }
    double seam = 0;
    for (long s : seams) {
      for (long i = Math.max(3, s - 20); i < Math.min(jerks.length, s + 20); i++) {
        seam = Math.max(seam, jerks[(int) i]);
      }
    }
    double[] sorted = jerks.clone();
    java.util.Arrays.sort(sorted);
    double p99 = sorted[(int) Math.floor(0.99 * (sorted.length - 1))];
    String blending = switch (settings.blending().mode()) {
      case NONE -> "none";
      case EXPONENTIAL -> "exponential k=" + settings.blending().decay();
      case LINEAR_CROSSFADE -> "crossfade " + settings.blending().blendTimeNanos() / MS + " ms";
    };
    long clamps = h.events.size();
    return new Row(settings.interpolation().name().toLowerCase(Locale.ROOT), blending, max, p99, seam, clamps);
  }
}
