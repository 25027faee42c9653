package io.vlaserve.cli;

import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Subgoal;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.sim.BlockState;
import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.BlockColor;
import java.awt.Color;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.databind.json.JsonMapper;

/**
 * The demo's report: task and per-subgoal success, control-step latency (from the gateway's
 * histogram), the controller's loop jitter, and safety interventions; printed, written as JSON, and
 * drawn as PNG charts (latency CDF, jitter percentiles, one robot's end-effector path against its
 * targets).
 */
final class DemoReport {
  private static final Pattern BUCKET = Pattern.compile(
      "^vla_gateway_step_latency_seconds_bucket\\{.*le=\"([^\"]+)\".*\\} ([0-9.eE+-]+)$");
  private static final Pattern JITTER = Pattern.compile(
      "^vla_controller_loop_period_error_seconds\\{.*quantile=\"([^\"]+)\".*\\} ([0-9.eE+-]+)$");
  private static final Pattern MISSED = Pattern.compile("^vla_controller_loop_missed_deadlines_total\\{.*\\} ([0-9.eE+-]+)$");
  private static final Pattern TICKS = Pattern.compile("^vla_controller_loop_ticks_total\\{.*\\} ([0-9.eE+-]+)$");

  /** What one robot did, with what the demo needs to draw it. */
  record Robot(String id, String task, String outcome, String reason, int replans, double seconds,
      List<GatewayMessage> received, List<double[]> trajectory, WorldState scene) {}

  private DemoReport() {}

