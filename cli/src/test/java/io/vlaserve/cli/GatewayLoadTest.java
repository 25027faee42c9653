package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Reading the gateway's step-latency histogram between two scrapes, as the load test does. */
class GatewayLoadTest {
  private static String scrape(double under10ms, double under50ms, double under100ms, double all) {
    return """
        # HELP vla_gateway_step_latency_seconds Observation arrival at the gateway to its chunk forwarded
        # TYPE vla_gateway_step_latency_seconds histogram
        vla_gateway_step_latency_seconds_bucket{service="planner-gateway",le="0.01"} %s
        vla_gateway_step_latency_seconds_bucket{service="planner-gateway",le="0.05"} %s
        vla_gateway_step_latency_seconds_bucket{service="planner-gateway",le="0.1"} %s
        vla_gateway_step_latency_seconds_bucket{service="planner-gateway",le="+Inf"} %s
        vla_gateway_step_latency_seconds_count{service="planner-gateway"} %s
        vla_gateway_sessions_active{service="planner-gateway"} 3.0
        """.formatted(under10ms, under50ms, under100ms, all, all);
  }

  private static com.google.protobuf.Duration ms(long millis) {
    return io.vlaserve.proto.ProtoTimes.duration(java.time.Duration.ofMillis(millis));
  }

  @Test
  void aStepsLatencyIsSplitIntoItsStagesAndTheSlowestStepsShowWhereTheTailComesFrom() {
    // 40 ms from the robot's intended send to the notice: 30 of them at the gateway, of which 4
    // waiting for the policy, 22 round trip (policy: 8 queue, 12 in total), so 4 forwarding.
    var step = io.vlaserve.planner.v1.StepForwarded.newBuilder().setGatewayLatency(ms(30)).setWaitedForPolicy(ms(4))
        .setPolicyRoundTrip(ms(22)).setPolicyTiming(io.vlaserve.common.v1.TimingBreakdown.newBuilder()
            .setQueue(ms(8)).setTotal(ms(12))).build();
    GatewayLoad.Stages stages = GatewayLoad.Stages.of(40_000_000, step);
    assertEquals(new GatewayLoad.Stages(40_000_000, 10_000_000, 4_000_000, 8_000_000, 4_000_000, 10_000_000,
        4_000_000), stages);
    long sum = 0;
    for (long part : stages.parts()) {
      sum += part;
    }
    assertEquals(stages.total(), sum, "the stages add up to the whole");

    // 99 quick steps and one slow one whose time went into the policy's queue.
    List<GatewayLoad.Stages> steps = new java.util.ArrayList<>();
    for (int i = 0; i < 99; i++) {
      steps.add(new GatewayLoad.Stages(10_000_000, 1_000_000, 0, 1_000_000, 6_000_000, 1_000_000, 1_000_000));
    }
    steps.add(new GatewayLoad.Stages(209_000_000, 1_000_000, 0, 200_000_000, 6_000_000, 1_000_000, 1_000_000));
    var means = GatewayLoad.stageMeans(steps, 0.01);
    assertEquals(100, means.get("all_steps").get("steps"));
    assertEquals(11.99, (double) means.get("all_steps").get("total_ms"), 1e-9);
    assertEquals(1, means.get("slowest_1pct").get("steps"));
    assertEquals(200.0, (double) means.get("slowest_1pct").get("policy_queue_ms"), 1e-9);
    assertEquals(6.0, (double) means.get("slowest_1pct").get("policy_compute_ms"), 1e-9);
  }

  @Test
  void quantilesCountOnlyTheStepsBetweenTheScrapes() {
    // Before the window: 100 steps, all under 10 ms (warm-up). In it: 100 more, 50 under 10 ms,
    // 40 between 10 and 50, 9 between 50 and 100, 1 slower.
    TreeMap<Double, Double> before = GatewayLoad.buckets(scrape(100, 100, 100, 100));
    TreeMap<Double, Double> after = GatewayLoad.buckets(scrape(150, 190, 199, 200));
    assertEquals(100, GatewayLoad.count(before, after));
    assertEquals(10, GatewayLoad.quantile(before, after, 0.5), 1e-9);
    assertEquals(50, GatewayLoad.quantile(before, after, 0.9), 1e-9);
    assertEquals(100, GatewayLoad.quantile(before, after, 0.99), 1e-9);
    assertEquals(Double.POSITIVE_INFINITY, GatewayLoad.quantile(before, after, 0.999));
  }

