package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the charts' axes show (ticks, labels, scales, viewports), and that each chart renders. */
class ChartsTest {
  private static List<String> labels(List<Charts.Tick> ticks) {
    return ticks.stream().map(Charts.Tick::label).toList();
  }

  private static double[] values(List<Charts.Tick> ticks) {
    return ticks.stream().mapToDouble(Charts.Tick::value).toArray();
  }

  @Nested
  class LinearTicks {
    @Test
    void stepsAreTheNearestOneTwoOrFiveTimesAPowerOfTen() {
      assertEquals(new BigDecimal("0.05"), Charts.niceStep(0.048));
      assertEquals(new BigDecimal("0.2"), Charts.niceStep(0.3));
      assertEquals(new BigDecimal("0.5"), Charts.niceStep(0.33));
      assertEquals(BigDecimal.ONE, Charts.niceStep(1));
      assertEquals(BigDecimal.ONE, Charts.niceStep(1.4));
      assertEquals(new BigDecimal("2"), Charts.niceStep(2.1));
      assertEquals(new BigDecimal("5"), Charts.niceStep(7));
      assertEquals(new BigDecimal("1E+1"), Charts.niceStep(7.5));
      assertEquals(new BigDecimal("2E+2"), Charts.niceStep(214));
    }

    @Test
    void aFractionAxisGetsOneDecimal() {
      List<Charts.Tick> ticks = Charts.linearTicks(-0.04, 1.04, 5);
      assertEquals(List.of("0.0", "0.2", "0.4", "0.6", "0.8", "1.0"), labels(ticks));
      assertArrayEquals(new double[] {0, 0.2, 0.4, 0.6, 0.8, 1}, values(ticks), 1e-12);
    }

    @Test
    void labelsCarryTheDigitsTheStepNeedsAndNoNegativeZero() {
      assertEquals(List.of("-0.10", "-0.05", "0.00", "0.05", "0.10"), labels(Charts.linearTicks(-0.12, 0.12, 5)));
      assertEquals(List.of("0.35", "0.40", "0.45", "0.50", "0.55", "0.60", "0.65"),
          labels(Charts.linearTicks(0.33, 0.67, 7)));
    }

    @Test
    void largeValuesAreWrittenOutNotInScientificNotation() {
      assertEquals(List.of("0", "500", "1000"), labels(Charts.linearTicks(0, 1070, 3)));
      assertEquals(List.of("0", "200", "400", "600", "800", "1000"), labels(Charts.linearTicks(0, 1070, 5)));
    }

    @Test
    void boundsOnAStepAreTicks() {
      assertEquals(List.of("0.1", "0.2", "0.3"), labels(Charts.linearTicks(0.1, 0.3, 2)));
    }

    @Test
    void anEmptyRangeIsRefused() {
      assertThrows(IllegalArgumentException.class, () -> Charts.linearTicks(1, 1, 5));
      assertThrows(IllegalArgumentException.class, () -> Charts.linearTicks(0, 1, 0));
    }
  }

  @Nested
  class LogAxis {
    @Test
    void latenciesFromFiveMillisecondsToTwoSecondsGetOneTwoFiveTicks() {
      double[] range = Charts.logRange(5, 2000);
      double room = Math.pow(10, 0.03 * Math.log10(2000 / 5.0));
      assertArrayEquals(new double[] {5 / room, 2000 * room}, range, 1e-9, "3% of the decades on each side");
      assertEquals(List.of("5", "10", "20", "50", "100", "200", "500", "1000", "2000"),
          labels(Charts.logTicks(range[0], range[1])));
    }

    @Test
    void subMillisecondTicksArePlainDecimals() {
      assertEquals(List.of("0.2", "0.5", "1", "2"), labels(Charts.logTicks(0.2, 2)));
    }

    @Test
    void manyDecadesGetPowersOfTenOnly() {
      assertEquals(List.of("0.1", "1", "10", "100", "1000", "10000", "100000"),
          labels(Charts.logTicks(0.1, 1e5)));
    }

