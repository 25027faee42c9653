package io.vlaserve.service.auth;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How callers are authenticated ({@code vla.auth.*}). With TLS (the default) every call needs an
 * identity: a client certificate with a URI SAN {@code spiffe://TRUST-DOMAIN/ROLE/NAME}, or a
 * bearer token verified against {@code jwt}. Under {@code vla.tls.insecure=true} nothing is checked.
 *
 * @param trustDomain the SPIFFE trust domain whose identities this service accepts in certificates
 * @param jwt bearer tokens; off unless {@code jwt.jwks} is set
 */
@ConfigurationProperties("vla.auth")
public record AuthProperties(@DefaultValue("vla-serve") String trustDomain, @DefaultValue Jwt jwt) {
  /**
   * Bearer tokens (JWT, signed ES256/ES384/RS256/PS256/EdDSA): claims {@code sub} (the name, a robot's
   * id), {@code vla_role} (robot, operator, service, viewer), {@code iss}, {@code aud}, {@code exp}.
   *
   * @param jwks a JWKS file (public keys) tokens must be signed by; re-read when it changes
   * @param issuer the required {@code iss}
   * @param audience the required {@code aud} (one of the token's audiences)
   * @param clockSkew tolerated difference of clocks for {@code exp} and {@code nbf}
   * @param reloadPeriod how often the JWKS file is checked for changes
   */
  public record Jwt(Path jwks, String issuer, String audience, @DefaultValue("30s") Duration clockSkew,
      @DefaultValue("10s") Duration reloadPeriod) {
    /** Whether tokens are accepted. */
    public boolean enabled() {
      return jwks != null;
    }
  }
}
