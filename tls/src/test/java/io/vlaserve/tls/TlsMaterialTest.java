package io.vlaserve.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.TlsServerCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading, refreshing and refusing PEM files (unit: no sockets; the services' socket tests do handshakes). */
class TlsMaterialTest {
  @TempDir Path dir;

  @Test
  void refreshAppliesChangedFilesOnlyAndReportsWhetherItDid() {
    TestPki pki = TestPki.create(dir, "unit");
    TestPki.Issued first = pki.server("svc");
    try (TlsMaterial material = TlsMaterial.load(first.certificate(), first.privateKey(), pki.caCertificate())) {
      assertEquals(first.serial(), material.currentCertificate().getSerialNumber());
      assertFalse(material.refresh(), "unchanged files: nothing to do");
      TestPki.Issued second = pki.rotateServer("svc");
      assertTrue(material.refresh());
      assertEquals(second.serial(), material.currentCertificate().getSerialNumber());
    }
  }

  @Test
  void aKeyThatDoesNotMatchTheCertificateIsRefusedAndThePreviousPairStays() throws Exception {
    TestPki pki = TestPki.create(dir, "unit");
    TestPki.Issued served = pki.server("svc");
    TestPki.Issued other = pki.server("other");
    try (TlsMaterial material = TlsMaterial.load(served.certificate(), served.privateKey(), null)) {
      // A rotation caught half way: the new key written, the certificate not yet.
      Files.copy(other.privateKey(), served.privateKey(), StandardCopyOption.REPLACE_EXISTING);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, material::refresh);
      assertTrue(e.getMessage().contains("does not match the certificate"), e.getMessage());
      assertEquals(served.serial(), material.currentCertificate().getSerialNumber());
    }
  }

  @Test
  void aPkcs1KeyIsRefusedSayingWhatIsExpected() throws Exception {
    TestPki pki = TestPki.create(dir, "unit");
    TestPki.Issued served = pki.server("svc");
    Files.writeString(served.privateKey(), "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TlsMaterial.load(served.certificate(), served.privateKey(), null));
    assertTrue(e.getMessage().contains("a PKCS#1 RSA key") && e.getMessage().contains("privateKey.encoding: PKCS8"),
        e.getMessage());
  }

  @Test
  void missingFilesAndHalfGivenIdentitiesAreRefusedNamingThem() {
    Path missing = dir.resolve("nope.crt");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TlsMaterial.load(missing, dir.resolve("nope.key"), null));
    assertTrue(e.getMessage().contains("certificate " + missing + ": no such file"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> TlsMaterial.load(missing, null, null));
    assertTrue(e.getMessage().contains("expected: both or neither"), e.getMessage());
  }

  @Test
  void clientAuthWithoutTrustIsRefused() {
    TestPki pki = TestPki.create(dir, "unit");
    TestPki.Issued served = pki.server("svc");
    try (TlsMaterial material = TlsMaterial.load(served.certificate(), served.privateKey(), null)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> material.serverCredentials(TlsServerCredentials.ClientAuth.REQUIRE));
      assertTrue(e.getMessage().contains("without a trust file"), e.getMessage());
    }
  }
}
