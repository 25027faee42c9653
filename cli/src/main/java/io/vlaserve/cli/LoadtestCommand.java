package io.vlaserve.cli;

import io.vlaserve.proto.ProtoTimes;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.policy.v1.SessionStart;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code vla loadtest}: N simulated robots streaming observations at a fixed rate into
 * policy-service sessions, like cameras: an open-loop schedule, so a slow server cannot slow the
 * offered load, and latency measured from each observation's <em>intended</em> send time (corrected
 * for coordinated omission) to its chunk. Ramp-up, warm-up exclusion, bounded robots and duration.
 *
 * <p>Secure by default. Services it starts itself get the demo's certificates (as {@code vla demo}),
 * and each simulated robot dials with a certificate of its own naming its robot id, issued into
 * the PKI directory on first use. Against {@code --address}, every robot presents the one
 * certificate given with {@code --tls-ca --tls-cert --tls-key}: the target must accept it for every
 * robot id (a service identity, say). {@code --insecure} dials plaintext and starts the services
 * with {@code vla.tls.insecure=true}.
 */
@Command(name = "loadtest", mixinStandardHelpOptions = true,
    description = {"Simulated robots streaming observations at a fixed rate into policy-service sessions.",
        "Without --address it starts policy-service on loopback with the embedded defaults."})
final class LoadtestCommand implements Callable<Integer> {
  private static final int MAX_ROBOTS = 1024;

  @Option(names = "--robots", defaultValue = "16", description = "Concurrent robots, 1..1024 (default: ${DEFAULT-VALUE}).")
  int robots;

