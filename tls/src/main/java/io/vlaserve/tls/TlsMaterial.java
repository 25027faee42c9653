package io.vlaserve.tls;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.CertificateUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * One process's TLS material from PEM files: its certificate chain and private key (its identity,
 * optional for a client) and the CA certificates it trusts (optional: the JDK's defaults then). The
 * files are read into grpc-java's reloadable managers ({@link AdvancedTlsX509KeyManager},
 * {@link AdvancedTlsX509TrustManager}), so credentials made here keep serving every later
 * handshake with whatever {@link #refresh} last loaded, while established connections go on with
 * the certificate they were opened with.
 *
 * <p>{@link #refresh} re-reads the files and applies them when their content changed;
 * {@link #watch} does it periodically (cert-manager and Kubernetes Secrets rewrite the files in
 * place). A half-written rotation (a key that does not match the certificate, an unparseable file)
 * is refused and the previous material stays in use. Private keys must be PKCS#8
 * ({@code -----BEGIN PRIVATE KEY-----}; cert-manager: {@code privateKey.encoding: PKCS8}).
 *
 * <p>Thread-safe.
 */
public final class TlsMaterial implements AutoCloseable {
  private static final System.Logger log = System.getLogger(TlsMaterial.class.getName());

  private final Path certificate;
  private final Path privateKey;
  private final Path trust;
  private final AdvancedTlsX509KeyManager keyManager = new AdvancedTlsX509KeyManager();
  /** Checks clients' certificates (a server's side): the chain, no host name. */
  private final AdvancedTlsX509TrustManager clientVerifier;
  /** Checks servers' certificates (a client's side): the chain and the host name. */
  private final AdvancedTlsX509TrustManager serverVerifier;
  private byte[] loadedIdentity = new byte[0];
  private byte[] loadedTrust = new byte[0];
  private volatile X509Certificate current;
  private ScheduledExecutorService watcher;

  private TlsMaterial(Path certificate, Path privateKey, Path trust) {
    this.certificate = certificate;
    this.privateKey = privateKey;
    this.trust = trust;
    try {
      clientVerifier = AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION).build();
      serverVerifier = AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION).build();
      if (trust == null) {
        clientVerifier.useSystemDefaultTrustCerts();
        serverVerifier.useSystemDefaultTrustCerts();
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot create trust managers: " + e.getMessage(), e);
    }
  }

  /**
   * Reads the files once; {@link #watch} keeps them fresh.
   *
   * @param certificate PEM certificate chain, leaf first; null for a client without an identity
   * @param privateKey PEM PKCS#8 private key of the leaf; null exactly when {@code certificate} is
   * @param trust PEM CA certificates to trust; null for the JDK's default CAs
   * @throws IllegalArgumentException naming the file and what was expected, if any is unusable
   */
  public static TlsMaterial load(Path certificate, Path privateKey, Path trust) {
    if ((certificate == null) != (privateKey == null)) {
      throw new IllegalArgumentException("certificate " + certificate + ", private key " + privateKey
          + " (expected: both or neither)");
    }
    TlsMaterial material = new TlsMaterial(certificate, privateKey, trust);
    material.refresh();
    return material;
  }

  /** A client's material: no identity of its own, trusting the CA certificates in {@code trust}. */
  public static TlsMaterial trusting(Path trust) {
    return load(null, null, Objects.requireNonNull(trust, "trust"));
  }

  /**
   * Re-reads the files and applies whatever changed; later handshakes use it, open connections are
   * left alone.
   *
   * @return whether anything changed
   * @throws IllegalArgumentException naming the file and what was expected; nothing is applied then
   */
  public synchronized boolean refresh() {
    boolean changed = false;
    if (certificate != null) {
      byte[] certBytes = read(certificate, "certificate");
      byte[] keyBytes = read(privateKey, "private key");
      byte[] identity = concat(certBytes, keyBytes);
      if (!Arrays.equals(identity, loadedIdentity)) {
        X509Certificate[] chain = certificates(certBytes, certificate, "certificate");
        PrivateKey key = privateKey(keyBytes);
        requireMatch(chain[0], key);
        keyManager.updateIdentityCredentials(chain, key);
        loadedIdentity = identity;
        if (current != null) {
          log.log(Level.INFO, "TLS certificate reloaded from {0}: {1}", certificate, describe(chain[0]));
        }
        current = chain[0];
        changed = true;
      }
    }
    if (trust != null) {
      byte[] trustBytes = read(trust, "trust");
      if (!Arrays.equals(trustBytes, loadedTrust)) {
        X509Certificate[] cas = certificates(trustBytes, trust, "trust");
        try {
          clientVerifier.updateTrustCredentials(cas);
          serverVerifier.updateTrustCredentials(cas);
        } catch (IOException | GeneralSecurityException e) {
          throw new IllegalArgumentException("trust " + trust + ": " + e.getMessage()
              + " (expected: PEM CA certificates)", e);
        }
        if (loadedTrust.length > 0) {
          log.log(Level.INFO, "TLS trust reloaded from {0}: {1} CA certificate(s)", trust, cas.length);
        }
        loadedTrust = trustBytes;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Calls {@link #refresh} every {@code period} on a daemon thread of its own until {@link #close};
   * a refused rotation is logged (WARNING) and retried at the next period.
   */
  public synchronized void watch(Duration period) {
    if (period.isNegative() || period.isZero()) {
      throw new IllegalArgumentException("reload period " + period + " (expected: > 0)");
    }
    if (watcher != null) {
      throw new IllegalStateException("already watching " + files());
    }
    watcher = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "tls-reload");
      thread.setDaemon(true);
      return thread;
    });
    watcher.scheduleWithFixedDelay(() -> {
      try {
        refresh();
      } catch (RuntimeException e) {
        log.log(Level.WARNING, "TLS files not reloaded, the previous ones stay in use: {0}", e.getMessage());
      }
    }, period.toNanos(), period.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Whether this material has an identity (a certificate and key) to present. */
  public boolean hasIdentity() {
    return certificate != null;
  }

  /** The leaf certificate presented now; null without an identity. */
  public X509Certificate currentCertificate() {
    return current;
  }

  /** The key manager that always presents the latest identity (for a Spring SSL bundle, say). */
  public X509ExtendedKeyManager keyManager() {
    requireIdentity("a key manager");
    return keyManager;
  }

  /** The trust manager a server checks its clients' certificates with (the chain; no host name). */
  public AdvancedTlsX509TrustManager clientCertificateVerifier() {
    return clientVerifier;
  }

  /**
   * Server credentials presenting this identity.
   *
   * @param clientAuth whether clients must present a certificate signed by the trusted CAs
   */
  public ServerCredentials serverCredentials(TlsServerCredentials.ClientAuth clientAuth) {
    requireIdentity("server credentials");
    if (clientAuth != TlsServerCredentials.ClientAuth.NONE && trust == null) {
      throw new IllegalArgumentException("client auth " + clientAuth + " without a trust file (expected: the CA"
          + " certificates that sign the clients' certificates)");
    }
    return TlsServerCredentials.newBuilder()
        .keyManager(new KeyManager[] {keyManager})
        .trustManager(new TrustManager[] {clientVerifier})
        .clientAuth(clientAuth)
        .build();
  }

  /** Channel credentials: the server's certificate and host name checked, this identity (if any) presented. */
  public ChannelCredentials channelCredentials() {
    TlsChannelCredentials.Builder builder = TlsChannelCredentials.newBuilder().trustManager(serverVerifier);
    if (hasIdentity()) {
      builder.keyManager(keyManager);
    }
    return builder.build();
  }

  /** Stops {@link #watch}ing; credentials made here keep the last loaded material. */
  @Override
  public synchronized void close() {
    if (watcher != null) {
      watcher.shutdownNow();
      watcher = null;
    }
  }

  @Override
  public String toString() {
    return "TlsMaterial" + files();
  }

  private String files() {
    return "[certificate=" + certificate + ", privateKey=" + privateKey + ", trust="
        + (trust == null ? "JDK default CAs" : trust) + "]";
  }

  /** Subject, serial and expiry of a certificate, for log lines. */
  public static String describe(X509Certificate certificate) {
    return certificate.getSubjectX500Principal().getName() + ", serial " + certificate.getSerialNumber().toString(16)
        + ", valid until " + certificate.getNotAfter().toInstant();
  }

  private void requireIdentity(String what) {
    if (!hasIdentity()) {
      throw new IllegalStateException(what + " need a certificate and private key (expected: " + this
          + " to name both)");
    }
  }

  private static byte[] read(Path file, String role) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(role + " " + file + ": no such file (expected: a PEM file)", e);
    } catch (IOException e) {
      throw new UncheckedIOException(role + " " + file + ": cannot read (" + e.getMessage() + ")", e);
    }
  }

  private static X509Certificate[] certificates(byte[] pem, Path file, String role) {
    X509Certificate[] certificates;
    try {
      certificates = CertificateUtils.getX509Certificates(new ByteArrayInputStream(pem));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(role + " " + file + ": " + e.getMessage()
          + " (expected: PEM certificates, -----BEGIN CERTIFICATE-----)", e);
    }
    if (certificates.length == 0) {
      throw new IllegalArgumentException(role + " " + file + ": no certificate (expected: PEM certificates,"
          + " -----BEGIN CERTIFICATE-----)");
    }
    return certificates;
  }

  private PrivateKey privateKey(byte[] pem) {
    String text = new String(pem, StandardCharsets.US_ASCII);
    if (!text.contains("-----BEGIN PRIVATE KEY-----")) {
      String found = text.contains("-----BEGIN RSA PRIVATE KEY-----") ? "a PKCS#1 RSA key"
          : text.contains("-----BEGIN EC PRIVATE KEY-----") ? "a SEC1 EC key"
          : text.contains("ENCRYPTED") ? "an encrypted key" : "no private key";
      throw new IllegalArgumentException("private key " + privateKey + ": " + found + " (expected: an unencrypted"
          + " PKCS#8 key, -----BEGIN PRIVATE KEY-----; cert-manager: privateKey.encoding: PKCS8; openssl pkcs8"
          + " -topk8 -nocrypt converts)");
    }
    try {
      return CertificateUtils.getPrivateKey(new ByteArrayInputStream(pem));
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("private key " + privateKey + ": " + e.getMessage()
          + " (expected: an RSA or EC PKCS#8 key)", e);
    }
  }

  /** A rotation caught between writing the certificate and the key must not be served. */
  private void requireMatch(X509Certificate leaf, PrivateKey key) {
    byte[] probe = "vla-serve key check".getBytes(StandardCharsets.US_ASCII);
    String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256with" + key.getAlgorithm();
    boolean matches;
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(leaf.getPublicKey());
      verifier.update(probe);
      matches = verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      matches = false;
    }
    if (!matches) {
      throw new IllegalArgumentException("private key " + privateKey + " does not match the certificate in "
          + certificate + " (" + describe(leaf) + "; expected: the key of that certificate — a rotation half"
          + " written? the previous pair stays in use)");
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }
}
