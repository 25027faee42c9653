package io.vlaserve.service.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The plaintext warning on real sockets: once per new connection, at its first call, rate-limited on a fake clock. */
class InsecureTransportWarningTest {
  private final AtomicLong now = new AtomicLong();
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private Server server;

  private int start(Duration interval) throws Exception {
    ServerBuilder<?> builder = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new HealthStatusManager().getHealthService());
    new InsecureTransportWarning("test port", interval, now::get, lines::add).install(builder);
    server = builder.build().start();
    return server.getPort();
  }

  @AfterEach
  void stop() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** Opens a new connection and makes {@code calls} calls on it. */
  private static void connectAndCall(int port, int calls) throws InterruptedException {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port, InsecureChannelCredentials.create())
        .build();
    try {
      for (int i = 0; i < calls; i++) {
        HealthGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
            .check(HealthCheckRequest.getDefaultInstance());
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void eachNewConnectionsFirstCallIsWarnedOnceNamingPeerMethodAndTheSetting() throws Exception {
    int port = start(Duration.ZERO);
    connectAndCall(port, 3);
    connectAndCall(port, 2);
    assertEquals(2, lines.size(), "one line per connection, not per call: " + lines);
    String line = lines.get(0);
    assertTrue(line.startsWith("Plaintext connection on test port from /127.0.0.1:")
        && line.contains("first call grpc.health.v1.Health/Check") && line.contains("vla.tls.insecure=true"), line);
  }

  @Test
  void linesAreRateLimitedAndTheNextOneCountsThoseLeftOut() throws Exception {
    int port = start(Duration.ofSeconds(10));
    connectAndCall(port, 1);
    connectAndCall(port, 1);
    connectAndCall(port, 1);
    assertEquals(1, lines.size(), lines.toString());
    now.addAndGet(Duration.ofSeconds(10).toNanos());
    connectAndCall(port, 1);
    assertEquals(2, lines.size(), lines.toString());
    assertTrue(lines.get(1).endsWith("(and 2 more plaintext connections not logged since the last line)"),
        lines.get(1));
  }
}
