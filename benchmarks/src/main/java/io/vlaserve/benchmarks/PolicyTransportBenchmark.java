package io.vlaserve.benchmarks;

import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.stub.ClientCalls;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.pki.CertificateAuthority;
import io.vlaserve.pki.CertificateRequest;
import io.vlaserve.pki.IssuedCertificate;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.tls.TlsMaterial;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * policy-service's transport at 1 robot against the bare grpc-java echo, in one run (issue 17, item 5).
 * policy-service runs as its own process on loopback ({@link ContinuousBatchingBenchmark#startPolicyService});
 * the echo ({@link TransportFloorBenchmark#startEcho}) in this one, echoing the very bytes of the Infer
 * request. Each slice takes, in turn:
 *
 * <ul>
 *   <li><b>echo, back to back</b>: the transport floor as {@code TransportFloorBenchmark} measures it
 *       (server and client in this JVM), and, plaintext only, the same echo server in a JVM of its own
 *       ({@code TransportFloorBenchmark serve}), as policy-service is;
 *   <li><b>Infer, 1 robot, closed loop</b>: the client's latency, the server's own receipt-to-reply
 *       ({@code timing.total}) and their difference, the transport;
 *   <li><b>echo, after a pause</b>: each call after the client waited as long as an Infer's server time
 *       (the previous slice's median), as the Infer client does: what any call costs on this machine
 *       when the threads it wakes have been idle that long;
 *   <li><b>GetMetadata</b>, back to back and after the same pause: the service's gRPC stack
 *       (interceptors, executor, its Netty server) with no inference behind it.
 * </ul>
 *
 * <p>Every path is warmed up before measuring, client and servers alike: the echoes and GetMetadata
 * with {@code -DwarmupCalls} calls each (2,000), Infer for {@code -DwarmupSeconds} (2, as
 * {@code ContinuousBatchingBenchmark}). {@code -DwarmupCalls=0 -DwarmupSeconds=0} measures services
 * fresh from SERVING with a cold client instead, as {@code ContinuousBatchingBenchmark} does. It
 * ends with the transport's p50 over each echo's, back to back and after the pause. Same channel
 * kind and blocking stubs for all; {@code -Dtls=true} runs the service and the echo over mutual TLS. {@code -Dservices=
 * before=old.jar,after=policy-service/target/policy-service.jar} runs two builds side by side, their
 * slices alternating, for a before/after comparison on the same machine state.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -Dvla.home=$PWD -cp benchmarks/target/benchmarks.jar \
 *     io.vlaserve.benchmarks.PolicyTransportBenchmark [slices, default 10]
 * </pre>
 */
public final class PolicyTransportBenchmark {
  private static final int BACK_TO_BACK_CALLS = 300;
  private static final int PAUSED_CALLS = 40;
  private static final long INFER_SLICE_NANOS = 1_000_000_000L;
  private static final String CLIENT = "Infer: client latency";
  private static final String SERVER = "Infer: server receipt-to-reply";
  private static final String TRANSPORT = "Infer: transport (client - server)";
  private static final String METADATA = "GetMetadata, back to back";
  private static final String METADATA_PAUSED = "GetMetadata, after a pause";
  private static final List<String> TARGET_ROWS = List.of(CLIENT, SERVER, TRANSPORT, METADATA, METADATA_PAUSED);

  private PolicyTransportBenchmark() {}

  /** A bare echo server (in this process, or {@code process}) and what was measured of it. */
  private record Echo(String name, Process process, ManagedChannel channel, Histogram backToBack, Histogram paused) {
    Echo(String name, Process process, ManagedChannel channel) {
      this(name, process, channel, new Histogram(3), new Histogram(3));
    }
  }

  /** One policy-service under test: its process, stub and what was measured of it. */
  private record Target(String label, ServiceProcess process, ManagedChannel channel,
      PolicyServiceGrpc.PolicyServiceBlockingStub stub, Map<String, Histogram> latency) {}

  public static void main(String[] args) throws Exception {
    int slices = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    boolean tls = Boolean.getBoolean("tls");
    int warmupCalls = Integer.getInteger("warmupCalls", 2000);
    long warmupSeconds = Long.getLong("warmupSeconds", 2);
    BenchmarkScene scene = BenchmarkScene.load();
    InferRequest request = scene.inferRequest().toBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("robot-0")).build();
    byte[] payload = request.toByteArray();
    // -Dservices=before=/tmp/old.jar,after=policy-service/target/policy-service.jar: builds side by side.
    Map<String, Path> jars = new LinkedHashMap<>();
    String services = System.getProperty("services", "");
    if (services.isBlank()) {
      jars.put("policy-service", Path.of(System.getProperty("policyJar",
          scene.home().resolve("policy-service/target/policy-service.jar").toString())));
    } else {
      for (String service : services.split(",")) {
        String[] labelAndJar = service.split("=", 2);
        jars.put(labelAndJar[0], Path.of(labelAndJar[1]));
      }
    }

    ServerCredentials echoServer = InsecureServerCredentials.create();
    ChannelCredentials echoClient = InsecureChannelCredentials.create();
    TlsMaterial serverTls = null;
    TlsMaterial clientTls = null;
    if (tls) {
      CertificateAuthority ca = CertificateAuthority.openOrCreate(scene.home().resolve("target/benchmark-pki"));
      IssuedCertificate server = ca.issue(CertificateRequest.service("policy-service"));
      IssuedCertificate client = ca.issue(CertificateRequest.service("planner-gateway"));
      serverTls = TlsMaterial.load(server.certificateFile(), server.privateKeyFile(), server.caFile());
      clientTls = TlsMaterial.load(client.certificateFile(), client.privateKeyFile(), client.caFile());
      echoServer = serverTls.serverCredentials(TlsServerCredentials.ClientAuth.OPTIONAL);
      echoClient = clientTls.channelCredentials();
    }
    Server echo = TransportFloorBenchmark.startEcho(echoServer);
    List<Echo> echoes = new ArrayList<>();
    echoes.add(new Echo("echo", null, Grpc.newChannelBuilderForAddress("localhost", echo.getPort(), echoClient).build()));
    List<Target> targets = new ArrayList<>();
    try {
      if (!tls) {
        // The same echo in a JVM of its own, as policy-service is: wake-ups and caches across two processes.
        int port = ServiceProcess.freePort();
        Process process = new ProcessBuilder(ServiceProcess.javaCommand(), "--enable-native-access=ALL-UNNAMED", "-cp",
            System.getProperty("java.class.path"), TransportFloorBenchmark.class.getName(), "serve", String.valueOf(port))
            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String line = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream())).readLine();
        if (line == null || !line.startsWith("serving on")) {
          process.destroyForcibly();
          throw new IllegalStateException("the echo process did not start: " + line);
        }
        echoes.add(new Echo("echo in its own process", process,
            Grpc.newChannelBuilderForAddress("localhost", port, InsecureChannelCredentials.create()).build()));
      }
      for (Map.Entry<String, Path> jar : jars.entrySet()) {
        ServiceProcess process = ContinuousBatchingBenchmark.startPolicyService(scene.home(), tls,
            "policy-transport-" + jar.getKey(), jar.getValue());
        ManagedChannel channel = process.channel();
        Map<String, Histogram> latency = new LinkedHashMap<>();
        for (String name : TARGET_ROWS) {
          latency.put(name, new Histogram(3));
        }
        targets.add(new Target(jar.getKey(), process, channel, PolicyServiceGrpc.newBlockingStub(channel), latency));
      }
      Histogram unused = new Histogram(3);
      GetMetadataRequest metadata = GetMetadataRequest.getDefaultInstance();
      for (int i = 0; i < warmupCalls; i++) {
        for (Echo e : echoes) {
          echo(e.channel(), payload);
        }
        for (Target target : targets) {
          target.stub().withDeadlineAfter(30, TimeUnit.SECONDS).getMetadata(metadata);
        }
      }
      Histogram server = new Histogram(3);
      for (Target target : targets) {
        inferFor(target.stub(), request, warmupSeconds * 1_000_000_000L, unused, server, unused);
      }
      long pauseNanos = server.getValueAtPercentile(50) * 1000;

      System.out.printf("policy-service transport vs the bare echo, 1 robot, %s, payload %,d bytes (the Infer request),"
          + " %d slices, %d cores, JDK %s%n", tls ? "mutual TLS" : "plaintext", payload.length, slices,
          Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
      for (int slice = 0; slice < slices; slice++) {
        StringBuilder line = new StringBuilder("  slice " + slice + ":");
        for (Echo e : echoes) {
          Histogram sliceEcho = new Histogram(3);
          for (int i = 0; i < BACK_TO_BACK_CALLS; i++) {
            long started = System.nanoTime();
            echo(e.channel(), payload);
            record(started, e.backToBack(), sliceEcho);
          }
          line.append(String.format(" %s %.3f ms;", e.name(), p50(sliceEcho)));
        }
        Histogram sliceServer = new Histogram(3);
        for (Target target : targets) {
          Map<String, Histogram> h = target.latency();
          Histogram sliceTransport = new Histogram(3);
          Histogram targetServer = new Histogram(3);
          inferFor(target.stub(), request, INFER_SLICE_NANOS, h.get(CLIENT), targetServer, sliceTransport);
          h.get(SERVER).add(targetServer);
          h.get(TRANSPORT).add(sliceTransport);
          sliceServer.add(targetServer);
          for (int i = 0; i < BACK_TO_BACK_CALLS; i++) {
            long started = System.nanoTime();
            target.stub().withDeadlineAfter(30, TimeUnit.SECONDS).getMetadata(metadata);
            record(started, h.get(METADATA), unused);
          }
          for (int i = 0; i < PAUSED_CALLS; i++) {
            pause(pauseNanos);
            long started = System.nanoTime();
            target.stub().withDeadlineAfter(30, TimeUnit.SECONDS).getMetadata(metadata);
            record(started, h.get(METADATA_PAUSED), unused);
          }
          line.append(String.format(" %s Infer transport %.3f ms;", target.label(), p50(sliceTransport)));
        }
        pauseNanos = sliceServer.getValueAtPercentile(50) * 1000;
        line.append(String.format(" after a %.1f ms pause:", pauseNanos / 1e6));
        for (Echo e : echoes) {
          Histogram slicePaused = new Histogram(3);
          for (int i = 0; i < PAUSED_CALLS; i++) {
            pause(pauseNanos);
            long started = System.nanoTime();
            echo(e.channel(), payload);
            record(started, e.paused(), slicePaused);
          }
          line.append(String.format(" %s %.3f ms;", e.name(), p50(slicePaused)));
        }
        System.err.println(line);
      }
      System.out.println();
      System.out.println("| path | calls | p50 | p90 | p99 |");
      System.out.println("|---|---:|---:|---:|---:|");
      for (Echo e : echoes) {
        row(e.name() + ", back to back", e.backToBack());
        row(e.name() + ", after a pause", e.paused());
      }
      for (Target target : targets) {
        String prefix = targets.size() > 1 ? target.label() + ": " : "";
        target.latency().forEach((name, histogram) -> row(prefix + name, histogram));
      }
      System.out.println();
      for (Target target : targets) {
        double transport = p50(target.latency().get(TRANSPORT));
        StringBuilder ratios = new StringBuilder();
        for (Echo e : echoes) {
          ratios.append(String.format("%s %.2fx back to back, %.2fx after the same pause; ", e.name(),
              transport / p50(e.backToBack()), transport / p50(e.paused())));
        }
        System.out.printf("%stransport p50 / echo p50: %s(issue 17 asks for <= 1.5x)%n",
            targets.size() > 1 ? target.label() + ": " : "", ratios);
      }
    } finally {
      for (Target target : targets) {
        target.channel().shutdownNow();
        target.process().close();
      }
      for (Echo e : echoes) {
        e.channel().shutdownNow();
        if (e.process() != null) {
          e.process().destroy();
        }
      }
      echo.shutdownNow();
      if (serverTls != null) {
        serverTls.close();
        clientTls.close();
      }
    }
  }

  private static void row(String name, Histogram histogram) {
    System.out.printf("| %s | %d | %.3f ms | %.3f ms | %.3f ms |%n", name, histogram.getTotalCount(), p50(histogram),
        histogram.getValueAtPercentile(90) / 1000.0, histogram.getValueAtPercentile(99) / 1000.0);
  }

  /** Closed-loop Infer calls for {@code nanos}: client latency, the server's own time, their difference. */
  private static void inferFor(PolicyServiceGrpc.PolicyServiceBlockingStub stub, InferRequest request, long nanos,
      Histogram client, Histogram server, Histogram transport) {
    long end = System.nanoTime() + nanos;
    while (System.nanoTime() < end) {
      long started = System.nanoTime();
      InferResponse response = stub.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request);
      long micros = (System.nanoTime() - started) / 1000;
      var total = response.getTiming().getTotal();
      long serverMicros = total.getSeconds() * 1_000_000 + total.getNanos() / 1000;
      client.recordValue(micros);
      server.recordValue(serverMicros);
      transport.recordValue(Math.max(0, micros - serverMicros));
    }
  }

  /** One echo call, with the deadline every Infer call carries (a deadline costs a timer per call). */
  private static void echo(ManagedChannel channel, byte[] payload) {
    ClientCalls.blockingUnaryCall(channel, TransportFloorBenchmark.ECHO,
        CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), payload);
  }

  private static void record(long started, Histogram all, Histogram slice) {
    long micros = (System.nanoTime() - started) / 1000;
    all.recordValue(micros);
    slice.recordValue(micros);
  }

  private static void pause(long nanos) throws InterruptedException {
    Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
  }

  private static double p50(Histogram h) {
    return h.getValueAtPercentile(50) / 1000.0;
  }
}