    @Test
    void aSingleValueGetsADecadeAroundIt() {
      double[] range = Charts.logRange(4.2, 4.2);
      assertEquals(1, Math.log10(range[1] / range[0]), 1e-9);
      assertEquals(List.of("2", "5", "10"), labels(Charts.logTicks(range[0], range[1])));
    }

    @Test
    void eachDecadeTakesTheSameLength() {
      Charts.Scale scale = new Charts.Scale(1, 1000, true, 100, 400);
      assertEquals(100, scale.pixel(1), 1e-9);
      assertEquals(200, scale.pixel(10), 1e-9);
      assertEquals(300, scale.pixel(100), 1e-9);
      assertEquals(400, scale.pixel(1000), 1e-9);
      assertEquals(100 + 100 * Math.log10(2), scale.pixel(2), 1e-9);
      assertEquals(100, scale.pixel(0), 1e-9, "not positive: drawn at the lower end");
    }

    @Test
    void aLogScaleNeedsAPositiveRange() {
      assertThrows(IllegalArgumentException.class, () -> new Charts.Scale(0, 10, true, 0, 100));
      assertThrows(IllegalArgumentException.class, () -> Charts.logTicks(-1, 10));
    }
  }

  @Test
  void valueLabelsAreWrittenOutToThreeSignificantDigits() {
    assertEquals("1070", Charts.significant(1070.4, 3));
    assertEquals("88", Charts.significant(88.0, 3));
    assertEquals("12.5", Charts.significant(12.5, 3));
    assertEquals("0.00123", Charts.significant(0.0012345, 3));
    assertEquals("0", Charts.significant(0, 3));
  }

  @Nested
  class LinearScale {
    @Test
    void mapsLinearlyAndMayRunUpwards() {
      Charts.Scale y = new Charts.Scale(0, 1, false, 380, 60);
      assertEquals(380, y.pixel(0), 1e-9);
      assertEquals(220, y.pixel(0.5), 1e-9);
      assertEquals(60, y.pixel(1), 1e-9);
    }
  }

  @Nested
  class EqualScale {
    @Test
    void oneMetreIsAsLongOnBothAxes() {
      Charts.Viewport view = Charts.equalScale(0.40, 0.62, -0.15, 0.12, 600, 300, 0.08);
      double xPerPixel = (view.maxX() - view.minX()) / 600;
      double yPerPixel = (view.maxY() - view.minY()) / 300;
      assertEquals(xPerPixel, yPerPixel, 1e-12);
    }

    @Test
    void theDataStaysInsideWithTheMarginAndCentred() {
      Charts.Viewport view = Charts.equalScale(0.40, 0.62, -0.15, 0.12, 600, 300, 0.08);
      double pad = 0.27 * 0.08;
      // y is the tighter axis here (0.27 m over 300 px against 0.22 m over 600 px): it gets just the margin.
      assertEquals(-0.15 - pad, view.minY(), 1e-12);
      assertEquals(0.12 + pad, view.maxY(), 1e-12);
      assertTrue(view.minX() < 0.40 - pad && view.maxX() > 0.62 + pad);
      assertEquals(0.51, (view.minX() + view.maxX()) / 2, 1e-12);
    }

    @Test
    void aTallBoxWidensY() {
      Charts.Viewport view = Charts.equalScale(0, 1, 0, 0.01, 100, 400, 0);
      assertEquals(0, view.minX(), 1e-12);
      assertEquals(1, view.maxX(), 1e-12);
      assertEquals(4, view.maxY() - view.minY(), 1e-12);
    }

    @Test
    void aSinglePointGetsARoomAroundIt() {
      Charts.Viewport view = Charts.equalScale(0.5, 0.5, 0.2, 0.2, 600, 300, 0.08);
      assertTrue(view.maxX() > view.minX() && view.maxY() > view.minY());
      assertEquals(0.5, (view.minX() + view.maxX()) / 2, 1e-12);
    }
  }

