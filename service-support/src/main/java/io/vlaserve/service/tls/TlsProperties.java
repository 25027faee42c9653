package io.vlaserve.service.tls;

import io.grpc.TlsServerCredentials;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Transport security of one service ({@code vla.tls.*}): its gRPC port(s), its HTTP port and its
 * channels to other services, from one certificate, key and CA bundle (PEM files, reloaded when
 * they change). Without a certificate a service refuses to start unless {@code insecure=true}
 * (plaintext, nobody authenticated, a warning at start and on every new connection).
 *
 * @param certificate PEM certificate chain, leaf first (cert-manager's {@code tls.crt})
 * @param privateKey PEM PKCS#8 key of the leaf ({@code tls.key}; cert-manager: {@code privateKey.encoding: PKCS8})
 * @param trust PEM CA certificates ({@code ca.crt}): whom the service trusts as clients (client-auth) and
 *     as servers (its own channels); empty: the JDK's default CAs for its channels, no client certificates
 * @param clientAuth whether gRPC clients must present a certificate signed by {@code trust}: none, optional
 *     (the default: asked for and verified if given; callers without one need a bearer token), require
 * @param insecure explicit plaintext: a WARN at start and a (rate-limited) WARN on each new connection's first call
 * @param reloadPeriod how often the files are re-read; changed content applies to new connections only
 * @param http whether the HTTP port (actuator, /act) serves TLS with the same files (a Spring Boot SSL bundle,
 *     {@code vla-http}, reloaded by Spring)
 * @param insecureLogInterval at most one per-connection plaintext warning per interval
 */
@ConfigurationProperties("vla.tls")
public record TlsProperties(
    Path certificate,
    Path privateKey,
    Path trust,
    @DefaultValue("optional") TlsServerCredentials.ClientAuth clientAuth,
    @DefaultValue("false") boolean insecure,
    @DefaultValue("30s") Duration reloadPeriod,
    @DefaultValue("true") boolean http,
    @DefaultValue("10s") Duration insecureLogInterval) {

  /** Whether TLS material is configured. */
  public boolean enabled() {
    return certificate != null;
  }
}
