package io.vlaserve.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway certificate authority for tests: a CA and the certificates it issues, as PEM files
 * (PKCS#8 keys, EC P-256) in a directory. Server certificates name {@code localhost} and
 * {@code 127.0.0.1}; every certificate may serve as server and client (services are both). Serial
 * numbers count up from 1000, so a test can tell which certificate a peer presented. Thread-safe.
 */
public final class TestPki {
  private static final AtomicLong serials = new AtomicLong(1000);

  private final Path dir;
  private final String name;
  private final KeyPair caKeys;
  private final X509Certificate ca;
  private final Path caFile;

  private TestPki(Path dir, String name) {
    this.dir = dir;
    this.name = name;
    this.caKeys = ecKeys();
    X500Name subject = new X500Name("CN=" + name + " test CA,O=vla-serve tests");
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, nextSerial(), notBefore(), notAfter(),
          subject, caKeys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectKeyIdentifier, false,
              extensions.createSubjectKeyIdentifier(caKeys.getPublic()));
      this.ca = sign(builder);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    this.caFile = dir.resolve(name + "-ca.crt");
    writeAtomically(caFile, pem("CERTIFICATE", encoded(ca)));
  }

  /** A new CA named {@code name}; its certificate is written to {@code dir/<name>-ca.crt}. */
  public static TestPki create(Path dir, String name) {
    return new TestPki(dir, name);
  }

  /** The CA certificate file (a trust bundle). */
  public Path caCertificate() {
    return caFile;
  }

  /** A certificate and its key as files, and the certificate's serial number. */
  public record Issued(Path certificate, Path privateKey, BigInteger serial) {}

  /**
   * A service's certificate for {@code localhost} and {@code 127.0.0.1}, identifying it as
   * {@code spiffe://vla-serve/service/<stem>} (it is also its client certificate), written to
   * {@code dir/<stem>.crt} and {@code .key}.
   */
  public Issued server(String stem) {
    return issue(stem, new GeneralNames(new GeneralName[] {
        new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "spiffe://vla-serve/service/" + stem)}));
  }

  /** A certificate naming {@code uri} (e.g. {@code spiffe://vla-serve/robot/arm-1}) as its identity. */
  public Issued client(String stem, String uri) {
    return issue(stem, new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uri)));
  }

  /**
   * A new key and a new server certificate written over {@code stem}'s files in place, each file
   * replaced atomically (as a rotation does), key first.
   */
  public Issued rotateServer(String stem) {
    return server(stem);
  }

  private Issued issue(String stem, GeneralNames names) {
    KeyPair keys = ecKeys();
    BigInteger serial = nextSerial();
    X509Certificate certificate;
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca, serial, notBefore(), notAfter(),
          new X500Name("CN=" + stem + ",O=vla-serve tests"), keys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
          .addExtension(Extension.extendedKeyUsage, false,
              new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
          .addExtension(Extension.subjectAlternativeName, false, names)
          .addExtension(Extension.authorityKeyIdentifier, false, extensions.createAuthorityKeyIdentifier(ca));
      certificate = sign(builder);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    Path keyFile = dir.resolve(stem + ".key");
    Path certFile = dir.resolve(stem + ".crt");
    writeAtomically(keyFile, pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
    writeAtomically(certFile, pem("CERTIFICATE", encoded(certificate)));
    return new Issued(certFile, keyFile, serial);
  }

  private X509Certificate sign(X509v3CertificateBuilder builder) throws GeneralSecurityException {
    try {
      ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate());
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static KeyPair ecKeys() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static BigInteger nextSerial() {
    return BigInteger.valueOf(serials.getAndIncrement());
  }

  private static Date notBefore() {
    return Date.from(Instant.now().minus(Duration.ofHours(1)));
  }

  private static Date notAfter() {
    return Date.from(Instant.now().plus(Duration.ofDays(1)));
  }

  private static byte[] encoded(X509Certificate certificate) {
    try {
      return certificate.getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static void writeAtomically(Path file, String content) {
    try {
      Path temp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
      Files.writeString(temp, content, StandardCharsets.US_ASCII);
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String toString() {
    return "TestPki[" + name + " in " + dir + "]";
  }
}
