package io.vlaserve.cli;

import io.vlaserve.proto.ProtoTimes;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.StepForwarded;
import io.vlaserve.robot.client.GatewaySession;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The load tester's gateway target: each robot is a session on planner-gateway (for a robot the
 * bridge simulates), streaming camera frames on an open-loop schedule; a session that ends (its
 * subgoals time out, since these robots report no success) is reopened, so the load stays constant.
 *
 * <p>The robot never sees the chunk its observation produced (chunks go to the bridge), so step
 * latency is the gateway's own histogram (observation arrival to chunk forwarded), read from its
 * Prometheus endpoint at the start and end of the measured window.
 */
final class GatewayLoad {
  private static final Pattern BUCKET = Pattern.compile(
      "^vla_gateway_step_latency_seconds_bucket\\{.*le=\"([^\"]+)\".*\\} ([0-9.eE+-]+)$");

  final AtomicLong sent = new AtomicLong();
  final AtomicLong measuredSent = new AtomicLong();
  final AtomicLong sessions = new AtomicLong();
  /** Steps the gateway reported forwarded, all along (for progress lines). */
  final AtomicLong forwarded = new AtomicLong();
  final Map<String, Long> endings = new ConcurrentHashMap<>();
  /** Admitted sessions the suite ended under load (see {@link #byLoad}); should stay zero. */
  final AtomicLong endedByLoad = new AtomicLong();
  /** Steps a robot did not send in the measured window because the gateway refused it and it held. */
  final AtomicLong heldSteps = new AtomicLong();
  /** The longest time, in the measured window, a robot's session went without a step forwarded. */
  final AtomicLong longestStepGapNanos = new AtomicLong();
  /** Robots whose session went {@link #STALLED} or longer without a step in the measured window. */
  final java.util.Set<String> stalled = ConcurrentHashMap.newKeySet();
  /** A session this long without a step forwarded counts as stalled. */
  static final long STALLED = TimeUnit.SECONDS.toNanos(10);
  /**
   * Exact step latency, nanoseconds: from an observation's intended send time to the gateway's
   * notice that its chunk went to the bridge (SessionOpen.report_steps), for observations intended
   * inside the measured window. Guarded by itself.
   */
  final org.HdrHistogram.Histogram stepLatency = new org.HdrHistogram.Histogram(TimeUnit.SECONDS.toNanos(60), 3);
  /**
   * The part of {@link #stepLatency} that is each session's first step: it waits for the session's
   * plan and its policy and bridge streams, so these robots' churn (a session every few seconds)
   * shows in the tail. Guarded by {@link #stepLatency}.
   */
  final org.HdrHistogram.Histogram firstStepLatency = new org.HdrHistogram.Histogram(TimeUnit.SECONDS.toNanos(60), 3);

  /**
   * Where one measured step's latency went, nanoseconds: the robot's legs (from the intended send
   * to the gateway's receipt, and the gateway's notice back), waiting at the gateway for the policy,
   * policy-service's queue and compute as it reports them, the rest of the round trip (transport
   * both ways, the gateway's inbound thread), and forwarding the chunk to the bridge.
   */
  record Stages(long total, long robotLegs, long waitedForPolicy, long policyQueue, long policyCompute,
      long policyTransport, long forwardToBridge) {
    static final List<String> NAMES = List.of("robot_legs", "waited_for_policy", "policy_queue", "policy_compute",
        "policy_transport", "forward_to_bridge");

    long[] parts() {
      return new long[] {robotLegs, waitedForPolicy, policyQueue, policyCompute, policyTransport, forwardToBridge};
    }

    static Stages of(long total, StepForwarded step) {
      long gateway = io.vlaserve.proto.ProtoTimes.nanos(step.getGatewayLatency());
      long waited = io.vlaserve.proto.ProtoTimes.nanos(step.getWaitedForPolicy());
      long roundTrip = io.vlaserve.proto.ProtoTimes.nanos(step.getPolicyRoundTrip());
      long queue = io.vlaserve.proto.ProtoTimes.nanos(step.getPolicyTiming().getQueue());
      long policyTotal = io.vlaserve.proto.ProtoTimes.nanos(step.getPolicyTiming().getTotal());
      return new Stages(total, total - gateway, waited, queue, policyTotal - queue, roundTrip - policyTotal,
          gateway - waited - roundTrip);
    }
  }

