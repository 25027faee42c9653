package io.vlaserve.service.tls;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.vlaserve.tls.TlsMaterial;
import java.security.KeyStore;
import java.security.Provider;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.KeyManagerFactorySpi;
import javax.net.ssl.ManagerFactoryParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundleRegistry;
import org.springframework.boot.ssl.SslManagerBundle;

/**
 * The transport security of one service, from {@link TlsProperties}: credentials for its gRPC
 * servers (the Spring-managed one through the {@code vla-grpc} SSL bundle, others such as the
 * controller bridge's agent link directly) and for its channels to other services, all from the
 * same reloading {@link TlsMaterial}; or plaintext, with the warnings that go with it. Validates
 * the properties once, at start, naming the property and what was expected. Thread-safe.
 */
public final class TransportSecurity implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TransportSecurity.class);

  private final TlsProperties properties;
  private final TlsMaterial material;

  private TransportSecurity(TlsProperties properties, TlsMaterial material) {
    this.properties = properties;
    this.material = material;
  }

  /**
   * Checks {@code properties}, reads the files and starts watching them; logs what the service
   * will do (INFO with TLS, WARN without).
   *
   * @throws IllegalArgumentException naming the property at fault and what was expected
   */
  public static TransportSecurity start(TlsProperties properties) {
    if (properties.insecure() && properties.enabled()) {
      throw new IllegalArgumentException("vla.tls.insecure=true and vla.tls.certificate=" + properties.certificate()
          + " (expected: one of them: plaintext, or TLS with that certificate)");
    }
    if (!properties.enabled()) {
      if (properties.privateKey() != null || properties.trust() != null) {
        throw new IllegalArgumentException("vla.tls.private-key or vla.tls.trust set without vla.tls.certificate"
            + " (expected: the certificate too, or none of them for plaintext)");
      }
      if (!properties.insecure()) {
        throw new IllegalArgumentException("no TLS material: this service refuses to run plaintext. Give"
            + " vla.tls.certificate (PEM chain), vla.tls.private-key (PEM PKCS#8) and vla.tls.trust (PEM CA"
            + " certificates), e.g. from ./vla pki init; or vla.tls.insecure=true for plaintext without"
            + " authentication (debugging only)");
      }
      log.warn("vla.tls.insecure=true: this service's gRPC and HTTP ports and its channels are plaintext, neither"
          + " encrypted nor authenticated; each new connection's first call is logged");
      return new TransportSecurity(properties, null);
    }
    if (properties.privateKey() == null) {
      throw new IllegalArgumentException("vla.tls.certificate=" + properties.certificate() + " without"
          + " vla.tls.private-key (expected: the PEM PKCS#8 key of that certificate)");
    }
    if (properties.clientAuth() != TlsServerCredentials.ClientAuth.NONE && properties.trust() == null) {
      throw new IllegalArgumentException("vla.tls.client-auth=" + properties.clientAuth() + " without vla.tls.trust"
          + " (expected: the CA certificates that sign the clients' certificates)");
    }
    TlsMaterial material;
    try {
      material = TlsMaterial.load(properties.certificate(), properties.privateKey(), properties.trust());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("vla.tls: " + e.getMessage(), e);
    }
    material.watch(properties.reloadPeriod());
    log.info("TLS on the gRPC ports (client auth {}){} and on channels to other services: {}; trusting {}; files"
        + " re-read every {}", properties.clientAuth(), properties.http() ? " and the HTTP port" : "",
        TlsMaterial.describe(material.currentCertificate()),
        properties.trust() == null ? "the JDK's default CAs" : properties.trust(), properties.reloadPeriod());
    return new TransportSecurity(properties, material);
  }

  /** Whether TLS is configured (otherwise everything is plaintext). */
  public boolean tls() {
    return material != null;
  }

  /** The reloading material; only with {@link #tls()}. */
  public TlsMaterial material() {
    if (material == null) {
      throw new IllegalStateException("no TLS material (expected: vla.tls.certificate and vla.tls.private-key)");
    }
    return material;
  }

  /** Credentials for a gRPC server of this service: TLS with {@code vla.tls.client-auth}, or plaintext. */
  public ServerCredentials serverCredentials() {
    return material == null ? InsecureServerCredentials.create()
        : material.serverCredentials(properties.clientAuth());
  }

  /**
   * Completes a gRPC server of this service built with {@link #serverCredentials()}: with
   * {@code vla.tls.insecure=true}, the per-connection plaintext warning.
   *
   * @param name the server in the warning, e.g. "agent link port 50055"
   */
  public void configure(ServerBuilder<?> builder, String name) {
    if (material == null && properties.insecure()) {
      new InsecureTransportWarning(name, properties.insecureLogInterval(), System::nanoTime, log::warn)
          .install(builder);
    }
  }

  /**
   * Credentials for this service's channels to other services: TLS presenting this service's
   * certificate (for their client auth) and checking theirs against {@code vla.tls.trust}; or plaintext.
   */
  public ChannelCredentials channelCredentials() {
    return material == null ? InsecureChannelCredentials.create() : material.channelCredentials();
  }

  /** Registers {@link #grpcBundle()} as {@code vla-grpc}. */
  public static void registerGrpcBundle(SslBundleRegistry registry, TransportSecurity security) {
    registry.registerBundle(TlsEnvironmentPostProcessor.GRPC_BUNDLE, security.grpcBundle());
  }

  /**
   * A Spring SSL bundle over the reloading managers, for Spring Boot's gRPC server: it reads a
   * bundle's managers once, so a file-based bundle would never reload; these managers do.
   */
  SslBundle grpcBundle() {
    KeyManager keyManager = material().keyManager();
    KeyManagerFactory keys = new KeyManagerFactory(new KeyManagerFactorySpi() {
      @Override
      protected void engineInit(KeyStore store, char[] password) {}

      @Override
      protected void engineInit(ManagerFactoryParameters parameters) {}

      @Override
      protected KeyManager[] engineGetKeyManagers() {
        return new KeyManager[] {keyManager};
      }
    }, (Provider) null, "vla-reloading") {};
    SslManagerBundle trust = SslManagerBundle.from(material.clientCertificateVerifier());
    return SslBundle.of(null, null, null, null, SslManagerBundle.of(keys, trust.getTrustManagerFactory()));
  }

  @Override
  public void close() {
    if (material != null) {
      material.close();
    }
  }
}
