package io.vlaserve.cli;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.vlaserve.pki.CertificateAuthority;
import io.vlaserve.pki.CertificateRequest;
import io.vlaserve.pki.IssuedCertificate;
import io.vlaserve.pki.Role;
import io.vlaserve.tls.TlsMaterial;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * How the services the CLI starts, and the CLI's own clients, authenticate. Three ways:
 *
 * <ul>
 *   <li>{@link #demoPki}: the throwaway CA under {@code target/demo/pki} (module {@code pki}); each
 *       service gets its own certificate ({@code spiffe://vla-serve/service/<name>}), the CLI's
 *       probes present the operator certificate {@code spiffe://vla-serve/operator/vla-cli}, and
 *       each simulated robot its own ({@code spiffe://vla-serve/robot/<robot-id>}, issued on first
 *       use);
 *   <li>{@link #files}: given PEM files, for a suite the CLI did not start; every client presents
 *       that one certificate;
 *   <li>{@link #insecure}: plaintext, services started with {@code vla.tls.insecure=true}.
 * </ul>
 *
 * <p>Thread-safe.
 */
final class Security {
  /** The operator identity of the CLI's own probes, health checks and state streams. */
  static final String OPERATOR = "vla-cli";

  /** Printed whenever a command runs with {@code --insecure}. */
  static final String INSECURE_WARNING = "WARNING: --insecure: services run with vla.tls.insecure=true and every"
      + " connection is plaintext and unauthenticated. Use it on a trusted machine only.";

  private final CertificateAuthority ca;
  private final Path trust;
  private final TlsMaterial operator;
  private final Map<String, TlsMaterial> robots = new ConcurrentHashMap<>();
  private volatile HttpClient http;

  private Security(CertificateAuthority ca, Path trust, TlsMaterial operator) {
    this.ca = ca;
    this.trust = trust;
    this.operator = operator;
  }

  /** Plaintext everywhere. */
  static Security insecure() {
    return new Security(null, null, null);
  }

  /** The default place of the demo's CA: {@code target/demo/pki} in the checkout. */
  static Path defaultPkiDir() {
    return Services.home().resolve("target").resolve("demo").resolve("pki");
  }

  /**
   * The throwaway CA in {@code dir} (created, or reused from an earlier run), with the services'
   * and the CLI's operator certificates issued or reused.
   */
  static Security demoPki(Path dir) {
    CertificateAuthority ca = CertificateAuthority.openOrCreate(dir);
    for (String module : Services.MODULES.values()) {
      ca.issue(CertificateRequest.service(module));
    }
    IssuedCertificate operator = ca.issue(CertificateRequest.client(Role.OPERATOR, OPERATOR));
    return new Security(ca, ca.certificateFile(), load(operator));
  }

  /** One identity from files for every client, trusting {@code ca}; for a suite started elsewhere. */
  static Security files(Path ca, Path certificate, Path privateKey) {
    return new Security(null, ca, TlsMaterial.load(certificate, privateKey, ca));
  }

  boolean isInsecure() {
    return operator == null;
  }

  /** The demo's CA; null unless {@link #demoPki}. */
  CertificateAuthority authority() {
    return ca;
  }

  /**
   * The arguments that give {@code service} (a CLI name: policy, controller, ...) its transport
   * security: its certificate, key, the CA to trust and optional client certificates (robots and
   * operators present one; a caller with a bearer token instead is the services' business); or
   * {@code --vla.tls.insecure=true}.
   */
  List<String> serviceArgs(String service) {
    if (isInsecure()) {
      return List.of("--vla.tls.insecure=true");
    }
    if (ca == null) {
      throw new IllegalStateException("services are started with the demo PKI or --insecure, not with given files");
    }
    String module = Services.MODULES.get(service);
    if (module == null) {
      throw new IllegalArgumentException("unknown service \"" + service + "\" (expected one of: "
          + String.join(", ", Services.MODULES.keySet()) + ")");
    }
    IssuedCertificate issued = ca.issue(CertificateRequest.service(module));
    return tlsArgs(issued.certificateFile(), issued.privateKeyFile(), issued.caFile(), "optional");
  }

  /** {@code --vla.tls.*} for a service from its files. */
  static List<String> tlsArgs(Path certificate, Path privateKey, Path trust, String clientAuth) {
    return List.of("--vla.tls.certificate=" + certificate, "--vla.tls.private-key=" + privateKey,
        "--vla.tls.trust=" + trust, "--vla.tls.client-auth=" + clientAuth);
  }

  /** The CLI's own credentials: the operator certificate (or the given one), or plaintext. */
  ChannelCredentials operator() {
    return isInsecure() ? InsecureChannelCredentials.create() : operator.channelCredentials();
  }

  /** The operator's TLS material; null when insecure. */
  TlsMaterial operatorMaterial() {
    return operator;
  }

  /**
   * A robot's credentials: with the demo PKI its own certificate (robot id in the URI name, issued
   * into the PKI directory on first use); with given files, those; else plaintext.
   */
  ChannelCredentials robot(String robotId) {
    if (isInsecure()) {
      return InsecureChannelCredentials.create();
    }
    if (ca == null) {
      return operator.channelCredentials();
    }
    return robotMaterial(robotId).channelCredentials();
  }

  /** A robot's TLS material from the demo PKI (issued on first use). */
  TlsMaterial robotMaterial(String robotId) {
    if (ca == null) {
      throw new IllegalStateException("no demo PKI to issue robot certificates from");
    }
    return robots.computeIfAbsent(robotId, id -> load(ca.issue(CertificateRequest.client(Role.ROBOT, id))));
  }

  /** {@code https} with TLS (the services serve their HTTP port with the same certificate), else {@code http}. */
  URI http(int port, String path) {
    return URI.create((isInsecure() ? "http" : "https") + "://127.0.0.1:" + port + path);
  }

  /** An HTTP client trusting the CA and presenting the operator's certificate (for actuator scrapes). */
  synchronized HttpClient httpClient() {
    if (http == null) {
      http = isInsecure() ? HttpClient.newHttpClient() : HttpClient.newBuilder().sslContext(sslContext()).build();
    }
    return http;
  }

  private SSLContext sslContext() {
    try (InputStream in = Files.newInputStream(trust)) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        store.setCertificateEntry("ca-" + i++, certificate);
      }
      TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(new KeyManager[] {operator.keyManager()}, trustManagers.getTrustManagers(), null);
      return context;
    } catch (IOException e) {
      throw new UncheckedIOException("trust " + trust + ": " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("trust " + trust + ": " + e.getMessage(), e);
    }
  }

  private static TlsMaterial load(IssuedCertificate issued) {
    return TlsMaterial.load(issued.certificateFile(), issued.privateKeyFile(), issued.caFile());
  }

  @Override
  public String toString() {
    return isInsecure() ? "plaintext (--insecure)" : ca != null ? "TLS, demo CA in " + ca.directory()
        : "TLS, " + operator;
  }
}
