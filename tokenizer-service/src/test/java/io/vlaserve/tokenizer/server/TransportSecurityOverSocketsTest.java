package io.vlaserve.tokenizer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.service.tls.TransportSecurity;
import io.vlaserve.tls.TestPki;
import io.vlaserve.tls.TlsMaterial;
import io.vlaserve.tokenizer.v1.ListProfilesRequest;
import io.vlaserve.tokenizer.v1.TokenSequence;
import io.vlaserve.tokenizer.v1.TokenizeRequest;
import io.vlaserve.tokenizer.v1.TokenizeResponse;
import io.vlaserve.tokenizer.v1.TokenizerServiceGrpc;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Issue 16, item 1 on real sockets: the service started with {@code vla.tls.*} (mutual TLS,
 * client auth required) serves gRPC and HTTP over TLS from PEM files, refuses plaintext and
 * strangers cleanly, and takes a rotated certificate for new connections without dropping an open
 * stream. The app is started with command-line arguments (not {@code @SpringBootTest}) because the
 * certificate paths exist only once the test's PKI is made. The files are re-read every hour, so
 * the rotation happens exactly when the test calls {@code refresh()}, as the periodic re-read would.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TransportSecurityOverSocketsTest {
  private TestPki pki;
  private TestPki otherCa;
  private TestPki.Issued server;
  private TestPki.Issued robot;
  private ConfigurableApplicationContext app;
  private int grpcPort;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<TlsMaterial> materials = new ArrayList<>();

  @BeforeAll
  void start(@TempDir Path dir) {
    pki = TestPki.create(dir, "suite");
    otherCa = TestPki.create(dir, "other");
    server = pki.server("tokenizer");
    robot = pki.client("pipeline", "spiffe://vla-serve/service/dataset-pipeline");
    app = new SpringApplicationBuilder(TokenizerServiceApplication.class).run(
        "--spring.grpc.server.port=0", "--spring.grpc.server.address=127.0.0.1",
        "--server.port=0", "--server.address=127.0.0.1",
        "--vla.tls.insecure=false", "--vla.tls.certificate=" + server.certificate(), "--vla.tls.private-key=" + server.privateKey(),
        "--vla.tls.trust=" + pki.caCertificate(), "--vla.tls.client-auth=require", "--vla.tls.reload-period=1h");
    grpcPort = app.getBean(GrpcServerPort.class).await(30);
  }

  @AfterAll
  void stop() {
    app.close();
  }

  @AfterEach
  void closeChannels() throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    channels.clear();
    materials.forEach(TlsMaterial::close);
    materials.clear();
  }

  private ManagedChannel channel(ChannelCredentials credentials) {
    // "localhost": the name in the server's certificate, checked by the client.
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("localhost", grpcPort, credentials).build();
    channels.add(channel);
    return channel;
  }

  private ManagedChannel robotChannel() {
    TlsMaterial material = TlsMaterial.load(robot.certificate(), robot.privateKey(), pki.caCertificate());
    materials.add(material);
    return channel(material.channelCredentials());
  }

  /** Records the certificate the server presented on each call. */
  private static final class PeerCertificate implements ClientInterceptor {
    final AtomicReference<X509Certificate> last = new AtomicReference<>();

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          ClientCall<Q, R> call = delegate();
          super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
            @Override
            public void onHeaders(Metadata received) {
              SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
              try {
                last.set(session == null ? null : (X509Certificate) session.getPeerCertificates()[0]);
              } catch (SSLPeerUnverifiedException e) {
                last.set(null);
              }
              super.onHeaders(received);
            }
          }, headers);
        }
      };
    }
  }

  private static BigInteger servedSerial(Channel channel) {
    PeerCertificate peer = new PeerCertificate();
    TokenizerServiceGrpc.newBlockingStub(ClientInterceptors.intercept(channel, peer))
        .withDeadlineAfter(30, TimeUnit.SECONDS).listProfiles(ListProfilesRequest.getDefaultInstance());
    assertTrue(peer.last.get() != null, "the call ran over TLS: the client saw the server's certificate");
    return peer.last.get().getSerialNumber();
  }

  /** The status a call on {@code channel} fails with (printed: what a client sees as the cause). */
  private Status failure(ManagedChannel channel) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> TokenizerServiceGrpc
        .newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .listProfiles(ListProfilesRequest.getDefaultInstance()));
    System.out.println("refused: " + e.getStatus() + (e.getCause() == null ? "" : " caused by " + e.getCause()));
    return e.getStatus();
  }

  private static void assertUnavailable(Status status) {
    assertEquals(Status.Code.UNAVAILABLE, status.getCode(), status.toString());
  }

  private void assertServerUnharmed() {
    ManagedChannel channel = robotChannel();
    servedSerial(channel);
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus());
  }

  @Test
  void aRobotWithACertificateFromTheTrustedCaIsServedOverMutualTls() {
    ManagedChannel channel = robotChannel();
    assertTrue(servedSerial(channel).compareTo(BigInteger.ZERO) > 0);
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus());
  }

  @Test
  void aPlaintextClientFailsCleanlyWithUnavailableAndTheServerGoesOn() {
    assertUnavailable(failure(channel(InsecureChannelCredentials.create())));
    assertServerUnharmed();
  }

  @Test
  void aClientWithoutACertificateIsRefusedWhenClientAuthIsRequired() {
    TlsMaterial trustOnly = TlsMaterial.trusting(pki.caCertificate());
    materials.add(trustOnly);
    assertUnavailable(failure(channel(trustOnly.channelCredentials())));
    assertServerUnharmed();
  }

  @Test
  void aClientWithACertificateFromAnotherCaIsRefused() {
    TestPki.Issued stranger = otherCa.client("stranger", "spiffe://elsewhere/robot/x");
    TlsMaterial material = TlsMaterial.load(stranger.certificate(), stranger.privateKey(), pki.caCertificate());
    materials.add(material);
    assertUnavailable(failure(channel(material.channelCredentials())));
    assertServerUnharmed();
  }

  @Test
  void aClientThatDoesNotTrustTheServersCaRefusesTheServer() {
    TestPki.Issued own = otherCa.client("doubter", "spiffe://elsewhere/robot/y");
    TlsMaterial material = TlsMaterial.load(own.certificate(), own.privateKey(), otherCa.caCertificate());
    materials.add(material);
    assertUnavailable(failure(channel(material.channelCredentials())));
    assertServerUnharmed();
  }

  @Test
  void aClientRefusesAServerWhoseCertificateDoesNotNameTheHostItDialed() {
    TlsMaterial material = TlsMaterial.load(robot.certificate(), robot.privateKey(), pki.caCertificate());
    materials.add(material);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort, material.channelCredentials())
        .overrideAuthority("policy-service:50052").build(); // the right CA, the wrong name
    channels.add(channel);
    assertUnavailable(failure(channel));
  }

  @Test
  void theHttpPortServesTlsFromTheSameFiles() throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(pki.caCertificate())) {
      trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    int httpPort = Integer.parseInt(app.getEnvironment().getProperty("local.server.port"));
    try (HttpClient client = HttpClient.newBuilder().sslContext(context).build()) {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(
          URI.create("https://localhost:" + httpPort + "/actuator/health")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      assertTrue(response.body().contains("UP"), response.body());
    }
    try (HttpClient plain = HttpClient.newHttpClient()) {
      HttpResponse<String> response = plain.send(HttpRequest.newBuilder(
          URI.create("http://localhost:" + httpPort + "/actuator/health")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(400, response.statusCode(), "plain HTTP on the TLS port is refused: " + response.body());
    }
  }

  @Test
  void aRotatedCertificateServesNewConnectionsWhileAnOpenStreamGoesOn() throws Exception {
    TransportSecurity security = app.getBean(TransportSecurity.class);
    BigInteger before = security.material().currentCertificate().getSerialNumber();
    ManagedChannel early = robotChannel();
    assertEquals(before, servedSerial(early));
    BlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    StreamObserver<TokenizeRequest> stream = TokenizerServiceGrpc.newStub(early).tokenize(new StreamObserver<>() {
      @Override
      public void onNext(TokenizeResponse value) {
        answers.add(value);
      }

      @Override
      public void onError(Throwable t) {
        answers.add(t);
      }

      @Override
      public void onCompleted() {
        answers.add("completed");
      }
    });
    roundTrip(stream, answers, 1);

    TestPki.Issued rotated = pki.rotateServer("tokenizer"); // the same files, new key and certificate
    assertTrue(security.material().refresh(), "the rotated files are taken");
    assertEquals(rotated.serial(), security.material().currentCertificate().getSerialNumber());

    roundTrip(stream, answers, 2); // the open stream, on the connection made before, goes on
    assertEquals(before, servedSerial(early), "the established connection keeps its session");
    ManagedChannel late = robotChannel();
    assertEquals(rotated.serial(), servedSerial(late), "a new connection gets the new certificate");
    roundTrip(stream, answers, 3);
    stream.onCompleted();
    assertEquals("completed", answers.poll(30, TimeUnit.SECONDS));
  }

  private static void roundTrip(StreamObserver<TokenizeRequest> stream, BlockingQueue<Object> answers, long id)
      throws InterruptedException {
    stream.onNext(TokenizeRequest.newBuilder().setRequestId(id).setProfile("eef-delta-7dof")
        .setDecode(TokenSequence.newBuilder().addAllTokens(List.of(31800, 32100, 32300, 32600, 32800, 33100, 33400)))
        .build());
    Object answer = answers.poll(30, TimeUnit.SECONDS);
    assertTrue(answer instanceof TokenizeResponse response && response.getRequestId() == id,
        "the open stream answers request " + id + ": " + answer);
  }
}