  @Test
  void theCdfEndsAtTheSlowestStep() {
    TreeMap<Double, Double> before = GatewayLoad.buckets(scrape(0, 0, 0, 0));
    TreeMap<Double, Double> after = GatewayLoad.buckets(scrape(5, 10, 10, 10));
    List<double[]> cdf = GatewayLoad.cdf(before, after);
    assertEquals(2, cdf.size(), "stops at the first bucket holding every step");
    assertEquals(0.5, cdf.get(0)[1], 1e-9);
    assertEquals(50, cdf.get(1)[0], 1e-9);
    assertEquals(1.0, cdf.get(1)[1], 1e-9);
  }

  @Test
  void theCdfStartsAtTheLastEmptyBucketBeforeTheFastestStep() {
    TreeMap<Double, Double> before = GatewayLoad.buckets(scrape(0, 0, 0, 0));
    TreeMap<Double, Double> after = GatewayLoad.buckets(scrape(0, 0, 4, 4));
    List<double[]> cdf = GatewayLoad.cdf(before, after);
    assertEquals(2, cdf.size(), "the 10 ms bucket goes, the 50 ms one stays as the curve's foot");
    assertEquals(50, cdf.get(0)[0], 1e-9);
    assertEquals(0, cdf.get(0)[1], 1e-9);
    assertEquals(100, cdf.get(1)[0], 1e-9);
  }

  @Test
  void anEmptyWindowHasNoQuantiles() {
    TreeMap<Double, Double> same = GatewayLoad.buckets(scrape(1, 2, 3, 4));
    assertEquals(0, GatewayLoad.count(same, same));
    assertEquals(List.of(), GatewayLoad.cdf(same, same));
    assertEquals(Double.NaN, GatewayLoad.quantile(same, same, 0.5));
  }

  @Test
  void onlyAdmittedSessionsCutByTheSuiteCountAsEndedByLoad() {
    org.junit.jupiter.api.Assertions.assertTrue(GatewayLoad.byLoad("failed: policy_unavailable"));
    org.junit.jupiter.api.Assertions.assertTrue(GatewayLoad.byLoad("stream DEADLINE_EXCEEDED"));
    org.junit.jupiter.api.Assertions.assertTrue(GatewayLoad.byLoad("stream RESOURCE_EXHAUSTED"));
    // A refusal at open is the intended way to shed load; a subgoal budget is the scene's doing.
    org.junit.jupiter.api.Assertions.assertFalse(GatewayLoad.byLoad("refused at open: RESOURCE_EXHAUSTED"));
    org.junit.jupiter.api.Assertions.assertFalse(GatewayLoad.byLoad("failed: subgoal_failed"));
    org.junit.jupiter.api.Assertions.assertFalse(GatewayLoad.byLoad("stream UNAVAILABLE"));
  }

  @Test
  void laterStepsAreTheWholeLessEachSessionsFirst() {
    org.HdrHistogram.Histogram all = new org.HdrHistogram.Histogram(60_000_000_000L, 3);
    org.HdrHistogram.Histogram first = new org.HdrHistogram.Histogram(60_000_000_000L, 3);
    for (int i = 1; i <= 98; i++) {
      all.recordValue(i * 1_000_000L); // later steps: 1..98 ms
    }
    for (long slow : new long[] {400_000_000L, 500_000_000L}) {
      all.recordValue(slow);
      first.recordValue(slow);
    }
    org.HdrHistogram.Histogram later = all.copy();
    later.subtract(first);
    var whole = LoadtestCommand.percentiles(all);
    var rest = LoadtestCommand.percentiles(later);
    assertEquals(100L, whole.get("steps"));
    assertEquals(400.0, (double) whole.get("p99_ms"), 1.0, "the two first steps are the whole run's tail");
    assertEquals(98L, rest.get("steps"));
    assertEquals(98.0, (double) rest.get("max_ms"), 0.1);
    assertEquals(Double.NaN, LoadtestCommand.percentiles(new org.HdrHistogram.Histogram(3)).get("p50_ms"));
  }
}