  @Option(names = "--rate", defaultValue = "10", description = "Observations per second per robot (default: ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = "--duration", defaultValue = "30", description = "Measured seconds, after ramp-up and warm-up (max 3600; default: ${DEFAULT-VALUE}).")
  int durationSeconds;

  @Option(names = "--ramp", defaultValue = "5", description = "Seconds over which robots join (default: ${DEFAULT-VALUE}).")
  int rampSeconds;

  @Option(names = "--warmup", defaultValue = "5", description = "Seconds after ramp-up not recorded (default: ${DEFAULT-VALUE}).")
  int warmupSeconds;

  @Option(names = "--deadline", defaultValue = "100", description = "A chunk later than this many ms after its observation's intended time is a deadline miss (default: the 10 Hz control period, ${DEFAULT-VALUE}).")
  int deadlineMillis;

  @Option(names = "--target", defaultValue = "policy", description = "policy (sessions on policy-service) or gateway"
      + " (robot sessions on planner-gateway, for robots the bridge simulates) (default: ${DEFAULT-VALUE}).")
  String targetKind;

  @Option(names = "--address", description = "host:port of a running target (default: start the services on loopback).")
  String address;

  @Option(names = "--metrics", description = "With --target gateway --address: the gateway's Prometheus URL, e.g."
      + " http://10.0.0.5:8081/actuator/prometheus.")
  String metricsUrl;

  @Option(names = "--robot-prefix", defaultValue = "sim-", description = "With --target gateway: robot ids are"
      + " PREFIX0..PREFIX(N-1), robots the bridge simulates (default: ${DEFAULT-VALUE}).")
  String robotPrefix;

  @Option(names = "--tls-ca", paramLabel = "FILE", description = "With --address: the CA certificate to trust.")
  Path tlsCa;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "With --address: the certificate every simulated robot"
      + " presents.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "With --address: its PKCS#8 private key.")
  Path tlsKey;

  @Option(names = "--pki-dir", paramLabel = "DIR", description = "Without --address: the throwaway CA the started services"
      + " and the robots' certificates come from (default: target/demo/pki in the checkout, as ./vla demo).")
  Path pkiDir;

  @Option(names = "--insecure", description = "Plaintext: started services run with vla.tls.insecure=true; nobody is"
      + " authenticated.")
  boolean insecure;

  @Option(names = "--sample-memory", defaultValue = "0", paramLabel = "SECONDS", description = "Soak: every SECONDS"
      + " of the measured window, sample each started service's RSS, heap, JIT code cache and metaspace; summary.json"
      + " says whether the heap or the RSS beyond code cache and metaspace grew more than 5% from the window's first"
      + " tenth to its last (memory.csv has the samples). 0: off (default).")
  int sampleMemorySeconds;

  @Option(names = "--record", paramLabel = "DIR", description = "Without --address: the started services record every"
      + " robot in full under DIR (docs/flight-recorder.md), to measure what recording costs.")
  private Path record;

  @Option(names = "--out", defaultValue = "target/loadtest", description = "Where summary.json, latency-cdf.png and logs go (default: ${DEFAULT-VALUE}).")
  Path out;

  /**
   * With --record, what makes the started {@code service} (policy, gateway or controller) record every
   * robot in full.
   */
  private List<String> recording(String service) {
    if (record == null) {
      return List.of();
    }
    String prefix = switch (service) {
      case "policy" -> "--vla.policy.recording.";
      case "gateway" -> "--vla.gateway.recording.";
      default -> "--vla.controller.recording.";
    };
    Path directory = record.toAbsolutePath().resolve(switch (service) {
      case "policy" -> "policy-service";
      case "gateway" -> "planner-gateway";
      default -> "controller-bridge";
    });
    return List.of(prefix + "directory=" + directory, prefix + "full-robots=*");
  }

  @Override
  public Integer call() throws Exception {
    System.setProperty("java.awt.headless", "true");
    if (robots < 1 || robots > MAX_ROBOTS || !(rate > 0 && rate <= 100) || durationSeconds < 1 || durationSeconds > 3600
        || rampSeconds < 0 || warmupSeconds < 0 || sampleMemorySeconds < 0) {
      System.err.println("expected 1 <= --robots <= " + MAX_ROBOTS + ", 0 < --rate <= 100, 1 <= --duration <= 3600,"
          + " --ramp, --warmup and --sample-memory >= 0");
      return 2;
    }
    if (!targetKind.equals("policy") && !targetKind.equals("gateway")) {
      System.err.println("--target " + targetKind + ": expected policy or gateway");
      return 2;
    }
    try {
      security = security();
    } catch (IllegalArgumentException e) {
      System.err.println("vla loadtest: " + e.getMessage());
      return 2;
    }
    if (security.isInsecure()) {
      System.err.println(Security.INSECURE_WARNING);
    }
    Files.createDirectories(out);
    if (targetKind.equals("gateway")) {
      return gateway();
    }
    ServiceProcess started = null;
    String target = address;
    try {
      if (target == null) {
        System.out.println("Starting policy-service on loopback ...");
        started = Services.start("policy", out, security, recording("policy"));
        started.awaitServing(Duration.ofSeconds(120));
        target = "127.0.0.1:" + started.grpcPort();
      }
      try (LoadChannels channels = new LoadChannels(target, 16 * 1024 * 1024)) {
        return run(channels, target);
      }
    } finally {
      if (started != null) {
        started.close();
      }
    }
  }

  private Security security;

  /**
   * The load's transport security from the options: the demo PKI for services started here, the
   * given files against {@code --address}, or plaintext with {@code --insecure}.
   *
   * @throws IllegalArgumentException naming what is missing or contradictory
   */
  Security security() {
    boolean anyFile = tlsCa != null || tlsCert != null || tlsKey != null;
    if (insecure && anyFile) {
      throw new IllegalArgumentException("--insecure together with --tls-ca/--tls-cert/--tls-key (expected: one or"
          + " the other)");
    }
    if (insecure) {
      return Security.insecure();
    }
    if (address == null) {
      if (anyFile) {
        throw new IllegalArgumentException("--tls-ca/--tls-cert/--tls-key are for --address (expected: without"
            + " --address the services started here and their robots use the demo PKI, --pki-dir)");
      }
      return Security.demoPki(pkiDir != null ? pkiDir : Security.defaultPkiDir());
    }
    if (tlsCa == null || tlsCert == null || tlsKey == null) {
      throw new IllegalArgumentException("--address " + address + " needs --tls-ca, --tls-cert and --tls-key (the CA"
          + " that signed the target's certificate, and a certificate it accepts for every simulated robot id),"
          + " or --insecure for a plaintext target");
    }
    return Security.files(tlsCa, tlsCert, tlsKey);
  }

  /**
   * The simulated robots' channels: one per robot, as real robots each have their own connection
   * (so plaintext and TLS runs compare like with like); with the demo PKI each presents its own
   * certificate (issued on first use).
   */
  final class LoadChannels implements AutoCloseable {
    private final String target;
    private final int maxInbound;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    LoadChannels(String target, int maxInbound) {
      this.target = target;
      this.maxInbound = maxInbound;
    }

    ManagedChannel forRobot(String robotId) {
      return channels.computeIfAbsent(robotId, k -> Grpc.newChannelBuilder(target, security.robot(robotId))
          .maxInboundMessageSize(maxInbound).build());
    }

    /** Issues (or reuses) the certificates of {@code ids} up front, so no robot waits for a key pair. */
    void prepare(List<String> ids) {
      if (security.authority() != null) {
        System.out.printf("TLS: %d robot certificate(s) from the CA in %s%n", ids.size(),
            security.authority().directory());
        ids.forEach(this::forRobot);
      }
    }

    @Override
    public void close() {
      channels.values().forEach(ManagedChannel::shutdownNow);
      try {
        for (ManagedChannel channel : channels.values()) {
          channel.awaitTermination(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private int run(LoadChannels channels, String target) throws Exception {
    List<String> ids = new ArrayList<>();
    for (int r = 0; r < robots; r++) {
      ids.add("load-" + r);
    }
    channels.prepare(ids);
    PolicyMetadata metadata = PolicyServiceGrpc.newBlockingStub(channels.forRobot(ids.get(0)))
        .withDeadlineAfter(60, TimeUnit.SECONDS)
        .getMetadata(GetMetadataRequest.getDefaultInstance());
    String instruction = metadata.getSkillsCount() > 0 ? metadata.getSkills(0) : "move to the red block";
    int width = metadata.getCameras(0).getWidth();
    int height = metadata.getCameras(0).getHeight();
    String camera = metadata.getCameras(0).getName();
    // Real scenes; robots cycle through them so no two consecutive frames are equal.
    List<Observation.Builder> frames = GatewayLoad.frames(camera, width, height);

    long periodNanos = Math.round(1e9 / rate);
    long rampNanos = TimeUnit.SECONDS.toNanos(rampSeconds);
    long t0 = System.nanoTime() + 200_000_000L;
    long recordFrom = t0 + rampNanos + TimeUnit.SECONDS.toNanos(warmupSeconds);
    long endAt = recordFrom + TimeUnit.SECONDS.toNanos(durationSeconds);
    Recorder recorder = new Recorder(TimeUnit.SECONDS.toNanos(60), 3);
    Histogram total = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    Stats stats = new Stats();
    ScheduledExecutorService clock = Executors.newScheduledThreadPool(2,
        Thread.ofPlatform().daemon(true).name("loadtest-clock-", 0).factory());
    List<LoadRobot> fleet = new ArrayList<>();
    System.out.printf("loadtest: %d robots x %.1f Hz against policy-service %s (%s, %s) for %d s after %d s ramp-up"
            + " and %d s warm-up; deadline %d ms%n", robots, rate, target, metadata.getModelName(), metadata.getEngine(),
        durationSeconds, rampSeconds, warmupSeconds, deadlineMillis);
    for (int r = 0; r < robots; r++) {
      long start = t0 + (robots == 1 ? 0 : rampNanos * r / robots);
      LoadRobot robot = new LoadRobot(ids.get(r), channels.forRobot(ids.get(r)), instruction, frames, start, periodNanos, recordFrom, endAt,
          recorder, stats);
      fleet.add(robot);
      clock.schedule(robot::start, Math.max(0, start - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
    // Live statistics, one line a second.
    long lastChunks = 0;
    while (System.nanoTime() < endAt) {
      Thread.sleep(1000);
      Histogram interval = recorder.getIntervalHistogram();
      total.add(interval);
      long chunks = stats.chunks.get();
      String phase = System.nanoTime() < recordFrom ? "warm-up" : "measuring";
      System.out.printf(Locale.ROOT, "  %-9s sent %7d  chunks/s %6d  p50 %7.1f ms  p99 %7.1f ms  superseded %5d  errors %4d%n",
          phase, stats.sent.get(), chunks - lastChunks, interval.getValueAtPercentile(50) / 1e6,
          interval.getValueAtPercentile(99) / 1e6, stats.superseded.get(), stats.errorCount());
      lastChunks = chunks;
    }
    // Let answers to the last observations arrive, then stop.
    Thread.sleep(Math.min(2000, 3 * deadlineMillis));
    total.add(recorder.getIntervalHistogram());
    fleet.forEach(LoadRobot::stop);
    clock.shutdownNow();

    long offered = Math.round(robots * rate * durationSeconds);
    long answered = total.getTotalCount();
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("target", "policy-service " + target);
    summary.put("model", metadata.getModelName() + " " + metadata.getModelVersion() + " on " + metadata.getEngine());
    summary.put("robots", robots);
    summary.put("rate_hz_per_robot", rate);
    summary.put("duration_s", durationSeconds);
    summary.put("offered_observations", offered);
    summary.put("measured_observations_sent", stats.measuredSent.get());
    summary.put("chunks_measured", answered);
    summary.put("achieved_chunks_per_s", answered / (double) durationSeconds);
    summary.put("offered_per_s", robots * rate);
    Map<String, Object> latency = new LinkedHashMap<>();
    for (double p : new double[] {50, 90, 99, 99.9}) {
      latency.put("p" + (p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p)) + "_ms",
          total.getValueAtPercentile(p) / 1e6);
    }
    latency.put("max_ms", total.getMaxValue() / 1e6);
    summary.put("latency_from_intended_send", latency);
    long misses = total.getTotalCount() - total.getCountBetweenValues(0, TimeUnit.MILLISECONDS.toNanos(deadlineMillis));
    summary.put("deadline_misses", misses + stats.measuredSuperseded.get() + stats.measuredErrors.get());
    summary.put("late_chunks", misses);
    summary.put("superseded", stats.measuredSuperseded.get());
    summary.put("errors_by_code", new LinkedHashMap<>(stats.errors));
    summary.put("machine", Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.arch")
        + ", " + Runtime.version());
    JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValue(out.resolve("summary.json").toFile(), summary);

    if (answered > 0) {
      Charts.lines(out.resolve("latency-cdf.png"), String.format(Locale.ROOT, "Observation -> chunk, %d robots x %.0f Hz",
          robots, rate), Charts.Axis.log("latency from intended send (ms, log scale)"),
          Charts.Axis.linear("fraction of observations"), List.of(cdf(total)));
    }

    System.out.println();
    System.out.printf(Locale.ROOT, "offered %.1f obs/s, achieved %.1f chunks/s (%d of %d measured observations answered)%n",
        robots * rate, answered / (double) durationSeconds, answered, stats.measuredSent.get());
    System.out.printf(Locale.ROOT, "latency from intended send: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f ms%n",
        total.getValueAtPercentile(50) / 1e6, total.getValueAtPercentile(90) / 1e6,
        total.getValueAtPercentile(99) / 1e6, total.getValueAtPercentile(99.9) / 1e6, total.getMaxValue() / 1e6);
    System.out.printf("deadline misses (> %d ms, superseded or failed): %d; errors by code: %s%n", deadlineMillis,
        misses + stats.measuredSuperseded.get() + stats.measuredErrors.get(), stats.errors);
    System.out.println("written: " + out.toAbsolutePath().resolve("summary.json") + ", latency-cdf.png");
    return 0;
  }

  /** Robot sessions on the gateway; step latency from the gateway's own histogram. */
  private int gateway() throws Exception {
    if (address != null && metricsUrl == null) {
      System.err.println("--target gateway --address needs --metrics (the gateway's Prometheus URL)");
      return 2;
    }
    List<ServiceProcess> started = new ArrayList<>();
    try {
      String target = address;
      String metrics = metricsUrl;
      if (target == null) {
        System.out.println("Starting policy-service, controller-bridge (" + robots + " simulated robots) and planner-gateway ...");
        ServiceProcess policy = Services.start("policy", out, security, recording("policy"));
        started.add(policy);
        List<String> controllerArgs = new ArrayList<>(List.of("--vla.controller.simulated-robots=" + robots));
        controllerArgs.addAll(recording("controller"));
        ServiceProcess controller = Services.start("controller", out, security, controllerArgs);
        started.add(controller);
        policy.awaitServing(Duration.ofSeconds(120));
        controller.awaitServing(Duration.ofSeconds(120));
        List<String> gatewayArgs = new ArrayList<>(List.of(
            "--vla.gateway.policy-target=dns:///127.0.0.1:" + policy.grpcPort(),
            "--vla.gateway.controller-target=dns:///127.0.0.1:" + controller.grpcPort()));
        gatewayArgs.addAll(recording("gateway"));
        ServiceProcess gateway = Services.start("gateway", out, security, gatewayArgs);
        started.add(gateway);
        gateway.awaitServing(Duration.ofSeconds(120));
        target = "127.0.0.1:" + gateway.grpcPort();
        metrics = security.http(gateway.httpPort(), "/actuator/prometheus").toString();
      }
      try (LoadChannels channels = new LoadChannels(target, io.vlaserve.robot.client.RobotChannels.DEFAULT_MAX_INBOUND_BYTES)) {
        return runGateway(channels, target, metrics, started);
      }
    } finally {
      for (int i = started.size() - 1; i >= 0; i--) {
        started.get(i).close();
      }
    }
  }

  private int runGateway(LoadChannels channels, String target, String metrics, List<ServiceProcess> started)
      throws Exception {
    ServiceCpu cpu = new ServiceCpu(started);
    long periodNanos = Math.round(1e9 / rate);
    long t0 = System.nanoTime() + 200_000_000L;
    long recordFrom = t0 + TimeUnit.SECONDS.toNanos(rampSeconds + warmupSeconds);
    long endAt = recordFrom + TimeUnit.SECONDS.toNanos(durationSeconds);
    System.out.printf("loadtest: %d robots x %.1f Hz as gateway sessions on %s for %d s after %d s ramp-up and %d s"
        + " warm-up; step latency per step (SessionOpen.report_steps) and from the gateway's histogram%n", robots, rate, target, durationSeconds, rampSeconds,
        warmupSeconds);
    List<String> ids = new ArrayList<>();
    for (int r = 0; r < robots; r++) {
      ids.add(robotPrefix + r);
    }
    channels.prepare(ids);
    GatewayLoad load = new GatewayLoad();
    load.start(channels::forRobot, robotPrefix, robots, rate, t0, TimeUnit.SECONDS.toNanos(rampSeconds), recordFrom, endAt);
    // The gateway's metrics are scraped at the window's two ends only: a scrape costs the gateway
    // CPU (measured: a tenth of its samples when scraped every second), and progress comes from the
    // robots' own step reports.
    java.util.TreeMap<Double, Double> before = null;
    long previousSteps = load.forwarded.get();
    ServiceMemory memory = new ServiceMemory(started,
        service -> scrape(security.http(service.httpPort(), "/actuator/prometheus").toString()));
    long nextMemorySample = recordFrom;
    while (System.nanoTime() < endAt) {
      Thread.sleep(1000);
      if (before == null && System.nanoTime() >= recordFrom) {
        before = GatewayLoad.buckets(scrape(metrics));
        cpu.startWindow();
      }
      if (sampleMemorySeconds > 0 && System.nanoTime() >= nextMemorySample) {
        memory.sample((System.nanoTime() - recordFrom) * 1e-9);
        nextMemorySample += TimeUnit.SECONDS.toNanos(sampleMemorySeconds);
      }
      long steps = load.forwarded.get();
      System.out.printf(Locale.ROOT, "  %-9s sent %7d  steps/s %6d  sessions %4d%n",
          before == null ? "warm-up" : "measuring", load.sent.get(), steps - previousSteps, load.sessions.get());
      previousSteps = steps;
    }
    java.util.TreeMap<Double, Double> after = GatewayLoad.buckets(scrape(metrics));
    Map<String, Double> cores = cpu.endWindow();
    load.stop();
    if (before == null) {
      before = new java.util.TreeMap<>();
    }
    double steps = GatewayLoad.count(before, after);
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("target", "planner-gateway " + target);
    summary.put("robots", robots);
    summary.put("rate_hz_per_robot", rate);
    summary.put("duration_s", durationSeconds);
    summary.put("offered_per_s", robots * rate);
    summary.put("measured_observations_sent", load.measuredSent.get());
    summary.put("steps_forwarded", (long) steps);
    summary.put("achieved_steps_per_s", steps / durationSeconds);
    Map<String, Object> latency = new LinkedHashMap<>();
    for (double q : new double[] {0.5, 0.9, 0.99, 0.999}) {
      latency.put("p" + (q * 100 == Math.rint(q * 100) ? Long.toString((long) (q * 100)) : Double.toString(q * 100))
          + "_ms_at_most", GatewayLoad.quantile(before, after, q));
    }
    summary.put("gateway_step_latency", latency);
    // Exact, per step, as the robots see it: intended send -> the gateway's notice that the chunk went
    // to the bridge (one gateway -> robot hop more than the histogram above, no bucket rounding).
    Histogram exact = load.stepLatencies();
    Histogram firstSteps = load.firstStepLatencies();
    Histogram laterSteps = exact.copy();
    laterSteps.subtract(firstSteps);
    Map<String, Object> exactLatency = percentiles(exact);
    summary.put("step_latency_from_intended_send", exactLatency);
    summary.put("step_latency_first_step_of_a_session", percentiles(firstSteps));
    summary.put("step_latency_later_steps", percentiles(laterSteps));
    // Mean per stage, of all steps and of the slowest 1%: where a tail comes from.
    Map<String, Map<String, Object>> stages = load.stageMeans(0.01);
    summary.put("step_stages_mean_ms", stages);
    stages.forEach((which, means) -> System.out.printf(Locale.ROOT, "  stages, %s: %s%n", which, means.entrySet().stream()
        .map(e -> e.getKey().replace("_ms", "") + " " + (e.getValue() instanceof Double d
            ? String.format(Locale.ROOT, "%.1f", d) : e.getValue())).collect(java.util.stream.Collectors.joining(", "))));
    summary.put("cpu_cores_in_window", cores);
    summary.put("sessions_opened", load.sessions.get());
    summary.put("session_endings", new java.util.TreeMap<>(load.endings));
    summary.put("sessions_ended_by_load", load.endedByLoad.get());
    summary.put("steps_held_after_refusal", load.heldSteps.get());
    summary.put("longest_gap_without_a_step_s", load.longestStepGapNanos.get() * 1e-9);
    summary.put("robots_stalled_10s", new java.util.TreeSet<>(load.stalled));
    Map<String, Map<String, Object>> growth = memory.growth(0.05);
    if (sampleMemorySeconds > 0) {
      summary.put("memory", growth);
      memory.write(out.resolve("memory.csv"));
    }
    summary.put("machine", Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.arch")
        + ", " + Runtime.version());
    JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValue(out.resolve("summary.json").toFile(), summary);
    List<double[]> cdf = GatewayLoad.cdf(before, after);
    if (exact.getTotalCount() > 0) {
      Charts.lines(out.resolve("latency-cdf.png"), String.format(Locale.ROOT,
              "Control step (observation -> chunk at the bridge), %d robots x %.0f Hz", robots, rate),
          Charts.Axis.log("latency from intended send (ms, log scale)"), Charts.Axis.linear("fraction of steps"),
          List.of(cdf(exact)));
    } else if (!cdf.isEmpty()) {
      Charts.lines(out.resolve("latency-cdf.png"), String.format(Locale.ROOT,
              "Gateway step latency, %d robots x %.0f Hz", robots, rate),
          Charts.Axis.log("latency, histogram bucket bounds (ms, log scale)"), Charts.Axis.linear("fraction of steps"),
          List.of(new Charts.Series("CDF", cdf.stream().mapToDouble(v -> v[0]).toArray(),
              cdf.stream().mapToDouble(v -> v[1]).toArray(), false)));
    }
    System.out.println();
    System.out.printf(Locale.ROOT, "offered %.1f obs/s, %d observations sent in the window, %.1f steps/s forwarded to the bridge%n",
        robots * rate, load.measuredSent.get(), steps / durationSeconds);
    System.out.printf("gateway step latency (observation in -> chunk out), bucket bounds: %s%n", latency);
    System.out.printf(Locale.ROOT, "step latency from intended send (exact, %d steps): p50 %.1f  p90 %.1f  p99 %.1f"
        + "  p99.9 %.1f  max %.1f ms%n", exact.getTotalCount(), exactLatency.get("p50_ms"), exactLatency.get("p90_ms"),
        exactLatency.get("p99_ms"), exactLatency.get("p99.9_ms"), exactLatency.get("max_ms"));
    if (firstSteps.getTotalCount() > 0) {
      System.out.printf(Locale.ROOT, "  of which each session's first step (%d, after its plan and stream opens): p50 %.1f"
          + "  p99 %.1f  max %.1f ms; the later steps (%d): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f ms%n",
          firstSteps.getTotalCount(), firstSteps.getValueAtPercentile(50) / 1e6, firstSteps.getValueAtPercentile(99) / 1e6,
          firstSteps.getMaxValue() / 1e6, laterSteps.getTotalCount(), laterSteps.getValueAtPercentile(50) / 1e6,
          laterSteps.getValueAtPercentile(90) / 1e6, laterSteps.getValueAtPercentile(99) / 1e6,
          laterSteps.getMaxValue() / 1e6);
    }
    System.out.printf("CPU in the window, cores: %s%n", cores.entrySet().stream()
        .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue())).toList());
    System.out.printf("sessions opened %d, ended: %s%n", load.sessions.get(), new java.util.TreeMap<>(load.endings));
    System.out.printf("sessions ended by load (policy unavailable, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED after"
        + " admission): %d; steps robots held after a refusal at open: %d%n", load.endedByLoad.get(), load.heldSteps.get());
    System.out.printf(Locale.ROOT, "longest a session went without a step: %.1f s; robots stalled 10 s or more: %s%n",
        load.longestStepGapNanos.get() * 1e-9, new java.util.TreeSet<>(load.stalled));
    if (sampleMemorySeconds > 0) {
      growth.forEach((service, verdict) -> System.out.printf(Locale.ROOT,
          "memory %-10s RSS %.0f -> %.0f MB (%+.1f%%; %+.1f%% beyond JIT code and metaspace, %.0f -> %.0f MB),"
              + " heap %.0f -> %.0f MB (%+.1f%%, %s)%s%n", service,
          verdict.get("rss_mb_first"), verdict.get("rss_mb_last"), 100 * (double) verdict.get("rss_growth"),
          100 * (double) verdict.get("rss_growth_beyond_code"), verdict.get("code_mb_first"),
          verdict.get("code_mb_last"),
          verdict.get("heap_mb_first"), verdict.get("heap_mb_last"), 100 * (double) verdict.get("heap_growth"),
          verdict.get("heap_basis"), (boolean) verdict.get("grew") ? "  GREW more than 5%" : ""));
      System.out.println("written: " + out.toAbsolutePath().resolve("memory.csv"));
    }
    System.out.println("written: " + out.toAbsolutePath().resolve("summary.json") + ", latency-cdf.png");
    return 0;
  }

  /** Count, p50, p90, p99, p99.9 and max of nanosecond latencies, in ms (NaN when empty). */
  static Map<String, Object> percentiles(Histogram latencies) {
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("steps", latencies.getTotalCount());
    for (double p : new double[] {50, 90, 99, 99.9}) {
      summary.put("p" + (p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p)) + "_ms",
          latencies.getTotalCount() == 0 ? Double.NaN : latencies.getValueAtPercentile(p) / 1e6);
    }
    summary.put("max_ms", latencies.getTotalCount() == 0 ? Double.NaN : latencies.getMaxValue() / 1e6);
    return summary;
  }

  /** The CDF of nanosecond latencies as a chart series in ms: every 2% to p90, then every 0.5%, then the max. */
  static Charts.Series cdf(Histogram latencies) {
    List<double[]> points = new ArrayList<>();
    for (double p = 0; p < 99.99; p += p < 90 ? 2 : 0.5) {
      points.add(new double[] {latencies.getValueAtPercentile(p) / 1e6, p / 100});
    }
    points.add(new double[] {latencies.getMaxValue() / 1e6, 1});
    return new Charts.Series("CDF", points.stream().mapToDouble(v -> v[0]).toArray(),
        points.stream().mapToDouble(v -> v[1]).toArray(), false);
  }

  private String scrape(String url) {
    return DemoReport.scrape(security.httpClient(), java.net.URI.create(url));
  }

  /** Counters shared by all robots. */
  static final class Stats {
    final AtomicLong sent = new AtomicLong();
    final AtomicLong measuredSent = new AtomicLong();
    final AtomicLong chunks = new AtomicLong();
    final AtomicLong superseded = new AtomicLong();
    final AtomicLong measuredSuperseded = new AtomicLong();
    final AtomicLong measuredErrors = new AtomicLong();
    final Map<String, Long> errors = new ConcurrentHashMap<>();

    long errorCount() {
      return errors.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  /** One robot: a policy session fed on a fixed schedule, whatever the server does. */
  private static final class LoadRobot implements ClientResponseObserver<SessionRequest, SessionResponse> {
    private final String id;
    private final ManagedChannel channel;
    private final String instruction;
    private final List<Observation.Builder> frames;
    private final long startNanos;
    private final long periodNanos;
    private final long recordFrom;
    private final long endAt;
    private final Recorder recorder;
    private final Stats stats;
    /** Intended send time (nanoTime) of each observation still unanswered, by sequence. */
    private final Map<Long, Long> intended = new ConcurrentHashMap<>();
    private ClientCallStreamObserver<SessionRequest> requests;
    private Thread sender;
    private volatile boolean stopped;

    LoadRobot(String id, ManagedChannel channel, String instruction, List<Observation.Builder> frames, long startNanos,
        long periodNanos, long recordFrom, long endAt, Recorder recorder, Stats stats) {
      this.id = id;
      this.channel = channel;
      this.instruction = instruction;
      this.frames = frames;
      this.startNanos = startNanos;
      this.periodNanos = periodNanos;
      this.recordFrom = recordFrom;
      this.endAt = endAt;
      this.recorder = recorder;
      this.stats = stats;
    }

    void start() {
      PolicyServiceGrpc.newStub(channel).session(this);
      requests.onNext(SessionRequest.newBuilder().setStart(SessionStart.newBuilder()
          .setRobot(RobotIdentity.newBuilder().setRobotId(id)).setInstruction(instruction)).build());
      sender = Thread.ofVirtual().name(id).start(this::sendOnSchedule);
    }

    /** Sends observation i at start + i * period; a late send keeps its intended time. */
    private void sendOnSchedule() {
      long sequence = 0;
      long intendedAt = startNanos;
      while (!stopped && intendedAt < endAt) {
        if (!GatewayLoad.sleepUntil(intendedAt)) {
          return;
        }
        sequence++;
        Instant now = Instant.now();
        Observation observation = frames.get((int) (sequence % frames.size())).clone().setSequence(sequence)
            .setCaptureTime(ProtoTimes.timestamp(now)).build();
        intended.put(sequence, intendedAt);
        synchronized (this) {
          if (stopped) {
            return;
          }
          requests.onNext(SessionRequest.newBuilder().setObservation(observation).build());
        }
        stats.sent.incrementAndGet();
        if (intendedAt >= recordFrom) {
          stats.measuredSent.incrementAndGet();
        }
        intendedAt += periodNanos;
      }
    }

    synchronized void stop() {
      if (!stopped) {
        stopped = true;
        if (sender != null) {
          sender.interrupt();
        }
        try {
          requests.onCompleted();
        } catch (IllegalStateException alreadyClosed) {
          // The call already ended.
        }
      }
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<SessionRequest> requestStream) {
      requests = requestStream;
    }

    @Override
    public void onNext(SessionResponse response) {
      long now = System.nanoTime();
      switch (response.getMessageCase()) {
        case CHUNK -> {
          Long at = intended.remove(response.getChunk().getChunk().getObservationSequence());
          stats.chunks.incrementAndGet();
          if (at != null && at >= recordFrom && at < endAt) {
            recorder.recordValue(Math.min(now - at, TimeUnit.SECONDS.toNanos(60)));
          }
        }
        case SUPERSEDED -> {
          Long at = intended.remove(response.getSuperseded());
          stats.superseded.incrementAndGet();
          if (at != null && at >= recordFrom && at < endAt) {
            stats.measuredSuperseded.incrementAndGet();
          }
        }
        case ERROR -> {
          Long at = intended.remove(response.getError().getObservationSequence());
          stats.errors.merge(Status.fromCodeValue(response.getError().getCode()).getCode().name(), 1L, Long::sum);
          if (at != null && at >= recordFrom && at < endAt) {
            stats.measuredErrors.incrementAndGet();
          }
        }
        case READY, MESSAGE_NOT_SET -> { }
      }
    }

    @Override
    public void onError(Throwable t) {
      if (!stopped) {
        stats.errors.merge("stream " + Status.fromThrowable(t).getCode().name(), 1L, Long::sum);
      }
    }

    @Override
    public void onCompleted() {}
  }
}