  @Nested
  class Rendering {
    /** Set {@code -Dcharts.samples=DIR} to keep the sample PNGs there and look at them. */
    private Path out(Path tmp) throws IOException {
      String keep = System.getProperty("charts.samples");
      return keep == null ? tmp : Files.createDirectories(Path.of(keep));
    }

    @Test
    void aLatencyCdfOnALogAxis(@TempDir Path tmp) throws IOException {
      // Load-test-like latencies: most near 20 ms, a tail out to 2 s.
      Random random = new Random(7);
      double[] latencies = new double[20_000];
      for (int i = 0; i < latencies.length; i++) {
        latencies[i] = Math.min(2000, 5 + Math.exp(2.7 + 0.5 * random.nextGaussian())
            + (random.nextDouble() < 0.01 ? 300 * random.nextDouble() * random.nextDouble() * 6 : 0));
      }
      latencies[0] = 2000;
      java.util.Arrays.sort(latencies);
      List<double[]> points = new ArrayList<>();
      for (double p = 0; p < 99.99; p += p < 90 ? 2 : 0.5) {
        points.add(new double[] {latencies[(int) (p / 100 * (latencies.length - 1))], p / 100});
      }
      points.add(new double[] {latencies[latencies.length - 1], 1});
      Path file = out(tmp).resolve("latency-cdf.png");
      Charts.lines(file, "Observation -> chunk, 64 robots x 10 Hz",
          Charts.Axis.log("latency from intended send (ms, log scale)"), Charts.Axis.linear("fraction of observations"),
          List.of(new Charts.Series("CDF", points.stream().mapToDouble(v -> v[0]).toArray(),
              points.stream().mapToDouble(v -> v[1]).toArray(), false)));
      assertDrawn(file);
    }

    @Test
    void aTrajectoryToEqualScale(@TempDir Path tmp) throws IOException {
      int n = 200;
      double[] x = new double[n];
      double[] y = new double[n];
      for (int i = 0; i < n; i++) {
        double t = i / (double) (n - 1);
        // Start, over to a block at (0.45, -0.12), then to the plate at (0.58, 0.08).
        double u = t < 0.5 ? t * 2 : t * 2 - 1;
        double ease = u * u * (3 - 2 * u);
        x[i] = t < 0.5 ? 0.52 - 0.07 * ease : 0.45 + 0.13 * ease;
        y[i] = (t < 0.5 ? 0.05 - 0.17 * ease : -0.12 + 0.20 * ease) + 0.01 * Math.sin(Math.PI * u);
      }
      Path file = out(tmp).resolve("trajectory.png");
      Charts.plane(file, "robot-0: put the red block on the plate", "x (m)", "y (m)", List.of(
          new Charts.Series("robot-0 end effector (x, y)", x, y, false),
          new Charts.Series("red block at start", new double[] {0.45}, new double[] {-0.12}, true,
              new java.awt.Color(214, 39, 40)),
          new Charts.Series("plate", new double[] {0.58}, new double[] {0.08}, true, java.awt.Color.LIGHT_GRAY)));
      assertDrawn(file);
    }

    @Test
    void bars(@TempDir Path tmp) throws IOException {
      Path file = out(tmp).resolve("controller-jitter.png");
      Charts.bars(file, "Controller loop period error (1 kHz)", "period error (µs)", List.of("p50", "p99", "max"),
          new double[] {12.5, 88, 1070});
      assertDrawn(file);
    }

    private static void assertDrawn(Path file) throws IOException {
      BufferedImage image = ImageIO.read(file.toFile());
      assertEquals(Charts.WIDTH, image.getWidth());
      assertEquals(Charts.HEIGHT, image.getHeight());
      int inked = 0;
      for (int py = 0; py < image.getHeight(); py++) {
        for (int px = 0; px < image.getWidth(); px++) {
          if ((image.getRGB(px, py) & 0xFFFFFF) != 0xFFFFFF) {
            inked++;
          }
        }
      }
      assertTrue(inked > 5_000, "inked pixels: " + inked + " (expected > 5000)");
    }
  }
}
