package io.vlaserve.benchmarks;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.batching.BatchingListener;
import io.vlaserve.policy.batching.ContinuousBatchScheduler;
import io.vlaserve.policy.batching.SchedulerConfig;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.pki.CertificateAuthority;
import io.vlaserve.pki.CertificateRequest;
import io.vlaserve.pki.IssuedCertificate;
import io.vlaserve.tls.TlsMaterial;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Continuous batching vs batch size 1, side by side in one run, at 1, 8, 32 and 64 concurrent robot
 * sessions (closed loop: each robot sends its next observation when its chunk arrives), then the
 * serving overhead at 64 sessions over gRPC.
 *
 * <p>Part 1, in process (no network): the scheduler with max batch 64; the same scheduler with max
 * batch 1; and the previous service path (each request runs {@code VlaPolicy.infer} alone on its own
 * thread, so two requests can use the two cores at once). At each concurrency level the modes
 * alternate in one-second slices (after half a second of filling up each), so they share the
 * machine's noise.
 *
 * <p>Part 2, end to end: policy-service as its own process on loopback, unary Infer from 64 (and 1)
 * concurrent robots; per request, the client's latency minus the engine time the server reports for
 * it ({@code batching.engine}: the graph runs it took part in), split into transport (client minus
 * server receipt-to-reply) and in-server (receipt-to-reply minus engine: preprocessing, queueing for
 * the next step, KV gather/scatter, sampling).
 *
 * <pre>
 * ./vla --version    # builds the jars
 * java --enable-native-access=ALL-UNNAMED -Dvla.home=$PWD -cp benchmarks/target/benchmarks.jar \
 *     io.vlaserve.benchmarks.ContinuousBatchingBenchmark [seconds per mode and level, default 5]
 * </pre>
 */
public final class ContinuousBatchingBenchmark {
  private static final int[] CONCURRENCY = java.util.Arrays.stream(System.getProperty("sessions", "1,8,32,64").split(","))
      .mapToInt(Integer::parseInt).toArray();

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int threads = Integer.getInteger("threads", 1);
    BenchmarkScene scene = BenchmarkScene.load();
    Path home = scene.home();
    ModelPackage model = scene.model();
    System.out.printf("load before: %s%n", uptime());
    System.out.printf("tiny-vla, %d-step chunks (%d tokens), ONNX Runtime CPU, %d intra-op thread(s), %d one-second"
        + " slices per mode and level%n%nclosed loop, every robot asks again as soon as its chunk arrives:%n%n",
        model.chunkLength(), model.chunkLength() * model.actionDimensions(), threads, seconds);

