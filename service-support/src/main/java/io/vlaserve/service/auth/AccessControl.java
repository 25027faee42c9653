package io.vlaserve.service.auth;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service's access control, from {@code vla.auth.*}: with TLS, an {@link Authenticator}
 * (client certificates of the trust domain, and bearer tokens when a JWKS is configured) behind
 * the gRPC interceptor and the HTTP filter; under {@code vla.tls.insecure=true}, none (everything
 * allowed, said once at start). Thread-safe.
 */
public final class AccessControl {
  private static final Logger log = LoggerFactory.getLogger(AccessControl.class);

  private final Authenticator authenticator;

  private AccessControl(Authenticator authenticator) {
    this.authenticator = authenticator;
  }

  /**
   * @param tls whether the service runs TLS (else it is insecure and nothing is authenticated)
   * @throws IllegalArgumentException naming the property at fault
   */
  public static AccessControl start(boolean tls, AuthProperties properties) {
    if (!tls) {
      log.warn("vla.tls.insecure=true: callers are not authenticated; every caller may call everything");
      return new AccessControl(null);
    }
    TokenVerifier tokens = properties.jwt().enabled() ? new TokenVerifier(properties.jwt(), System::nanoTime) : null;
    Authenticator authenticator = new Authenticator(properties.trustDomain(), tokens);
    log.info("Callers authenticated by client certificate (spiffe://{}/<role>/<name>){}; access per AccessTable",
        properties.trustDomain(), tokens == null ? "" : " or bearer token (issuer " + properties.jwt().issuer()
            + ", audience " + properties.jwt().audience() + ", keys " + properties.jwt().jwks() + ")");
    return new AccessControl(authenticator);
  }

  /** Whether callers are authenticated (false: insecure). */
  public boolean authenticates() {
    return authenticator != null;
  }

  public AuthorizationInterceptor grpcInterceptor() {
    return new AuthorizationInterceptor(AccessTable.GRPC, authenticator);
  }

  public HttpAuthorizationFilter httpFilter() {
    return new HttpAuthorizationFilter(authenticator);
  }
}
