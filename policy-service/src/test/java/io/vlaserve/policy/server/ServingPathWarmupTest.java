package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vlaserve.tls.TestPki;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the warm-up dials and what name it checks; the calls themselves: AccessControlOverSocketsTest. */
class ServingPathWarmupTest {
  @Test
  void aServerOnEveryInterfaceIsDialledOnLoopbackAndOneOnAnAddressThere() {
    assertEquals("127.0.0.1", ServingPathWarmup.dialled(null));
    assertEquals("127.0.0.1", ServingPathWarmup.dialled(""));
    assertEquals("127.0.0.1", ServingPathWarmup.dialled("*"));
    assertEquals("127.0.0.1", ServingPathWarmup.dialled("0.0.0.0"));
    assertEquals("127.0.0.1", ServingPathWarmup.dialled("::"));
    assertEquals("127.0.0.1", ServingPathWarmup.dialled("127.0.0.1"));
    assertEquals("10.1.2.3", ServingPathWarmup.dialled("10.1.2.3"));
  }

  @Test
  void theCertificatesOwnNameIsCheckedWhenItDoesNotNameTheAddressDialled(@TempDir Path dir) throws Exception {
    TestPki pki = TestPki.create(dir, "suite");
    X509Certificate server = certificate(pki.server("policy-service")); // localhost, 127.0.0.1, its SPIFFE ID
    assertNull(ServingPathWarmup.authority(server, "127.0.0.1"), "named: no override");
    assertNull(ServingPathWarmup.authority(server, "localhost"), "named: no override");
    assertEquals("localhost", ServingPathWarmup.authority(server, "10.1.2.3"), "its first DNS name");
    X509Certificate robot = certificate(pki.client("arm-1", "spiffe://vla-serve/robot/arm-1"));
    assertNull(ServingPathWarmup.authority(robot, "10.1.2.3"), "no name to check: the handshake will say so");
  }

  private static X509Certificate certificate(TestPki.Issued issued) throws Exception {
    try (var in = java.nio.file.Files.newInputStream(issued.certificate())) {
      return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }
}
