package io.vlaserve.benchmarks;

import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.vlaserve.pki.CertificateAuthority;
import io.vlaserve.pki.CertificateRequest;
import io.vlaserve.pki.IssuedCertificate;
import io.vlaserve.pki.Role;
import io.vlaserve.testing.RawGrpc;
import io.vlaserve.tls.TlsMaterial;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * The transport floor: a bare grpc-java unary echo of a robot-sized payload (a 64x64 RGB frame,
 * 12,288 bytes, plus a little) over loopback, plaintext and TLS (the suite's own TlsMaterial: the
 * demo CA's certificates, mutual TLS), alternating in slices so both see the same machine. What
 * any service path costs beyond this is the service's own (issues 16 and 17).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.vlaserve.benchmarks.TransportFloorBenchmark [slices, default 10]
 * java -cp benchmarks/target/benchmarks.jar io.vlaserve.benchmarks.TransportFloorBenchmark serve PORT  # the echo alone
 * </pre>
 */
public final class TransportFloorBenchmark {
  private static final int PAYLOAD = 64 * 64 * 3 + 256;
  private static final int CALLS_PER_SLICE = 500;


  /** The echo method: whatever bytes come in go back out. */
  static final MethodDescriptor<byte[], byte[]> ECHO =
      RawGrpc.method("bench.Echo/Echo", MethodDescriptor.MethodType.UNARY);

  private record Endpoint(String name, Server server, ManagedChannel channel, Histogram latency) {}

  public static void main(String[] args) throws Exception {
    if (args.length == 2 && args[0].equals("serve")) {
      // The echo alone in this process, plaintext on loopback port args[1], until killed (PolicyTransportBenchmark).
      Server server = Grpc.newServerBuilderForPort(Integer.parseInt(args[1]), InsecureServerCredentials.create())
          .addService(echoService()).build().start();
      System.out.println("serving on " + server.getPort());
      server.awaitTermination();
      return;
    }
    int slices = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    Path dir = Files.createTempDirectory("vla-transport-floor");
    CertificateAuthority ca = CertificateAuthority.openOrCreate(dir);
    IssuedCertificate server = ca.issue(CertificateRequest.service("policy-service"));
    IssuedCertificate client = ca.issue(CertificateRequest.client(Role.ROBOT, "arm-1"));
    TlsMaterial serverTls = TlsMaterial.load(server.certificateFile(), server.privateKeyFile(), server.caFile());
    TlsMaterial clientTls = TlsMaterial.load(client.certificateFile(), client.privateKeyFile(), client.caFile());

    Map<String, Endpoint> endpoints = new LinkedHashMap<>();
    endpoints.put("plaintext", start("plaintext", InsecureServerCredentials.create(), InsecureChannelCredentials.create()));
    endpoints.put("tls", start("tls", serverTls.serverCredentials(TlsServerCredentials.ClientAuth.OPTIONAL),
        clientTls.channelCredentials()));
    byte[] payload = new byte[PAYLOAD];
    for (Endpoint endpoint : endpoints.values()) { // warm-up, not recorded
      for (int i = 0; i < 2000; i++) {
        ClientCalls.blockingUnaryCall(endpoint.channel(), ECHO, CallOptions.DEFAULT, payload);
      }
    }
    for (int slice = 0; slice < slices; slice++) {
      for (Endpoint endpoint : endpoints.values()) {
        for (int i = 0; i < CALLS_PER_SLICE; i++) {
          long start = System.nanoTime();
          ClientCalls.blockingUnaryCall(endpoint.channel(), ECHO, CallOptions.DEFAULT, payload);
          endpoint.latency().recordValue((System.nanoTime() - start) / 1000);
        }
      }
    }
    System.out.printf("unary echo of %d bytes, %d calls per mode in %d alternating slices, %d cores, %s%n",
        PAYLOAD, slices * CALLS_PER_SLICE, slices, Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
    for (Endpoint endpoint : endpoints.values()) {
      Histogram h = endpoint.latency();
      System.out.printf("%-10s p50 %6.3f ms  p90 %6.3f ms  p99 %6.3f ms%n", endpoint.name(),
          h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0);
      endpoint.channel().shutdownNow();
      endpoint.server().shutdownNow();
    }
    serverTls.close();
    clientTls.close();
  }

  private static Endpoint start(String name, ServerCredentials serverCredentials, ChannelCredentials channelCredentials)
      throws IOException {
    Server server = startEcho(serverCredentials);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("localhost", server.getPort(), channelCredentials).build();
    return new Endpoint(name, server, channel, new Histogram(60_000_000L, 3));
  }

  /** The bare echo: a grpc-java server with {@link #ECHO} alone, on a free port, default executor. */
  static Server startEcho(ServerCredentials credentials) throws IOException {
    return Grpc.newServerBuilderForPort(0, credentials).addService(echoService()).build().start();
  }

  private static ServerServiceDefinition echoService() {
    return ServerServiceDefinition.builder("bench.Echo")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((request, responses) -> {
          responses.onNext(request);
          responses.onCompleted();
        }))
        .build();
  }
}
