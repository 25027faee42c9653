package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.sim.BlockState;
import io.vlaserve.sim.Quaternion;
import io.vlaserve.sim.Vec3;
import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.BlockColor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's report from scraped metrics and one robot's path: the JSON and the three charts. */
class DemoReportTest {
  /** A Micrometer-style percentile histogram of step latencies, 1 ms .. 30 s buckets, slowest step 1.8 s. */
  private static String gatewayMetrics() {
    StringBuilder text = new StringBuilder();
    double total = 1000;
    for (double bound = 0.001; bound < 30; bound *= 1.4) {
      // Nothing under 5 ms, half by 20 ms, 99% by 60 ms, all by 1.8 s.
      double count = bound < 0.005 ? 0 : bound < 0.06 ? Math.min(990, 990 * Math.log(bound / 0.005) / Math.log(12))
          : bound < 1.8 ? 990 + 10 * Math.log(bound / 0.06) / Math.log(30) : total;
      text.append(String.format(Locale.ROOT,
          "vla_gateway_step_latency_seconds_bucket{service=\"planner-gateway\",le=\"%s\"} %s%n", bound, Math.floor(count)));
    }
    text.append("vla_gateway_step_latency_seconds_bucket{service=\"planner-gateway\",le=\"+Inf\"} 1000.0\n");
    return text.toString();
  }

  private static final String CONTROLLER_METRICS = """
      vla_controller_loop_period_error_seconds{service="controller",quantile="0.5"} 1.2E-5
      vla_controller_loop_period_error_seconds{service="controller",quantile="0.99"} 8.8E-5
      vla_controller_loop_period_error_seconds{service="controller",quantile="1"} 0.00107
      vla_controller_loop_missed_deadlines_total{service="controller"} 3.0
      vla_controller_loop_ticks_total{service="controller"} 60000.0
      """;

  @Test
  void writesTheReportAndItsCharts(@TempDir Path tmp) throws IOException {
    String keep = System.getProperty("charts.samples");
    Path dir = keep == null ? tmp : Path.of(keep, "demo");
    List<double[]> path = new ArrayList<>();
    for (int i = 0; i <= 100; i++) {
      double t = i / 100.0;
      // From the start pose down to the blue block at (0.42, -0.10), then over to the plate at (0.60, 0.12).
      path.add(t < 0.5 ? new double[] {t * 10, 0.50 - 0.16 * t, 0.02 - 0.24 * t, 0.2}
          : new double[] {t * 10, 0.42 + 0.36 * (t - 0.5), -0.10 + 0.44 * (t - 0.5), 0.1});
    }
    WorldState scene = new WorldState(new Vec3(0.50, 0.02, 0.2), Quaternion.IDENTITY, 1, -1,
        List.of(new BlockState(BlockColor.BLUE, new Vec3(0.42, -0.10, 0.02)),
            new BlockState(BlockColor.YELLOW, new Vec3(0.55, -0.15, 0.02))),
        new Vec3(0.60, 0.12, 0), 0);
    DemoReport.Robot robot = new DemoReport.Robot("robot-0", "put the blue block on the plate", "SUCCEEDED", "", 0,
        10, List.of(), path, scene);

    DemoReport.write(dir, List.of(robot), gatewayMetrics(), CONTROLLER_METRICS);

    assertTrue(Files.readString(dir.resolve("report.json")).contains("\"tasks_succeeded\" : 1"));
    for (String name : List.of("latency-cdf.png", "controller-jitter.png", "trajectory.png")) {
      BufferedImage image = ImageIO.read(dir.resolve(name).toFile());
      assertEquals(Charts.WIDTH, image.getWidth(), name);
      assertEquals(Charts.HEIGHT, image.getHeight(), name);
    }
  }
}
