package io.vlaserve.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vlaserve.tls.TlsMaterial;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

  @TempDir Path dir;

  @Nested
  class TheCa {
    @Test
    void isASelfSignedEcP256CaThatMaySignOnlyCertificatesAndCrls() throws Exception {
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir);
      X509Certificate certificate = ca.certificate();

      certificate.verify(certificate.getPublicKey());
      assertEquals(certificate.getSubjectX500Principal(), certificate.getIssuerX500Principal());
      assertTrue(certificate.getBasicConstraints() >= 0, "CA:true");
      boolean[] usage = certificate.getKeyUsage();
      assertTrue(usage[5], "keyCertSign");
      assertTrue(usage[6], "cRLSign");
      assertFalse(usage[0], "no digitalSignature");
      assertEquals(256, ((ECPublicKey) certificate.getPublicKey()).getParams().getCurve().getField().getFieldSize());
      assertEquals(certificate, read(dir.resolve("ca.crt")).get(0));
      assertTrue(Files.isRegularFile(dir.resolve("ca.key")));
    }

    @Test
    void isLoadedAgainOnTheNextRun() {
      X509Certificate first = CertificateAuthority.openOrCreate(dir).certificate();
      assertEquals(first, CertificateAuthority.openOrCreate(dir).certificate());
    }

    @Test
    void aCertificateWithoutItsKeyIsRefusedNamingBoth() throws Exception {
      CertificateAuthority.openOrCreate(dir);
      Files.delete(dir.resolve("ca.key"));
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> CertificateAuthority.openOrCreate(dir));
      assertTrue(e.getMessage().contains("ca.crt without ca.key (expected: both or neither"), e.getMessage());
    }

    @Test
    void anExpiredCaIsRefusedSayingWhatToDelete() {
      MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
      CertificateAuthority.openOrCreate(dir, clock, Duration.ofDays(10));
      clock.now = clock.now.plus(Duration.ofDays(11));
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> CertificateAuthority.openOrCreate(dir, clock, Duration.ofDays(10)));
      assertTrue(e.getMessage().contains("the CA expired") && e.getMessage().contains("delete " + dir), e.getMessage());
    }

    @Test
    void itsKeyIsReadableByItsOwnerOnly() throws Exception {
      assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
      CertificateAuthority.openOrCreate(dir);
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))));
      assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.crt"))));
    }
  }

  @Nested
  class AServiceCertificate {
    @Test
    void verifiesAgainstTheCaForServerAndClientAuth() throws Exception {
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir);
      IssuedCertificate issued = ca.issue(CertificateRequest.service("policy-service"));

      List<X509Certificate> chain = read(issued.certificateFile());
      assertEquals(2, chain.size(), "leaf, then the CA");
      assertEquals(issued.certificate(), chain.get(0));
      assertEquals(ca.certificate(), chain.get(1));
      validate(ca.certificate(), chain.get(0));
      assertEquals(Set.of(SERVER_AUTH, CLIENT_AUTH), Set.copyOf(chain.get(0).getExtendedKeyUsage()));
      assertTrue(chain.get(0).getKeyUsage()[0], "digitalSignature");
      assertEquals(-1, chain.get(0).getBasicConstraints(), "CA:false");
      assertEquals(List.of(ca.certificate()), read(issued.caFile()));
    }

    @Test
    void namesTheServiceTheWaysItIsDialledAndItsSpiffeIdentity() throws Exception {
      IssuedCertificate issued = CertificateAuthority.openOrCreate(dir).issue(CertificateRequest.service("planner-gateway"));

      assertEquals(Set.of("6:spiffe://vla-serve/service/planner-gateway", "2:localhost", "2:planner-gateway",
          "2:planner-gateway.vla-serve.svc", "7:127.0.0.1"), names(issued.certificate()));
      assertEquals(dir.resolve("planner-gateway"), issued.directory());
      assertEquals("CN=planner-gateway,OU=service,O=vla-serve", issued.certificate().getSubjectX500Principal().getName());
    }

    @Test
    void isLoadedByTlsMaterialAsIdentityAndTrust() {
      IssuedCertificate issued = CertificateAuthority.openOrCreate(dir).issue(CertificateRequest.service("tokenizer-service"));

      TlsMaterial material = TlsMaterial.load(issued.certificateFile(), issued.privateKeyFile(), issued.caFile());
      assertEquals(issued.certificate(), material.currentCertificate());
      assertTrue(material.hasIdentity());
      material.channelCredentials(); // builds with the identity presented
    }

    @Test
    void itsKeyIsPkcs8AndReadableByItsOwnerOnly() throws Exception {
      IssuedCertificate issued = CertificateAuthority.openOrCreate(dir).issue(CertificateRequest.service("policy-service"));
      assertTrue(Files.readString(issued.privateKeyFile()).startsWith("-----BEGIN PRIVATE KEY-----\n"));
      assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(issued.privateKeyFile())));
      try (var files = Files.list(issued.directory())) {
        assertEquals(Set.of("tls.crt", "tls.key", "ca.crt"),
            new HashSet<>(files.map(f -> f.getFileName().toString()).toList()), "no temporary file left behind");
      }
    }
  }

  @Nested
  class AClientCertificate {
    @Test
    void aRobotsNamesOnlyItsRobotIdForClientAuthOnly() throws Exception {
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir);
      IssuedCertificate issued = ca.issue(CertificateRequest.client(Role.ROBOT, "arm-3"));

      validate(ca.certificate(), issued.certificate());
      assertEquals(Set.of("6:spiffe://vla-serve/robot/arm-3"), names(issued.certificate()));
      assertEquals(List.of(CLIENT_AUTH), issued.certificate().getExtendedKeyUsage());
      assertEquals("spiffe://vla-serve/robot/arm-3", issued.identity().uri().toString());
    }

    @Test
    void anOperatorsLikewise() throws Exception {
      IssuedCertificate issued = CertificateAuthority.openOrCreate(dir).issue(CertificateRequest.client(Role.OPERATOR, "vla-cli"));
      assertEquals(Set.of("6:spiffe://vla-serve/operator/vla-cli"), names(issued.certificate()));
      assertEquals(List.of(CLIENT_AUTH), issued.certificate().getExtendedKeyUsage());
      assertTrue(TlsMaterial.load(issued.certificateFile(), issued.privateKeyFile(), issued.caFile()).hasIdentity());
    }

    @Test
    void validityIsAsAskedAndNeverBeyondTheCa() {
      MutableClock clock = new MutableClock(Instant.parse("2026-03-01T00:00:00Z"));
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir, clock, Duration.ofDays(30));
      X509Certificate week = ca.issue(CertificateRequest.client(Role.ROBOT, "a").withValidity(Duration.ofDays(7)))
          .certificate();
      assertEquals(Date.from(clock.now.plus(Duration.ofDays(7))), week.getNotAfter());
      assertTrue(week.getNotBefore().toInstant().isBefore(clock.now), "backdated for clock skew");
      X509Certificate year = ca.issue(CertificateRequest.client(Role.ROBOT, "b").withValidity(Duration.ofDays(365)))
          .certificate();
      assertEquals(ca.certificate().getNotAfter(), year.getNotAfter());
    }
  }

  @Nested
  class ReRuns {
    @Test
    void reuseAStillValidCertificateWithTheSameNames() {
      IssuedCertificate first = CertificateAuthority.openOrCreate(dir).issue(CertificateRequest.service("policy-service"));
      IssuedCertificate second = CertificateAuthority.openOrCreate(dir).issue(CertificateRequest.service("policy-service"));
      assertFalse(first.reused());
      assertTrue(second.reused());
      assertEquals(first.certificate(), second.certificate());
    }

    @Test
    void reissueWhenTheNamesDiffer() throws Exception {
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir);
      IssuedCertificate first = ca.issue(CertificateRequest.service("policy-service"));
      IssuedCertificate wider = ca.issue(CertificateRequest.service("policy-service")
          .withIpAddresses(List.of("127.0.0.1", "::1")));
      assertFalse(wider.reused());
      assertNotEquals(first.certificate().getSerialNumber(), wider.certificate().getSerialNumber());
      assertTrue(names(wider.certificate()).contains("7:0:0:0:0:0:0:0:1"));
      IssuedCertificate robot = ca.issue(CertificateRequest.client(Role.ROBOT, "policy-service"));
      assertFalse(robot.reused(), "another role is another identity");
    }

    @Test
    void reissueOnceTwoThirdsOfTheLifetimeAreGone() {
      MutableClock clock = new MutableClock(Instant.parse("2026-03-01T00:00:00Z"));
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir, clock, Duration.ofDays(3650));
      CertificateRequest request = CertificateRequest.client(Role.ROBOT, "arm-1").withValidity(Duration.ofDays(30));
      X509Certificate first = ca.issue(request).certificate();
      clock.now = clock.now.plus(Duration.ofDays(19));
      assertTrue(ca.issue(request).reused());
      clock.now = clock.now.plus(Duration.ofDays(2));
      IssuedCertificate renewed = ca.issue(request);
      assertFalse(renewed.reused());
      assertNotEquals(first, renewed.certificate());
      clock.now = clock.now.plus(Duration.ofDays(365));
      assertFalse(ca.issue(request).reused(), "expired");
    }

    @Test
    void reissueWhenTheKeyIsDamagedOrTheCaChanged() throws Exception {
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir);
      IssuedCertificate first = ca.issue(CertificateRequest.client(Role.ROBOT, "arm-1"));
      Files.writeString(first.privateKeyFile(), "garbage");
      IssuedCertificate second = ca.issue(CertificateRequest.client(Role.ROBOT, "arm-1"));
      assertFalse(second.reused());
      assertTrue(TlsMaterial.load(second.certificateFile(), second.privateKeyFile(), second.caFile()).hasIdentity());

      Path other = dir.resolve("other");
      Files.createDirectories(other.resolve("arm-1"));
      for (String file : new String[] {"tls.crt", "tls.key", "ca.crt"}) {
        Files.copy(second.directory().resolve(file), other.resolve("arm-1").resolve(file));
      }
      IssuedCertificate underAnotherCa = CertificateAuthority.openOrCreate(other)
          .issue(CertificateRequest.client(Role.ROBOT, "arm-1"));
      assertFalse(underAnotherCa.reused());
      validate(CertificateAuthority.openOrCreate(other).certificate(), underAnotherCa.certificate());
    }
  }

  @Nested
  class Names {
    @Test
    void thatCouldEscapeTheDirectoryOrBreakTheUriAreRefused() {
      for (String name : new String[] {"", "..", "../x", "a/b", "-x", "a b", "ca.crt", "x".repeat(64)}) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new Identity(Role.ROBOT, name), name);
        assertTrue(e.getMessage().contains("(expected: 1 to 63 characters"), e.getMessage());
      }
    }

    @Test
    void rolesParseFromTheirLabelsAndAnUnknownOneIsNamed() {
      assertEquals(Role.VIEWER, Role.parse("viewer"));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Role.parse("admin"));
      assertEquals("role \"admin\" (expected one of: robot, operator, service, viewer)", e.getMessage());
    }

    @Test
    void ipAddressesMustBeLiterals() {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> CertificateRequest.service("x").withIpAddresses(List.of("example.com")));
      assertTrue(e.getMessage().contains("expected: a literal"), e.getMessage());
    }
  }

  private static List<X509Certificate> read(Path file) throws Exception {
    try (var in = Files.newInputStream(file)) {
      return CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
          .map(c -> (X509Certificate) c).toList();
    }
  }

  private static void validate(X509Certificate ca, X509Certificate leaf) throws Exception {
    PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
    parameters.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), parameters);
  }

  private static Set<String> names(X509Certificate certificate) throws Exception {
    Set<String> names = new HashSet<>();
    for (List<?> name : certificate.getSubjectAlternativeNames()) {
      names.add(name.get(0) + ":" + name.get(1));
    }
    return names;
  }

  /** A clock a test moves by hand. */
  static final class MutableClock extends Clock {
    Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }
}
