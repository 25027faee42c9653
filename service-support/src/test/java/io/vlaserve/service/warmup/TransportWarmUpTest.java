package io.vlaserve.service.warmup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.TlsServerCredentials;
import io.vlaserve.tls.TestPki;
import io.vlaserve.tls.TlsMaterial;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The transport warm-up over real loopback sockets, plaintext and mutual TLS, releasing its server. */
class TransportWarmUpTest {

  @Test
  void plaintextRoundsEchoAndFinishReleasesTheServer() {
    TransportWarmUp warmUp =
        new TransportWarmUp(InsecureServerCredentials.create(), InsecureChannelCredentials.create(), null);
    assertEquals(-1, warmUp.port());
    warmUp.runOnce();
    int port = warmUp.port();
    assertTrue(port > 0, "a loopback server while warming");
    warmUp.runOnce();
    assertEquals(port, warmUp.port(), "one server for every round");
    warmUp.finish();
    assertEquals(-1, warmUp.port());
    warmUp.finish();
  }

  @Test
  void tlsRoundsDialTheCertificatesOwnName(@TempDir Path dir) {
    TestPki pki = TestPki.create(dir, "warm-up test CA");
    TestPki.Issued service = pki.server("gateway");
    try (TlsMaterial material = TlsMaterial.load(service.certificate(), service.privateKey(), pki.caCertificate())) {
      TransportWarmUp warmUp = new TransportWarmUp(material.serverCredentials(TlsServerCredentials.ClientAuth.REQUIRE),
          material.channelCredentials(), material.currentCertificate());
      try {
        warmUp.runOnce();
      } finally {
        warmUp.finish();
      }
    }
  }

  @Test
  void aFailingRoundFailsOnlyTheWarmUpWhichThenReleasesTheServer(@TempDir Path dir, @TempDir Path otherDir) {
    TestPki pki = TestPki.create(dir, "warm-up test CA");
    TestPki.Issued service = pki.server("gateway");
    TestPki other = TestPki.create(otherDir, "another CA");
    try (TlsMaterial material = TlsMaterial.load(service.certificate(), service.privateKey(), pki.caCertificate());
        TlsMaterial untrusting = TlsMaterial.trusting(other.caCertificate())) {
      // A client that does not trust the server's CA: the round fails; WarmUp logs it and serves on.
      TransportWarmUp warmUp = new TransportWarmUp(material.serverCredentials(TlsServerCredentials.ClientAuth.NONE),
          untrusting.channelCredentials(), material.currentCertificate());
      WarmUp all = new WarmUp(List.of(warmUp), 3, Duration.ofSeconds(30), Runnable::run);
      all.start();
      assertTrue(all.done());
      String detail = String.valueOf(all.health().getDetails().get("gRPC transport"));
      assertTrue(detail.startsWith("failed after 0 rounds"), detail);
      assertEquals(-1, warmUp.port(), "released after the failure");
    }
  }

  @Test
  void aCertificateWithoutADnsNameIsRefusedAtConstruction(@TempDir Path dir) {
    TestPki pki = TestPki.create(dir, "warm-up test CA");
    TestPki.Issued robot = pki.client("robot", "spiffe://vla-serve/robot/arm-1");
    try (TlsMaterial material = TlsMaterial.load(robot.certificate(), robot.privateKey(), pki.caCertificate())) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TransportWarmUp(
          InsecureServerCredentials.create(), InsecureChannelCredentials.create(), material.currentCertificate()));
      assertEquals("transport warm-up: the service's certificate has no DNS name to dial", e.getMessage());
    }
  }
}
