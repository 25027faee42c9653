package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsServerCredentials;
import io.grpc.stub.StreamObserver;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.GetSafetyLimitsRequest;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.tls.TestPki;
import io.vlaserve.tls.TlsMaterial;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RobotCredentialsTest {
  @TempDir Path dir;

  @Test
  void theThreeOptionsMakeTlsChannelsThatPresentTheRobotsCertificate() throws Exception {
    TestPki pki = TestPki.create(dir, "lab");
    TestPki.Issued server = pki.server("bridge");
    TestPki.Issued robot = pki.client("arm-3", "spiffe://vla-serve/robot/arm-3");
    List<String> peers = new CopyOnWriteArrayList<>();
    Server bridge = Grpc.newServerBuilderForPort(0, TlsMaterial.load(server.certificate(), server.privateKey(),
            pki.caCertificate()).serverCredentials(TlsServerCredentials.ClientAuth.REQUIRE))
        .addService(ServerInterceptors.intercept(new ControllerBridgeGrpc.ControllerBridgeImplBase() {
          @Override
          public void getSafetyLimits(GetSafetyLimitsRequest request, StreamObserver<SafetyLimits> response) {
            response.onNext(SafetyLimits.getDefaultInstance());
            response.onCompleted();
          }
        }, new PeerUris(peers)))
        .build().start();
    RobotCredentials.CommandLine parsed = RobotCredentials.fromCommandLine("localhost:1", "--tls-ca",
        pki.caCertificate().toString(), "--tls-cert=" + robot.certificate(), "arm-3", "--tls-key",
        robot.privateKey().toString(), "put the red block on the plate");
    assertEquals(List.of("localhost:1", "arm-3", "put the red block on the plate"), parsed.arguments());
    ManagedChannel channel = RobotChannels.forAddress("localhost", bridge.getPort())
        .credentials(parsed.credentials()).build();
    try {
      ControllerBridgeGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .getSafetyLimits(GetSafetyLimitsRequest.getDefaultInstance());
      assertEquals(List.of("spiffe://vla-serve/robot/arm-3"), peers);
    } finally {
      channel.shutdownNow();
      bridge.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void insecureChannelsAreRefusedByATlsServer() throws Exception {
    TestPki pki = TestPki.create(dir, "lab");
    TestPki.Issued server = pki.server("bridge");
    Server bridge = Grpc.newServerBuilderForPort(0, TlsMaterial.load(server.certificate(), server.privateKey(), null)
            .serverCredentials(TlsServerCredentials.ClientAuth.NONE))
        .addService(new ControllerBridgeGrpc.ControllerBridgeImplBase() {}).build().start();
    RobotCredentials insecure = RobotCredentials.fromCommandLine("--insecure").credentials();
    assertTrue(insecure.isInsecure());
    ManagedChannel channel = RobotChannels.forAddress("127.0.0.1", bridge.getPort()).credentials(insecure).build();
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ControllerBridgeGrpc
          .newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .getSafetyLimits(GetSafetyLimitsRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    } finally {
      channel.shutdownNow();
      bridge.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void nothingGivenIsAnErrorSayingWhatToGive() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RobotCredentials.fromCommandLine("localhost:50051"));
    assertTrue(e.getMessage().startsWith("no TLS files (expected: --tls-ca, --tls-cert and --tls-key"), e.getMessage());
    assertTrue(e.getMessage().contains("./vla pki issue --role robot --name <robot-id>"), e.getMessage());
    assertTrue(e.getMessage().endsWith("or --insecure for plaintext)"), e.getMessage());

    e = assertThrows(IllegalArgumentException.class, () -> RobotCredentials.fromProperties(Map.<String, String>of()::get));
    assertTrue(e.getMessage().contains("vla.robot.tls.ca, vla.robot.tls.certificate and vla.robot.tls.private-key"),
        e.getMessage());
  }

  @Test
  void halfTheFilesOrTlsWithInsecureAreRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RobotCredentials.fromCommandLine("--tls-ca", "ca.crt"));
    assertEquals("missing the robot's certificate, its private key (expected: --tls-ca, --tls-cert and --tls-key)",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> RobotCredentials.fromCommandLine("--insecure", "--tls-ca", "ca.crt"));
    assertTrue(e.getMessage().startsWith("--insecure together with TLS files"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> RobotCredentials.fromCommandLine("--tls-key"));
    assertEquals("--tls-key: no file (expected: --tls-key FILE)", e.getMessage());
  }

  @Test
  void propertiesNameTheFilesOrInsecure() {
    TestPki pki = TestPki.create(dir, "lab");
    TestPki.Issued robot = pki.client("arm-1", "spiffe://vla-serve/robot/arm-1");
    RobotCredentials credentials = RobotCredentials.fromProperties(Map.of("vla.robot.tls.ca",
        pki.caCertificate().toString(), "vla.robot.tls.certificate", robot.certificate().toString(),
        "vla.robot.tls.private-key", robot.privateKey().toString())::get);
    assertEquals(robot.serial(), credentials.material().currentCertificate().getSerialNumber());
    assertTrue(RobotCredentials.fromProperties(Map.of("vla.robot.tls.insecure", "true")::get).isInsecure());
  }

  /** Records the URI names of each caller's certificate. */
  private record PeerUris(List<String> peers) implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      try {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        for (List<?> name : ((X509Certificate) session.getPeerCertificates()[0]).getSubjectAlternativeNames()) {
          if ((Integer) name.get(0) == 6) {
            peers.add((String) name.get(1));
          }
        }
      } catch (Exception e) {
        peers.add("none: " + e);
      }
      return next.startCall(call, headers);
    }
  }
}
