package io.vlaserve.service.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.text.ParseException;
import java.time.Duration;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Verifies bearer tokens (JWT) with Nimbus JOSE+JWT: signature by a key of the configured JWKS
 * file (asymmetric algorithms only, so a leaked verification key cannot mint tokens), issuer,
 * audience, expiry (required) and not-before, within the clock skew; the name from {@code sub},
 * the role from {@code vla_role}. The JWKS file is re-read when its modification time changes
 * (checked at most once per reload period), so keys rotate without a restart. Thread-safe.
 */
public final class TokenVerifier {
  static final String ROLE_CLAIM = "vla_role";
  private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.ES256, JWSAlgorithm.ES384,
      JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.PS256, JWSAlgorithm.Ed25519, JWSAlgorithm.EdDSA);

  private final Path jwks;
  private final long reloadNanos;
  private final LongSupplier nanoTime;
  private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
  private volatile Keys keys;

  private record Keys(JWKSet set, FileTime modified, long checkedAt) {}

  /**
   * @throws IllegalArgumentException naming the property at fault (missing issuer/audience, unreadable JWKS)
   */
  public TokenVerifier(AuthProperties.Jwt properties, LongSupplier nanoTime) {
    if (properties.issuer() == null || properties.issuer().isBlank()
        || properties.audience() == null || properties.audience().isBlank()) {
      throw new IllegalArgumentException("vla.auth.jwt.jwks=" + properties.jwks() + " without vla.auth.jwt.issuer"
          + " and vla.auth.jwt.audience (expected: both, the values tokens must carry in iss and aud)");
    }
    this.jwks = properties.jwks();
    this.reloadNanos = properties.reloadPeriod().toNanos();
    this.nanoTime = nanoTime;
    this.keys = load(nanoTime.getAsLong());
    JWKSource<SecurityContext> source = (selector, context) -> selector.select(currentKeys());
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, source));
    DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(properties.audience(),
        new JWTClaimsSet.Builder().issuer(properties.issuer()).build(), Set.of("sub", "exp", ROLE_CLAIM));
    claims.setMaxClockSkew((int) Math.min(Integer.MAX_VALUE, properties.clockSkew().toSeconds()));
    processor.setJWTClaimsSetVerifier(claims);
  }

  /**
   * Verifies {@code token} and returns its caller.
   *
   * @throws AuthenticationException saying why it was refused (expired, wrong issuer, bad signature...)
   */
  public Principal verify(String token) {
    JWTClaimsSet claims;
    try {
      claims = processor.process(token, null);
    } catch (ParseException e) {
      throw new AuthenticationException("bearer token: not a JWT (" + e.getMessage() + ")");
    } catch (BadJOSEException e) {
      throw new AuthenticationException("bearer token refused: " + e.getMessage());
    } catch (JOSEException e) {
      throw new AuthenticationException("bearer token: cannot verify (" + e.getMessage() + ")");
    }
    Role role;
    try {
      role = Role.fromWire(String.valueOf(claims.getClaim(ROLE_CLAIM)));
      return Principal.of(role, claims.getSubject(), "token");
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("bearer token: " + e.getMessage());
    }
  }

  private JWKSet currentKeys() {
    Keys current = keys;
    long now = nanoTime.getAsLong();
    if (now - current.checkedAt() < reloadNanos) {
      return current.set();
    }
    try {
      FileTime modified = Files.getLastModifiedTime(jwks);
      if (modified.equals(current.modified())) {
        keys = new Keys(current.set(), modified, now);
      } else {
        keys = load(now);
      }
    } catch (IOException | IllegalArgumentException e) {
      // Keep verifying with the keys we have; a broken rotation must not lock every robot out.
      keys = new Keys(current.set(), current.modified(), now);
    }
    return keys.set();
  }

  private Keys load(long now) {
    try {
      FileTime modified = Files.getLastModifiedTime(jwks);
      JWKSet set = JWKSet.load(jwks.toFile());
      if (set.getKeys().isEmpty() || set.getKeys().stream().anyMatch(key -> key.isPrivate())) {
        throw new IllegalArgumentException("vla.auth.jwt.jwks=" + jwks + ": "
            + (set.getKeys().isEmpty() ? "no keys" : "holds a private key") + " (expected: public keys only)");
      }
      return new Keys(set, modified, now);
    } catch (IOException | ParseException e) {
      throw new IllegalArgumentException("vla.auth.jwt.jwks=" + jwks + ": cannot read a JWKS (" + e.getMessage() + ")", e);
    }
  }

  /** How long between checks of the JWKS file. */
  Duration reloadPeriod() {
    return Duration.ofNanos(reloadNanos);
  }
}
