package io.vlaserve.service.auth;

import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.vlaserve.tls.TestPki;
import io.vlaserve.testing.RawGrpc;
import io.vlaserve.tls.TlsMaterial;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * Walks {@link AccessTable} over real sockets against a running service: every method of the
 * given gRPC services is called once by a caller of each role and once without any credential,
 * and what happens is compared with the table (open: served to all; listed role: served; other
 * role: PERMISSION_DENIED; no credential: UNAUTHENTICATED). "Served" means the call got past
 * authorization: a reply, or any status but those two. Each call sends one empty request and
 * half-closes, which every vla method answers or refuses without side effects (empty ids name no
 * robot). Decided by what the server sends, never by a timer.
 */
public final class AccessTableWalk implements AutoCloseable {
  /** The callers: one per role (a robot is {@code arm-1}), plus none. */
  public static final List<String> CALLERS = List.of("none", "robot", "operator", "service", "viewer");

  private final String host;
  private final TestPki pki;
  private final Map<String, TlsMaterial> materials = new LinkedHashMap<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  /** @param pki the suite's CA; callers' certificates are issued from it on first use */
  public AccessTableWalk(String host, TestPki pki) {
    this.host = host;
    this.pki = pki;
  }

  /**
   * The arguments that start a service as deployed but on loopback ports chosen by the system: TLS
   * with {@code server}'s certificate, trusting {@code pki}'s CA, callers authenticated; then
   * {@code more} (the service's own settings).
   */
  public static String[] secureArguments(TestPki pki, TestPki.Issued server, String... more) {
    List<String> arguments = new ArrayList<>(List.of("--spring.grpc.server.port=0",
        "--spring.grpc.server.address=127.0.0.1", "--server.port=0", "--server.address=127.0.0.1",
        "--vla.tls.insecure=false", "--vla.tls.certificate=" + server.certificate(),
        "--vla.tls.private-key=" + server.privateKey(), "--vla.tls.trust=" + pki.caCertificate()));
    arguments.addAll(List.of(more));
    return arguments.toArray(String[]::new);
  }

  /**
   * Walks every method of {@code services} on {@code port} and fails listing each call that did not
   * do what the table says, or when the walk did not make {@code expectedCalls} calls (a method
   * added to a service must be counted in its test too).
   */
  public void assertTableHolds(int port, List<ServiceDescriptor> services, int expectedCalls) {
    int[] walked = {0};
    List<String> wrong = walk(port, services, walked);
    org.junit.jupiter.api.Assertions.assertEquals(List.of(), wrong);
    org.junit.jupiter.api.Assertions.assertEquals(expectedCalls, walked[0], "calls walked on port " + port);
  }

  /** The certificate identity used for each role. */
  public static String spiffeId(String caller) {
    return switch (caller) {
      case "robot" -> "spiffe://vla-serve/robot/arm-1";
      case "operator" -> "spiffe://vla-serve/operator/alice";
      case "service" -> "spiffe://vla-serve/service/planner-gateway";
      case "viewer" -> "spiffe://vla-serve/viewer/grafana";
      default -> throw new IllegalArgumentException(caller);
    };
  }

  /** The TLS material of a caller ("none": trusting the CA, no certificate). */
  public TlsMaterial material(String caller) {
    return materials.computeIfAbsent(caller, name -> {
      if (name.equals("none")) {
        return TlsMaterial.trusting(pki.caCertificate());
      }
      TestPki.Issued issued = pki.client("walk-" + name, spiffeId(name));
      return TlsMaterial.load(issued.certificate(), issued.privateKey(), pki.caCertificate());
    });
  }

  /** A channel to {@code port} as {@code caller}. */
  public ManagedChannel channel(int port, String caller) {
    ChannelCredentials credentials = material(caller).channelCredentials();
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(host, port, credentials).build();
    channels.add(channel);
    return channel;
  }

  /**
   * Walks every method of {@code services} on {@code port}.
   *
   * @return one line per call that did not do what the table says (empty: the table holds), and
   *     the count of calls made in {@code walked}
   */
  public List<String> walk(int port, List<ServiceDescriptor> services, int[] walked) {
    List<String> wrong = new ArrayList<>();
    for (String caller : CALLERS) {
      ManagedChannel channel = channel(port, caller);
      for (ServiceDescriptor service : services) {
        for (MethodDescriptor<?, ?> method : service.getMethods()) {
          String name = method.getFullMethodName();
          AccessTable.Rule rule = AccessTable.GRPC.rule(name)
              .orElseThrow(() -> new AssertionError(name + " has no row in AccessTable"));
          String expected = rule.open() ? "served" : caller.equals("none") ? "UNAUTHENTICATED"
              : rule.roles().contains(Role.fromWire(caller)) ? "served" : "PERMISSION_DENIED";
          String outcome = call(channel, name, method.getType());
          walked[0]++;
          if (!outcome.startsWith(expected)) {
            wrong.add(caller + " -> " + name + ": expected " + expected + ", got " + outcome);
          }
        }
      }
    }
    return wrong;
  }

  /** Calls {@code method} with one empty request: "served (...)" or the refusing status code. */
  public static String call(ManagedChannel channel, String method, MethodDescriptor.MethodType type) {
    MethodDescriptor<byte[], byte[]> raw = RawGrpc.method(method, type);
    ClientCall<byte[], byte[]> call = channel.newCall(raw, CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
    CompletableFuture<String> outcome = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        outcome.complete("served (a reply)");
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        Status.Code code = status.getCode();
        outcome.complete(code == Status.Code.UNAUTHENTICATED || code == Status.Code.PERMISSION_DENIED
            ? code.name() + ": " + status.getDescription() : "served (" + code + ": " + status.getDescription() + ")");
      }
    }, new Metadata());
    call.request(1);
    call.sendMessage(new byte[0]);
    call.halfClose();
    try {
      return outcome.get(90, TimeUnit.SECONDS);
    } catch (Exception e) {
      return "no outcome: " + e;
    } finally {
      call.cancel("walked", null);
    }
  }

  /** An HTTPS GET or POST as {@code caller}: the status code. */
  public int http(String method, URI uri, String caller, String jsonBody) {
    try {
      TlsMaterial material = material(caller);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(material.hasIdentity() ? new KeyManager[] {material.keyManager()} : null,
          new TrustManager[] {material.clientCertificateVerifier()}, null);
      try (HttpClient client = HttpClient.newBuilder().sslContext(context).build()) {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(java.time.Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .method(method, jsonBody == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(jsonBody))
            .build();
        return client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
    }
    materials.values().forEach(TlsMaterial::close);
  }
}