  /** Prints the summary, writes {@code report.json} and the PNGs into {@code dir}. */
  static void write(Path dir, List<Robot> robots, String gatewayMetrics, String controllerMetrics) throws IOException {
    Files.createDirectories(dir);
    Map<String, Object> report = new LinkedHashMap<>();
    long succeeded = robots.stream().filter(r -> r.outcome().equals("SUCCEEDED")).count();
    report.put("tasks", robots.size());
    report.put("tasks_succeeded", succeeded);

    // Per subgoal: attempts and completions, by instruction.
    Map<String, int[]> subgoals = new TreeMap<>();
    Map<String, Integer> interventions = new TreeMap<>();
    for (Robot robot : robots) {
      Map<String, String> instructions = new HashMap<>();
      for (GatewayMessage message : robot.received()) {
        if (message.hasPlan()) {
          for (Subgoal subgoal : message.getPlan().getSubgoalsList()) {
            instructions.put(subgoal.getId(), subgoal.getInstruction());
          }
        } else if (message.hasSubgoal()) {
          String instruction = instructions.getOrDefault(message.getSubgoal().getSubgoalId(), "?");
          int[] counts = subgoals.computeIfAbsent(instruction, k -> new int[2]);
          if (message.getSubgoal().getStatus() == SubgoalStatus.SUBGOAL_STATUS_STARTED) {
            counts[0]++;
          } else if (message.getSubgoal().getStatus() == SubgoalStatus.SUBGOAL_STATUS_COMPLETED) {
            counts[1]++;
          }
        } else if (message.hasSafetyEvent()) {
          SafetyEvent event = message.getSafetyEvent();
          String key = event.getKind().name().replace("SAFETY_EVENT_KIND_", "").toLowerCase(Locale.ROOT) + "/"
              + event.getAction().name().replace("LIMIT_MODE_", "").toLowerCase(Locale.ROOT);
          interventions.merge(key, 1, Integer::sum);
        }
      }
    }
    Map<String, Object> perSubgoal = new LinkedHashMap<>();
    subgoals.forEach((instruction, counts) -> perSubgoal.put(instruction, Map.of("attempts", counts[0],
        "completed", counts[1])));
    report.put("subgoals", perSubgoal);
    report.put("safety_interventions", interventions);

    // Control-step latency: the gateway's histogram (observation in -> chunk out to the bridge).
    List<double[]> cdf = new ArrayList<>();
    double total = 0;
    for (String line : gatewayMetrics.lines().toList()) {
      Matcher m = BUCKET.matcher(line);
      if (m.matches() && !m.group(1).equals("+Inf")) {
        cdf.add(new double[] {Double.parseDouble(m.group(1)) * 1e3, Double.parseDouble(m.group(2))});
      } else if (m.matches()) {
        total = Double.parseDouble(m.group(2));
      }
    }
    cdf.sort((a, b) -> Double.compare(a[0], b[0]));
    Map<String, Object> latency = new LinkedHashMap<>();
    latency.put("steps", (long) total);
    for (double q : new double[] {0.5, 0.9, 0.99, 0.999}) {
      latency.put("p" + trim(q * 100) + "_ms_at_most", quantile(cdf, total, q));
    }
    report.put("control_step_latency", latency);

    Map<String, Object> jitter = new LinkedHashMap<>();
    List<String> labels = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    for (String line : controllerMetrics.lines().toList()) {
      Matcher m = JITTER.matcher(line);
      if (m.matches()) {
        String label = m.group(1).equals("1") ? "max" : "p" + trim(Double.parseDouble(m.group(1)) * 100);
        double micros = Double.parseDouble(m.group(2)) * 1e6;
        jitter.put(label + "_us", micros);
        labels.add(label);
        values.add(micros);
      }
      Matcher missed = MISSED.matcher(line);
      if (missed.matches()) {
        jitter.put("missed_deadlines", (long) Double.parseDouble(missed.group(1)));
      }
      Matcher ticks = TICKS.matcher(line);
      if (ticks.matches()) {
        jitter.put("ticks", (long) Double.parseDouble(ticks.group(1)));
      }
    }
    report.put("controller_period_error", jitter);

    List<Map<String, Object>> perRobot = new ArrayList<>();
    for (Robot robot : robots) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("robot", robot.id());
      entry.put("task", robot.task());
      entry.put("outcome", robot.outcome());
      entry.put("reason", robot.reason());
      entry.put("replans", robot.replans());
      entry.put("seconds", robot.seconds());
      perRobot.add(entry);
    }
    report.put("robots", perRobot);
    JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("report.json").toFile(), report);

    // Charts.
    // Drop the empty buckets past the slowest step, which would squash the curve against the axis.
    while (cdf.size() > 1 && cdf.get(cdf.size() - 2)[1] >= total) {
      cdf.remove(cdf.size() - 1);
    }
    // And the empty buckets below the fastest but one, which would stretch the log axis to 1 ms.
    while (cdf.size() > 1 && cdf.get(1)[1] <= 0) {
      cdf.remove(0);
    }
    if (!cdf.isEmpty() && total > 0) {
      double[] x = new double[cdf.size()];
      double[] y = new double[cdf.size()];
      for (int i = 0; i < cdf.size(); i++) {
        x[i] = cdf.get(i)[0];
        y[i] = cdf.get(i)[1] / total;
      }
      Charts.lines(dir.resolve("latency-cdf.png"), "Control step latency (gateway: observation in -> chunk to bridge)",
          Charts.Axis.log("latency, histogram bucket bounds (ms, log scale)"), Charts.Axis.linear("fraction of steps"),
          List.of(new Charts.Series("CDF over " + (long) total + " steps", x, y, false)));
    }
    if (!labels.isEmpty()) {
      Charts.bars(dir.resolve("controller-jitter.png"), "Controller loop period error (1 kHz)", "period error (µs)", labels,
          values.stream().mapToDouble(Double::doubleValue).toArray());
    }
    Robot first = robots.stream().filter(r -> r.trajectory().size() > 1).findFirst().orElse(null);
    if (first != null) {
      double[] x = new double[first.trajectory().size()];
      double[] y = new double[x.length];
      for (int i = 0; i < x.length; i++) {
        x[i] = first.trajectory().get(i)[1];
        y[i] = first.trajectory().get(i)[2];
      }
      List<Charts.Series> series = new ArrayList<>();
      series.add(new Charts.Series(first.id() + " end effector (x, y)", x, y, false));
      for (BlockState block : first.scene().blocks()) {
        series.add(new Charts.Series(block.color().word() + " block at start",
            new double[] {block.center().x()}, new double[] {block.center().y()}, true, paint(block.color())));
      }
      series.add(new Charts.Series("plate", new double[] {first.scene().plateCenter().x()},
          new double[] {first.scene().plateCenter().y()}, true, Color.LIGHT_GRAY));
      Charts.plane(dir.resolve("trajectory.png"), first.id() + ": " + first.task(), "x (m)", "y (m)", series);
    }

    System.out.println();
    System.out.printf("Report: %d/%d tasks succeeded%n", succeeded, robots.size());
    perSubgoal.forEach((instruction, counts) -> System.out.printf("  %-30s %s%n", instruction, counts));
    System.out.printf("  control step latency: %s%n", latency);
    System.out.printf("  controller period error: %s%n", jitter);
    System.out.printf("  safety interventions: %s%n", interventions);
    System.out.printf("  written: %s (report.json, latency-cdf.png, controller-jitter.png, trajectory.png)%n",
        dir.toAbsolutePath());
  }

  /** The colour a block is drawn in: its own. */
  private static Color paint(BlockColor color) {
    return switch (color) {
      case RED -> new Color(214, 39, 40);
      case GREEN -> new Color(44, 160, 44);
      case BLUE -> new Color(31, 119, 180);
      case YELLOW -> new Color(240, 200, 30);
    };
  }

  /** The smallest bucket bound below which at least {@code q} of the steps fall. */
  private static double quantile(List<double[]> cdf, double total, double q) {
    for (double[] bucket : cdf) {
      if (bucket[1] >= q * total) {
        return bucket[0];
      }
    }
    return Double.NaN;
  }

  private static String trim(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }

  /** GETs a service's Prometheus text (over HTTPS unless {@code security} is insecure); empty if it cannot be read. */
  static String scrape(Security security, int httpPort) {
    return scrape(security.httpClient(), security.http(httpPort, "/actuator/prometheus"));
  }

  /** GETs {@code url} with {@code client}; empty if it cannot be read. */
  static String scrape(HttpClient client, URI url) {
    try {
      return client.send(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