  /** Every measured step's stages (steps whose gateway reported them). Guarded by {@link #stepLatency}. */
  final List<Stages> stages = new java.util.ArrayList<>();
  /** How many observations a robot remembers the intended send time of, to time their steps. */
  static final int REMEMBERED = 4096;
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stopped;

  /** Starts {@code robots} robots, robot i as {@code prefix + i} on its channel, joining over the ramp. */
  void start(java.util.function.Function<String, ? extends io.grpc.Channel> channels, String prefix, int robots, double rate, long t0, long rampNanos, long recordFrom,
      long endAt) {
    List<Observation.Builder> frames = frames("third_person", 64, 64);
    long periodNanos = Math.round(1e9 / rate);
    for (int r = 0; r < robots; r++) {
      String id = prefix + r;
      long start = t0 + (robots == 1 ? 0 : rampNanos * r / robots);
      io.grpc.Channel gateway = channels.apply(id);
      threads.add(Thread.ofVirtual().name("load-" + id).start(() ->
          run(gateway, id, frames, start, periodNanos, recordFrom, endAt)));
    }
  }

  /**
   * Eight rendered scenes with their proprioception, for load robots to cycle through (rendering
   * at run time would load the generator, not the server).
   */
  static List<Observation.Builder> frames(String camera, int width, int height) {
    TabletopRenderer renderer = new TabletopRenderer(CameraConfig.of(width, height));
    List<Observation.Builder> frames = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      TabletopWorld world = new TabletopWorld(i, new WorldConfig(3, true));
      byte[] rgb = renderer.newFrame();
      renderer.render(world, rgb);
      double[] p = world.snapshot().proprio();
      frames.add(Observation.newBuilder()
          .addImages(Image.newBuilder().setCamera(camera).setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8)
              .setWidth(width).setHeight(height).setData(ByteString.copyFrom(rgb)))
          .setState(RobotState.newBuilder().setGripper(p[7]).setEndEffector(Pose.newBuilder()
              .setPosition(Vector3.newBuilder().setX(p[0]).setY(p[1]).setZ(p[2]))
              .setOrientation(Quaternion.newBuilder().setX(p[3]).setY(p[4]).setZ(p[5]).setW(p[6])))));
    }
    return frames;
  }

  /**
   * Sleeps until {@code nanoTime} (no-op if it has passed: the open-loop schedule never waits to
   * catch up); false if interrupted.
   */
  static boolean sleepUntil(long nanoTime) {
    long wait = nanoTime - System.nanoTime();
    if (wait > 0) {
      try {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  private void run(io.grpc.Channel gateway, String id, List<Observation.Builder> frames, long intendedAt,
      long periodNanos, long recordFrom, long endAt) {
    long sequence = 0;
    // Sequence -> intended send time, for the steps the gateway reports (written here, read on the
    // session's listener thread).
    java.util.concurrent.atomic.AtomicLongArray sequences = new java.util.concurrent.atomic.AtomicLongArray(REMEMBERED);
    java.util.concurrent.atomic.AtomicLongArray intended = new java.util.concurrent.atomic.AtomicLongArray(REMEMBERED);
    AtomicLong lastStep = new AtomicLong(recordFrom);
    java.util.concurrent.atomic.AtomicBoolean awaitingFirstStep = new java.util.concurrent.atomic.AtomicBoolean();
    GatewaySession.Listener timing = new GatewaySession.Listener() {
      @Override
      public void onStepForwarded(StepForwarded step) {
        forwarded.incrementAndGet();
        boolean first = awaitingFirstStep.getAndSet(false);
        long now = System.nanoTime();
        if (now >= recordFrom && now < endAt) {
          gap(id, now - lastStep.getAndSet(now));
        }
        int slot = (int) (step.getObservationSequence() % REMEMBERED);
        long sentAt = intended.get(slot);
        if (sequences.get(slot) == step.getObservationSequence() && sentAt >= recordFrom && sentAt < endAt) {
          long latency = Math.min(stepLatency.getHighestTrackableValue(), Math.max(0, now - sentAt));
          synchronized (stepLatency) {
            stepLatency.recordValue(latency);
            if (first) {
              firstStepLatency.recordValue(latency);
            }
            if (step.hasPolicyTiming()) {
              stages.add(Stages.of(latency, step));
            }
          }
        }
      }
    };
    GatewaySession session = null;
    while (!stopped && intendedAt < endAt) {
      if (!sleepUntil(intendedAt)) {
        break;
      }
      if (session == null || session.finished()) {
        if (session != null) {
          String ending = ending(session);
          endings.merge(ending, 1L, Long::sum);
          if (byLoad(ending)) {
            endedByLoad.incrementAndGet();
          }
          java.util.Optional<java.time.Duration> wait = session.retryAfter();
          if (wait.isPresent()) {
            // Refused (a replica at capacity): the robot holds, sending nothing, until asked back.
            long until = intendedAt + wait.get().toNanos();
            while (intendedAt < until && intendedAt < endAt) {
              if (intendedAt >= recordFrom) {
                heldSteps.incrementAndGet();
              }
              intendedAt += periodNanos;
            }
            session = null;
            continue;
          }
        }
        awaitingFirstStep.set(true);
        session = GatewaySession.open(gateway, SessionOpen.newBuilder()
            .setRobot(RobotIdentity.newBuilder().setRobotId(id)).setTask("put the red block on the plate")
            .setReportSteps(true).build(), timing);
        sessions.incrementAndGet();
      }
      Instant now = Instant.now();
      int slot = (int) ((sequence + 1) % REMEMBERED);
      intended.set(slot, intendedAt);
      sequences.set(slot, sequence + 1);
      session.send(RobotObservation.newBuilder().setObservation(frames.get((int) (++sequence % frames.size())).clone()
          .setSequence(sequence)
          .setCaptureTime(ProtoTimes.timestamp(now))).build());
      sent.incrementAndGet();
      if (intendedAt >= recordFrom) {
        measuredSent.incrementAndGet();
      }
      intendedAt += periodNanos;
    }
    if (session != null) {
      session.close();
    }
    gap(id, Math.min(System.nanoTime(), endAt) - lastStep.get());
  }

  private void gap(String robotId, long nanos) {
    longestStepGapNanos.accumulateAndGet(nanos, Math::max);
    if (nanos >= STALLED) {
      stalled.add(robotId);
    }
  }

  /**
   * Why a session ended: "failed: subgoal_failed" (outcome and cause), "refused at open:
   * RESOURCE_EXHAUSTED" (never accepted), or "stream UNAVAILABLE" (closed without an outcome).
   */
  static String ending(GatewaySession session) {
    try {
      SessionOutcome outcome = session.awaitOutcome(java.time.Duration.ofMillis(1));
      return outcome.getOutcome().name().substring("OUTCOME_".length()).toLowerCase(Locale.ROOT) + ": "
          + outcome.getCause().name().substring("END_CAUSE_".length()).toLowerCase(Locale.ROOT);
    } catch (Exception noOutcome) {
      try {
        Status status = session.awaitClosed(java.time.Duration.ofMillis(1));
        return (session.accepted() == null ? "refused at open: " : "stream ") + status.getCode();
      } catch (Exception stillOpen) {
        return "unknown";
      }
    }
  }

  /**
   * Whether an ending is the suite shedding an admitted session under load: policy-service
   * unavailable for too long, or the stream cut with DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED after
   * it was accepted. A refusal at open is the explicit, intended way to shed load, not this.
   */
  static boolean byLoad(String ending) {
    return ending.endsWith(": policy_unavailable") || ending.equals("stream DEADLINE_EXCEEDED")
        || ending.equals("stream RESOURCE_EXHAUSTED");
  }

  void stop() throws InterruptedException {
    stopped = true;
    for (Thread thread : threads) {
      thread.join(TimeUnit.SECONDS.toMillis(5));
    }
  }

  /** A copy of the exact step latencies so far (nanoseconds). */
  org.HdrHistogram.Histogram stepLatencies() {
    synchronized (stepLatency) {
      return stepLatency.copy();
    }
  }

  /**
   * Mean milliseconds per stage ({@link Stages#NAMES}) of every measured step and of the slowest
   * {@code slowestFraction} of them (e.g. 0.01: the steps past the p99), with their counts: the
   * stage a latency tail comes from grows in the second.
   */
  Map<String, Map<String, Object>> stageMeans(double slowestFraction) {
    List<Stages> all;
    synchronized (stepLatency) {
      all = new java.util.ArrayList<>(stages);
    }
    return stageMeans(all, slowestFraction);
  }

  static Map<String, Map<String, Object>> stageMeans(List<Stages> steps, double slowestFraction) {
    List<Stages> all = new java.util.ArrayList<>(steps);
    all.sort(java.util.Comparator.comparingLong(Stages::total));
    int slowest = (int) Math.ceil(all.size() * slowestFraction);
    Map<String, Map<String, Object>> means = new java.util.LinkedHashMap<>();
    means.put("all_steps", means(all));
    means.put("slowest_" + Math.round(slowestFraction * 100) + "pct", means(all.subList(all.size() - slowest, all.size())));
    return means;
  }

  private static Map<String, Object> means(List<Stages> steps) {
    Map<String, Object> result = new java.util.LinkedHashMap<>();
    result.put("steps", steps.size());
    double[] sums = new double[Stages.NAMES.size() + 1];
    for (Stages step : steps) {
      long[] parts = step.parts();
      for (int i = 0; i < parts.length; i++) {
        sums[i] += parts[i];
      }
      sums[parts.length] += step.total();
    }
    result.put("total_ms", steps.isEmpty() ? 0 : sums[Stages.NAMES.size()] / steps.size() / 1e6);
    for (int i = 0; i < Stages.NAMES.size(); i++) {
      result.put(Stages.NAMES.get(i) + "_ms", steps.isEmpty() ? 0 : sums[i] / steps.size() / 1e6);
    }
    return result;
  }

  /** A copy of the exact latencies of sessions' first steps so far (nanoseconds; part of {@link #stepLatencies}). */
  org.HdrHistogram.Histogram firstStepLatencies() {
    synchronized (stepLatency) {
      return firstStepLatency.copy();
    }
  }

  /** The gateway's step-latency histogram: upper bound (ms) -> cumulative count; +Inf under key infinity. */
  static TreeMap<Double, Double> buckets(String prometheus) {
    TreeMap<Double, Double> buckets = new TreeMap<>();
    for (String line : prometheus.lines().toList()) {
      Matcher m = BUCKET.matcher(line);
      if (m.matches()) {
        double bound = m.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(1)) * 1e3;
        buckets.merge(bound, Double.parseDouble(m.group(2)), Double::sum);
      }
    }
    return buckets;
  }

  /** The bucket bound at or below which {@code q} of the steps between the two scrapes fall. */
  static double quantile(TreeMap<Double, Double> before, TreeMap<Double, Double> after, double q) {
    double total = after.getOrDefault(Double.POSITIVE_INFINITY, 0.0) - before.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
    for (Map.Entry<Double, Double> bucket : after.entrySet()) {
      double count = bucket.getValue() - before.getOrDefault(bucket.getKey(), 0.0);
      if (total > 0 && count >= q * total) {
        return bucket.getKey();
      }
    }
    return Double.NaN;
  }

  /**
   * (bucket bound in ms, fraction of the window's steps at or below it), from the last empty bucket
   * before the fastest step up to the slowest step.
   */
  static List<double[]> cdf(TreeMap<Double, Double> before, TreeMap<Double, Double> after) {
    double total = count(before, after);
    List<double[]> points = new ArrayList<>();
    if (total <= 0) {
      return points;
    }
    for (Map.Entry<Double, Double> bucket : after.entrySet()) {
      if (bucket.getKey().isInfinite()) {
        break;
      }
      double fraction = (bucket.getValue() - before.getOrDefault(bucket.getKey(), 0.0)) / total;
      if (points.size() == 1 && points.get(0)[1] <= 0 && fraction <= 0) {
        points.clear();
      }
      points.add(new double[] {bucket.getKey(), fraction});
      if (fraction >= 1) {
        break;
      }
    }
    return points;
  }

  static double count(TreeMap<Double, Double> before, TreeMap<Double, Double> after) {
    return after.getOrDefault(Double.POSITIVE_INFINITY, 0.0) - before.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
  }
}