    if (Boolean.getBoolean("grpcOnly")) {
      overGrpc(scene, seconds);
      return;
    }
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, threads)) {
      VlaPolicy policy = new VlaPolicy(model, engine);
      SchedulerConfig batched = new SchedulerConfig(64, Integer.getInteger("maxPrefillBatch", 64), Duration.ofMillis(Long.getLong("queueDelayMs", 0)), 256, 4,
          Duration.ofMillis(10));
      System.out.println("| sessions | mode | chunks/s | p50 (ms) | p99 (ms) | speed-up vs batch 1 | p99 / 1-session p99 |");
      System.out.println("|---:|---|---:|---:|---:|---:|---:|");
      double singleSessionP99 = 0;
      // JIT warm-up, unrecorded, so the first cell measured is not the first code run.
      try (var scheduler = new ContinuousBatchScheduler(policy, batched, System::nanoTime, BatchingListener.NONE)) {
        run(8, 3000, 0, robot -> {
          PolicyRequest request = scene.policyRequest();
          return () -> scheduler.submit(robot, null, request, Long.MAX_VALUE).join();
        });
      }
      for (int sessions : CONCURRENCY) {
        Cell continuous = Cell.EMPTY;
        Cell batchOne = Cell.EMPTY;
        Cell perThread = Cell.EMPTY;
        PhaseStats stats = new PhaseStats();
        // Modes alternate in one-second slices, so a burst of load from other jobs hits all of them alike.
        for (int slice = 0; slice < seconds; slice++) {
          try (var scheduler = new ContinuousBatchScheduler(policy, batched, System::nanoTime, stats)) {
            continuous = continuous.plus(run(sessions, 500, 1000, robot -> {
              PolicyRequest request = scene.policyRequest();
              return () -> scheduler.submit(robot, null, request, Long.MAX_VALUE).join();
            }));
          }
          try (var scheduler = new ContinuousBatchScheduler(policy, batched.withMaxBatchSize(1), System::nanoTime,
              BatchingListener.NONE)) {
            batchOne = batchOne.plus(run(sessions, 500, 1000, robot -> {
              PolicyRequest request = scene.policyRequest();
              return () -> scheduler.submit(robot, null, request, Long.MAX_VALUE).join();
            }));
          }
          perThread = perThread.plus(run(sessions, 500, 1000, robot -> {
            PolicyRequest request = scene.policyRequest();
            return () -> policy.infer(request);
          }));
        }
        if (sessions == 1) {
          singleSessionP99 = batchOne.p99();
        }
        row(sessions, "continuous batching (max 64)", continuous, batchOne, singleSessionP99);
        stats.print(sessions);
        row(sessions, "batch size 1 (same scheduler)", batchOne, batchOne, singleSessionP99);
        row(sessions, "no scheduler: infer per request thread", perThread, batchOne, singleSessionP99);
      }
      // Open loop at a robot's pace: a 4-step chunk at 10 Hz lasts 0.4 s, so each robot asks for one
      // every 0.4 s (2.5 Hz); latency counts from the scheduled send, so overload shows as growing latency.
      long period = Long.getLong("periodMs", 400) * 1_000_000;
      System.out.printf("%nopen loop, every robot asks for a chunk every %d ms (latency from the scheduled send):%n%n",
          period / 1_000_000);
      System.out.println("| sessions | mode | chunks/s | p50 (ms) | p99 (ms) | p99 / 1-session p99 |");
      System.out.println("|---:|---|---:|---:|---:|---:|");
      double openSingleP99 = 0;
      for (int sessions : CONCURRENCY) {
        Cell continuous = Cell.EMPTY;
        Cell batchOne = Cell.EMPTY;
        for (int slice = 0; slice < Math.max(1, seconds / 2); slice++) {
          for (int maxBatch : new int[] {64, 1}) {
            try (var scheduler = new ContinuousBatchScheduler(policy, batched.withMaxBatchSize(maxBatch),
                System::nanoTime, BatchingListener.NONE)) {
              Cell cell = run(sessions, period, 1000, 2000, robot -> {
                PolicyRequest request = scene.policyRequest();
                return () -> scheduler.submit(robot, null, request, Long.MAX_VALUE).join();
              });
              if (maxBatch == 64) {
                continuous = continuous.plus(cell);
              } else {
                batchOne = batchOne.plus(cell);
              }
            }
          }
        }
        if (sessions == 1) {
          openSingleP99 = batchOne.p99();
        }
        for (var named : List.of(java.util.Map.entry("continuous batching (max 64)", continuous),
            java.util.Map.entry("batch size 1 (same scheduler)", batchOne))) {
          Cell cell = named.getValue();
          System.out.printf("| %d | %s | %.1f | %.2f | %.2f | %.2f |%n", sessions, named.getKey(), cell.throughput(),
              cell.p50(), cell.p99(), cell.p99() / openSingleP99);
        }
      }
      System.out.printf("%nload after part 1: %s%n%n", uptime());
    }

    overGrpc(scene, seconds);
    System.out.printf("%nload after: %s%n", uptime());
  }

  /** Mean graph-run time and batch size per phase, to see where a batched step's time goes. */
  private static final class PhaseStats implements BatchingListener {
    private final long[] runs = new long[2];
    private final long[] sequences = new long[2];
    private final long[] nanos = new long[2];

    @Override
    public synchronized void batchRun(Phase phase, int size, long runNanos) {
      runs[phase.ordinal()]++;
      sequences[phase.ordinal()] += size;
      nanos[phase.ordinal()] += runNanos;
    }

    synchronized void print(int sessions) {
      for (Phase phase : Phase.values()) {
        int i = phase.ordinal();
        if (runs[i] > 0) {
          System.err.printf("  [%d sessions] %s: %d runs, mean batch %.1f, mean %.2f ms per run, %.3f ms per sequence%n",
              sessions, phase, runs[i], (double) sequences[i] / runs[i], nanos[i] / 1e6 / runs[i],
              nanos[i] / 1e6 / sequences[i]);
        }
      }
    }
  }

  /** The work of one robot: build once, then called in a loop. */
  private interface Call {
    void run() throws Exception;
  }

  private record Cell(long completed, double seconds, Histogram latency) {
    static final Cell EMPTY = new Cell(0, 0, new Histogram(3));

    double throughput() {
      return completed / seconds;
    }

    Cell plus(Cell other) {
      Histogram sum = latency.copy();
      sum.add(other.latency);
      return new Cell(completed + other.completed, seconds + other.seconds, sum);
    }

    double p50() {
      return latency.getValueAtPercentile(50) / 1000.0;
    }

    double p99() {
      return latency.getValueAtPercentile(99) / 1000.0;
    }
  }

  /** Closed loop: each of {@code sessions} robots calls again as soon as its answer arrives. */
  private static Cell run(int sessions, long warmupMillis, long measureMillis, Function<String, Call> robots)
      throws InterruptedException {
    return run(sessions, 0, warmupMillis, measureMillis, robots);
  }

  /**
   * @param periodNanos 0 for a closed loop; otherwise each robot sends on a fixed schedule (random phase)
   *     and latency counts from the scheduled send time, so a late answer also charges the sends it delayed
   */
  private static Cell run(int sessions, long periodNanos, long warmupMillis, long measureMillis,
      Function<String, Call> robots) throws InterruptedException {
    Recorder recorder = new Recorder(3);
    AtomicBoolean measuring = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> clients = new ArrayList<>();
    java.util.SplittableRandom phases = new java.util.SplittableRandom(sessions);
    for (int s = 0; s < sessions; s++) {
      Call call = robots.apply("robot-" + s);
      long phase = periodNanos == 0 ? 0 : phases.nextLong(periodNanos);
      // Platform threads: a virtual thread inside a native engine call pins its carrier, and a client that
      // cannot be scheduled would not even take its start time.
      clients.add(Thread.ofPlatform().daemon().start(() -> {
        try {
          long scheduled = System.nanoTime() + phase;
          while (!stop.get()) {
            if (periodNanos > 0) {
              long wait = scheduled - System.nanoTime();
              if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
              }
            }
            long started = periodNanos > 0 ? scheduled : System.nanoTime();
            call.run();
            if (measuring.get()) {
              recorder.recordValue(Math.max(0, System.nanoTime() - started) / 1000);
            }
            scheduled += periodNanos;
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    Thread.sleep(warmupMillis); // the batch fills
    recorder.getIntervalHistogram();
    measuring.set(true);
    long started = System.nanoTime();
    Thread.sleep(measureMillis);
    Histogram latency = recorder.getIntervalHistogram();
    double elapsed = (System.nanoTime() - started) / 1e9;
    stop.set(true);
    for (Thread client : clients) {
      client.join();
    }
    return new Cell(latency.getTotalCount(), elapsed, latency);
  }

  private static void row(int sessions, String mode, Cell cell, Cell batchOne, double singleSessionP99) {
    System.out.printf("| %d | %s | %.1f | %.2f | %.2f | %.2fx | %.2f |%n", sessions, mode, cell.throughput(), cell.p50(),
        cell.p99(), cell.throughput() / batchOne.throughput(), cell.p99() / singleSessionP99);
  }

  /** Part 2: unary Infer over loopback to policy-service in its own process. */
  private static void overGrpc(BenchmarkScene scene, int seconds) throws Exception {
    // Plaintext by default, said explicitly: these numbers measure batching, comparable with earlier
    // runs. -Dtls=true: mutual TLS with authenticated callers (the client as the gateway would be).
    boolean tls = Boolean.getBoolean("tls");
    System.out.printf("over gRPC: %s%n%n", tls ? "mutual TLS, authenticated as service/planner-gateway" : "plaintext");
    try (ServiceProcess service = startPolicyService(scene.home(), tls, "continuous-batching-service")) {
      ManagedChannel channel = service.channel();
      try {
        System.out.println("| sessions | load | requests | client latency p50 / p99 (ms) | engine time p50 / p99 | "
            + "client - engine p50 / p99 | transport (client - server) p50 / p99 | in server - engine p50 / p99 | "
            + "of which queued for admission p50 / p99 | of which waiting at decode steps p50 / p99 | "
            + "of which the service's own work p50 / p99 |");
        System.out.println("|---:|---|---:|---|---|---|---|---|---|---|---|");
        long period = Long.getLong("periodMs", 400) * 1_000_000;
        int[] grpcSessions = java.util.Arrays.stream(System.getProperty("grpcSessions", "1,64").split(","))
            .mapToInt(Integer::parseInt).toArray();
        for (int sessions : Boolean.getBoolean("skipGrpc") ? new int[0] : grpcSessions) {
          grpcCell(channel, scene, sessions, 0, seconds);
          grpcCell(channel, scene, sessions, period, seconds);
        }
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /**
   * policy-service as its own process on loopback, serving (the shipped model, {@code -Dthreads} intra-op
   * threads, 1 by default; {@code -DpolicyJar} for another build than the checkout's, {@code -DserviceArgs}
   * for more of its settings): plaintext, or with {@code tls} mutual TLS from a benchmark CA under
   * {@code target/benchmark-pki}, the returned process's channels authenticated as the gateway.
   */
  static ServiceProcess startPolicyService(Path home, boolean tls, String name) throws Exception {
    // -DpolicyJar: another build of the service (e.g. the previous commit's), for before/after runs.
    return startPolicyService(home, tls, name,
        Path.of(System.getProperty("policyJar", home.resolve("policy-service/target/policy-service.jar").toString())));
  }

  /** As {@link #startPolicyService(Path, boolean, String)}, from {@code jar}. */
  static ServiceProcess startPolicyService(Path home, boolean tls, String name, Path jar) throws Exception {
    List<String> security = List.of("--vla.tls.insecure=true");
    ChannelCredentials credentials = io.grpc.InsecureChannelCredentials.create();
    if (tls) {
      CertificateAuthority ca = CertificateAuthority.openOrCreate(home.resolve("target/benchmark-pki"));
      IssuedCertificate server = ca.issue(CertificateRequest.service("policy-service"));
      IssuedCertificate client = ca.issue(CertificateRequest.service("planner-gateway"));
      security = List.of("--vla.tls.certificate=" + server.certificateFile(),
          "--vla.tls.private-key=" + server.privateKeyFile(), "--vla.tls.trust=" + server.caFile());
      credentials = TlsMaterial.load(client.certificateFile(), client.privateKeyFile(), client.caFile())
          .channelCredentials();
    }
    List<String> arguments = new ArrayList<>(security);
    arguments.addAll(List.of("--vla.policy.model=" + home.resolve("models/tiny-vla"),
        "--vla.policy.threads=" + Integer.getInteger("threads", 1)));
    List<String> extra = System.getProperty("serviceArgs", "").isBlank() ? List.of()
        : List.of(System.getProperty("serviceArgs").trim().split("\\s+"));
    arguments.addAll(extra);
    ServiceProcess service = ServiceProcess.start(name, jar, home, List.of(), arguments, home.resolve("target"))
        .clientCredentials(credentials);
    try {
      service.awaitServing(Duration.ofSeconds(120));
    } catch (RuntimeException | InterruptedException e) {
      service.close();
      throw e;
    }
    return service;
  }

  /**
   * Unary Infer from {@code sessions} robots, closed loop ({@code periodNanos} 0) or each robot on a fixed
   * schedule. Per request, from the reply's timing: the client's latency minus the engine time (the graph
   * runs the request took part in), split into transport (client minus the server's receipt-to-reply),
   * waiting for admission (queue), waiting at decode-step boundaries (the decode phase's wall time minus
   * the steps it took part in: joining at the next step, the other rows' relayout and sampling) and the
   * rest, the service's own work (request and image decoding, prompt building, response, thread hops).
   */
  private static void grpcCell(ManagedChannel channel, BenchmarkScene scene, int sessions, long periodNanos,
      int seconds) throws InterruptedException {
    List<Recorder> recorders = new ArrayList<>();
    for (int r = 0; r < 8; r++) {
      recorders.add(new Recorder(3));
    }
    AtomicBoolean measuring = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> robots = new ArrayList<>();
    java.util.SplittableRandom phases = new java.util.SplittableRandom(sessions);
    for (int s = 0; s < sessions; s++) {
      InferRequest request = scene.inferRequest().toBuilder()
          .setRobot(RobotIdentity.newBuilder().setRobotId("robot-" + s)).build();
      var stub = PolicyServiceGrpc.newBlockingStub(channel);
      long phase = periodNanos == 0 ? 0 : phases.nextLong(periodNanos);
      robots.add(Thread.ofPlatform().daemon().start(() -> {
        long scheduled = System.nanoTime() + phase;
        while (!stop.get()) {
          if (periodNanos > 0) {
            long wait = scheduled - System.nanoTime();
            if (wait > 0) {
              try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
              }
            }
          }
          long started = System.nanoTime();
          InferResponse response = stub.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request);
          long micros = (System.nanoTime() - started) / 1000;
          scheduled += periodNanos;
          if (measuring.get()) {
            var timing = response.getTiming();
            long engineMicros = micros(response.getBatching().getEngine());
            long serverMicros = micros(timing.getTotal());
            long queueMicros = micros(timing.getQueue());
            long prefillMicros = micros(timing.getPrefill());
            long decodeWallMicros = micros(timing.getDecode());
            long[] values = {micros, engineMicros, micros - engineMicros, micros - serverMicros,
                serverMicros - engineMicros, queueMicros, decodeWallMicros - (engineMicros - prefillMicros),
                serverMicros - queueMicros - prefillMicros - decodeWallMicros};
            for (int v = 0; v < values.length; v++) {
              recorders.get(v).recordValue(Math.max(0, values[v]));
            }
          }
        }
      }));
    }
    // -DgrpcWarmupSeconds (2): unrecorded calls first. This JVM's own gRPC client is as fresh as the service,
    // so its first calls also pay for its JIT (docs/benchmarks.md, issue 17 item 5).
    Thread.sleep(Long.getLong("grpcWarmupSeconds", 2) * 1000);
    recorders.forEach(Recorder::getIntervalHistogram);
    measuring.set(true);
    Thread.sleep(seconds * 1000L);
    List<Histogram> h = recorders.stream().map(Recorder::getIntervalHistogram).toList();
    stop.set(true);
    for (Thread robot : robots) {
      robot.join(); // within one call or one period
    }
    System.out.printf("| %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |%n", sessions,
        periodNanos == 0 ? "closed loop" : "a chunk every " + periodNanos / 1_000_000 + " ms", h.get(0).getTotalCount(),
        pair(h.get(0)), pair(h.get(1)), pair(h.get(2)), pair(h.get(3)), pair(h.get(4)), pair(h.get(5)), pair(h.get(6)),
        pair(h.get(7)));
  }

  private static String pair(Histogram h) {
    return String.format("%.2f / %.2f", h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0);
  }

  private static long micros(com.google.protobuf.Duration d) {
    return d.getSeconds() * 1_000_000 + d.getNanos() / 1000;
  }

  private static String uptime() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim() + " (1, 5, 15 min load; runnable/total; last pid)";
    } catch (IOException e) {
      return "unknown";
    }
  }
}
