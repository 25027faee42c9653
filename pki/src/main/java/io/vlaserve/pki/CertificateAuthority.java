package io.vlaserve.pki;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
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
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway certificate authority in a directory: an EC P-256 CA ({@code ca.crt}, {@code ca.key})
 * and the leaf certificates it issues, each in cert-manager's layout under {@code <dir>/<name>/}
 * ({@code tls.crt} leaf first then the CA, {@code tls.key} PKCS#8, {@code ca.crt}), so a service
 * reads them exactly as it reads a mounted Secret. For the demo and local runs; production
 * certificates come from cert-manager or an organisation's CA.
 *
 * <p>Re-runs reuse what is there: {@link #openOrCreate} loads an existing CA, and {@link #issue}
 * keeps a leaf that still fits the request (signed by this CA, the same names and key usages, its
 * key matching, less than two thirds of its lifetime gone) and reissues it otherwise. Every file is
 * replaced atomically; private keys are readable by their owner only where the file system has
 * POSIX permissions.
 *
 * <p>Thread-safe; processes sharing a directory take turns through a lock file ({@code .lock}).
 */
public final class CertificateAuthority {
  /** The CA lives five years: a local CA that expires mid-demo would help no one. */
  public static final Duration DEFAULT_CA_VALIDITY = Duration.ofDays(5 * 365);

  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  /** Certificates start a little in the past so clocks a few minutes apart accept them. */
  private static final Duration BACKDATE = Duration.ofMinutes(5);
  private static final SecureRandom random = new SecureRandom();

  private final Path dir;
  private final Clock clock;
  private final X509Certificate certificate;
  private final PrivateKey key;

  private CertificateAuthority(Path dir, Clock clock, X509Certificate certificate, PrivateKey key) {
    this.dir = dir;
    this.clock = clock;
    this.certificate = certificate;
    this.key = key;
  }

  /** The CA in {@code dir}, created there first if there is none; the system clock. */
  public static CertificateAuthority openOrCreate(Path dir) {
    return openOrCreate(dir, Clock.systemUTC(), DEFAULT_CA_VALIDITY);
  }

  /**
   * The CA in {@code dir} ({@code ca.crt} and {@code ca.key}), created with {@code validity} if
   * neither file exists.
   *
   * @param clock what "now" is for validity periods and reuse decisions
   * @throws IllegalStateException if only one of the two files exists, they do not belong together,
   *     or the CA has expired (naming the directory to delete for a fresh one)
   */
  public static CertificateAuthority openOrCreate(Path dir, Clock clock, Duration validity) {
    Objects.requireNonNull(clock, "clock");
    Path crt = dir.resolve("ca.crt");
    Path keyFile = dir.resolve("ca.key");
    return locked(dir, () -> {
      boolean hasCrt = Files.isRegularFile(crt);
      boolean hasKey = Files.isRegularFile(keyFile);
      if (hasCrt && hasKey) {
        X509Certificate ca = PemFiles.certificates(crt).get(0);
        PrivateKey caKey = PemFiles.ecPrivateKey(keyFile);
        if (ca.getBasicConstraints() < 0 || !matches(ca.getPublicKey(), caKey)) {
          throw new IllegalStateException(dir + ": ca.crt is not a CA certificate for ca.key (expected: the pair"
              + " this class wrote; delete " + dir + " for a fresh CA)");
        }
        if (!clock.instant().isBefore(ca.getNotAfter().toInstant())) {
          throw new IllegalStateException(dir + ": the CA expired at " + ca.getNotAfter().toInstant()
              + " (expected: a valid CA; delete " + dir + " for a fresh one, and restart whatever trusts it)");
        }
        return new CertificateAuthority(dir, clock, ca, caKey);
      }
      if (hasCrt || hasKey) {
        throw new IllegalStateException(dir + ": " + (hasCrt ? "ca.crt without ca.key" : "ca.key without ca.crt")
            + " (expected: both or neither; delete " + dir + " for a fresh CA)");
      }
      if (validity.isNegative() || validity.isZero()) {
        throw new IllegalArgumentException("CA validity " + validity + " (expected: > 0)");
      }
      KeyPair keys = ecKeys();
      Instant now = clock.instant();
      X500Name subject = new X500Name("O=vla-serve,CN=vla-serve demo CA "
          + HexFormat.of().toHexDigits(random.nextInt()));
      X509Certificate ca;
      try {
        JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
        ca = sign(new JcaX509v3CertificateBuilder(subject, serial(), Date.from(now.minus(BACKDATE)),
            Date.from(now.plus(validity)), subject, keys.getPublic())
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
            .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
            .addExtension(Extension.subjectKeyIdentifier, false,
                extensions.createSubjectKeyIdentifier(keys.getPublic())), keys.getPrivate());
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalStateException("cannot create a CA certificate: " + e.getMessage(), e);
      }
      // Key first: a crash in between leaves a key without a certificate, refused above by name.
      PemFiles.writeAtomically(keyFile, PemFiles.pem(keys.getPrivate()), true);
      PemFiles.writeAtomically(crt, PemFiles.pem(ca), false);
      return new CertificateAuthority(dir, clock, ca, keys.getPrivate());
    });
  }

  /** The directory holding the CA and its leaves. */
  public Path directory() {
    return dir;
  }

  /** {@code <dir>/ca.crt}: what clients and servers trust. */
  public Path certificateFile() {
    return dir.resolve("ca.crt");
  }

  /** The CA certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /**
   * The certificate {@code request} describes, in {@code <dir>/<name>/}: the one there if it still
   * fits (see the class comment), else a new key and certificate.
   */
  public IssuedCertificate issue(CertificateRequest request) {
    Identity identity = request.identity();
    Path leafDir = dir.resolve(identity.name());
    IssuedCertificate issued = new IssuedCertificate(identity, leafDir, null, false);
    return locked(dir, () -> {
      X509Certificate existing = fitting(issued, request);
      if (existing != null) {
        return new IssuedCertificate(identity, leafDir, existing, true);
      }
      KeyPair keys = ecKeys();
      X509Certificate leaf = sign(request, keys.getPublic());
      PemFiles.writeAtomically(issued.caFile(), PemFiles.pem(certificate), false);
      PemFiles.writeAtomically(issued.privateKeyFile(), PemFiles.pem(keys.getPrivate()), true);
      PemFiles.writeAtomically(issued.certificateFile(), PemFiles.pem(leaf) + PemFiles.pem(certificate), false);
      return new IssuedCertificate(identity, leafDir, leaf, false);
    });
  }

  private X509Certificate sign(CertificateRequest request, PublicKey subjectKey) {
    Instant now = clock.instant();
    Instant notAfter = now.plus(request.validity());
    if (notAfter.isAfter(certificate.getNotAfter().toInstant())) {
      notAfter = certificate.getNotAfter().toInstant(); // a leaf cannot outlive its CA
    }
    List<GeneralName> names = new ArrayList<>();
    names.add(new GeneralName(GeneralName.uniformResourceIdentifier, request.identity().uri().toString()));
    request.dnsNames().forEach(name -> names.add(new GeneralName(GeneralName.dNSName, name)));
    request.ipAddresses().forEach(address -> names.add(new GeneralName(GeneralName.iPAddress, address)));
    KeyPurposeId[] purposes = request.identity().role().serves()
        ? new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}
        : new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth};
    Identity identity = request.identity();
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      return sign(new JcaX509v3CertificateBuilder(certificate, serial(), Date.from(now.minus(BACKDATE)),
          Date.from(notAfter), new X500Name("O=vla-serve,OU=" + identity.role().label() + ",CN=" + identity.name()),
          subjectKey)
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
          .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes))
          // The names are the certificate's whole identity (the subject is informational): critical-free,
          // as RFC 5280 asks when the subject is not empty.
          .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)))
          .addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(subjectKey))
          .addExtension(Extension.authorityKeyIdentifier, false, extensions.createAuthorityKeyIdentifier(certificate)),
          key);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot issue a certificate for " + identity + ": " + e.getMessage(), e);
    }
  }

  /** The leaf in {@code issued}'s directory if it is still the one {@code request} asks for, else null. */
  private X509Certificate fitting(IssuedCertificate issued, CertificateRequest request) {
    if (!Files.isRegularFile(issued.certificateFile()) || !Files.isRegularFile(issued.privateKeyFile())
        || !Files.isRegularFile(issued.caFile())) {
      return null;
    }
    try {
      X509Certificate leaf = PemFiles.certificates(issued.certificateFile()).get(0);
      if (!PemFiles.certificates(issued.caFile()).get(0).equals(certificate)) {
        return null;
      }
      leaf.verify(certificate.getPublicKey());
      Instant now = clock.instant();
      Instant notBefore = leaf.getNotBefore().toInstant();
      Instant notAfter = leaf.getNotAfter().toInstant();
      // Renewed once two thirds of its lifetime are gone, as cert-manager does by default.
      Instant renewAt = notAfter.minus(Duration.between(notBefore, notAfter).dividedBy(3));
      if (now.isBefore(notBefore) || !now.isBefore(renewAt)) {
        return null;
      }
      if (!names(leaf).equals(names(request)) || !Set.copyOf(purposes(leaf)).equals(purposes(request))) {
        return null;
      }
      return matches(leaf.getPublicKey(), PemFiles.ecPrivateKey(issued.privateKeyFile())) ? leaf : null;
    } catch (GeneralSecurityException | RuntimeException e) {
      return null; // Unreadable, foreign or damaged: issue afresh.
    }
  }

  private static Set<String> names(X509Certificate leaf) throws GeneralSecurityException {
    Set<String> names = new HashSet<>();
    Collection<List<?>> alternatives = leaf.getSubjectAlternativeNames();
    if (alternatives != null) {
      for (List<?> name : alternatives) {
        names.add(name.get(0) + ":" + name.get(1));
      }
    }
    return names;
  }

  private static Set<String> names(CertificateRequest request) {
    Set<String> names = new HashSet<>();
    names.add(GeneralName.uniformResourceIdentifier + ":" + request.identity().uri());
    request.dnsNames().forEach(name -> names.add(GeneralName.dNSName + ":" + name));
    request.ipAddresses().forEach(address -> names.add(GeneralName.iPAddress + ":" + address));
    return names;
  }

  private static List<String> purposes(X509Certificate leaf) throws GeneralSecurityException {
    List<String> purposes = leaf.getExtendedKeyUsage();
    return purposes == null ? List.of() : purposes;
  }

  private static Set<String> purposes(CertificateRequest request) {
    return request.identity().role().serves() ? Set.of(SERVER_AUTH, CLIENT_AUTH) : Set.of(CLIENT_AUTH);
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static boolean matches(PublicKey publicKey, PrivateKey privateKey) {
    byte[] probe = "vla-serve key check".getBytes(StandardCharsets.US_ASCII);
    try {
      Signature signer = Signature.getInstance("SHA256withECDSA");
      signer.initSign(privateKey);
      signer.update(probe);
      Signature verifier = Signature.getInstance("SHA256withECDSA");
      verifier.initVerify(publicKey);
      verifier.update(probe);
      return verifier.verify(signer.sign());
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static KeyPair ecKeys() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), random);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate an EC P-256 key: " + e.getMessage(), e);
    }
  }

  /** 127 random bits, positive: unique across CAs and re-runs without any state. */
  private static BigInteger serial() {
    return new BigInteger(127, random).setBit(126);
  }

  private interface Action<T> {
    T run();
  }

  /** Runs {@code action} holding this JVM's monitor and the directory's lock file, so runs take turns. */
  private static <T> T locked(Path dir, Action<T> action) {
    synchronized (CertificateAuthority.class) {
      try {
        Files.createDirectories(dir);
        try (FileChannel channel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
            StandardOpenOption.WRITE);
            FileLock lock = channel.lock()) {
          return action.run();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
      }
    }
  }

  @Override
  public String toString() {
    return "CertificateAuthority[" + certificate.getSubjectX500Principal().getName() + " in " + dir + "]";
  }
}
