package io.vlaserve.service.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.vlaserve.tls.TestPki;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthenticatorTest {
  @TempDir Path dir;
  private TestPki pki;
  private ECKey signingKey;
  private Path jwks;
  private final AtomicLong nanos = new AtomicLong();
  private Authenticator authenticator;

  @BeforeEach
  void setUp() throws Exception {
    pki = TestPki.create(dir, "suite");
    signingKey = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
    jwks = dir.resolve("jwks.json");
    Files.writeString(jwks, new JWKSet(signingKey.toPublicJWK()).toString());
    TokenVerifier tokens = new TokenVerifier(new AuthProperties.Jwt(jwks, "https://idp.example", "vla-serve",
        Duration.ofSeconds(30), Duration.ofSeconds(10)), nanos::get);
    authenticator = new Authenticator("vla-serve", tokens);
  }

  private Certificate[] chain(TestPki.Issued issued) throws IOException, java.security.GeneralSecurityException {
    try (InputStream in = Files.newInputStream(issued.certificate())) {
      return new Certificate[] {(X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in)};
    }
  }

  private String token(ECKey key, String issuer, String audience, String subject, String role, Instant expiry)
      throws JOSEException {
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().issuer(issuer).audience(audience).subject(subject)
        .expirationTime(Date.from(expiry));
    if (role != null) {
      claims.claim("vla_role", role);
    }
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).build(), claims.build());
    jwt.sign(new ECDSASigner(key));
    return "Bearer " + jwt.serialize();
  }

  private String validToken(String subject, String role) throws JOSEException {
    return token(signingKey, "https://idp.example", "vla-serve", subject, role, Instant.now().plusSeconds(600));
  }

  private void assertRefused(String authorization, Certificate[] chain, String expected) {
    AuthenticationException e = assertThrows(AuthenticationException.class,
        () -> authenticator.authenticate(authorization, chain));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void aCertificatesSpiffeIdIsTheCaller() throws Exception {
    assertEquals(Principal.of(Role.ROBOT, "arm-1", "certificate"),
        authenticator.authenticate(null, chain(pki.client("arm-1", "spiffe://vla-serve/robot/arm-1"))));
    assertEquals(Principal.of(Role.SERVICE, "planner-gateway", "certificate"),
        authenticator.authenticate(null, chain(pki.server("planner-gateway"))));
    assertEquals("operator/alice", authenticator.authenticate(null,
        chain(pki.client("alice", "SPIFFE://VLA-SERVE/operator/alice"))).toString(), "the trust domain is case-blind");
  }

  @Test
  void certificatesWithoutAUsableIdentityAreRefusedSayingWhatIsExpected() throws Exception {
    assertRefused(null, chain(pki.client("other", "spiffe://other-domain/robot/arm-1")),
        "no URI SAN spiffe://vla-serve/<role>/<name>");
    assertRefused(null, chain(pki.client("chief", "spiffe://vla-serve/admin/root")),
        "role \"admin\" (expected one of: robot, operator, service, viewer)");
    assertRefused(null, chain(pki.client("deep", "spiffe://vla-serve/robot/arm-1/extra")), "(expected: spiffe://vla-serve/<role>/<name>)");
    assertRefused(null, chain(pki.client("query", "spiffe://vla-serve/robot/arm-1?x=1")), "(expected: spiffe://vla-serve/<role>/<name>)");
    assertRefused(null, chain(pki.client("bad", "spiffe://vla-serve/robot/arm%201")), "name \"arm%201\"");
    assertRefused(null, null, "no credential: present a client certificate with a URI SAN spiffe://vla-serve/<role>/<name>"
        + " or an \"authorization: Bearer <JWT>\" header");
  }

  @Test
  void aValidTokenIsTheCallerAndWinsOverTheCertificate() throws Exception {
    assertEquals(Principal.of(Role.ROBOT, "arm-7", "token"), authenticator.authenticate(validToken("arm-7", "robot"),
        chain(pki.server("planner-gateway"))));
  }

  @Test
  void openpisApiKeyHeaderCarriesTheSameTokenAndIsCheckedTheSame() throws Exception {
    String jwt = validToken("arm-7", "robot").substring("Bearer ".length());
    assertEquals(Principal.of(Role.ROBOT, "arm-7", "token"), authenticator.authenticate("Api-Key " + jwt, null));
    assertEquals(Principal.of(Role.ROBOT, "arm-7", "token"), authenticator.authenticate("api-key " + jwt, null));
    assertRefused("Api-Key not-a-jwt", null, "not a JWT");
    assertRefused("Api-Key " + token(signingKey, "https://idp.example", "vla-serve", "arm-1", "robot",
        Instant.now().minusSeconds(120)).substring("Bearer ".length()), null, "Expired JWT");
  }

  @Test
  void expiredForeignOrUnsignedTokensAreRefusedSayingWhy() throws Exception {
    assertRefused(token(signingKey, "https://idp.example", "vla-serve", "arm-1", "robot",
        Instant.now().minusSeconds(120)), null, "Expired JWT");
    assertRefused(token(signingKey, "https://evil.example", "vla-serve", "arm-1", "robot",
        Instant.now().plusSeconds(600)), null, "iss");
    assertRefused(token(signingKey, "https://idp.example", "another-api", "arm-1", "robot",
        Instant.now().plusSeconds(600)), null, "aud");
    ECKey stranger = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
    assertRefused(token(stranger, "https://idp.example", "vla-serve", "arm-1", "robot", Instant.now().plusSeconds(600)),
        null, "bearer token refused");
    assertRefused(validToken("arm-1", null), null, "vla_role");
    assertRefused(validToken("arm-1", "superuser"), null, "role \"superuser\"");
    assertRefused(validToken("arm 1", "robot"), null, "name \"arm 1\"");
    assertRefused("Bearer not-a-jwt", null, "not a JWT");
    assertRefused("Basic YWxpY2U6c2VjcmV0", null, "not a bearer token");
  }

  @Test
  void aTokenSignedWithASharedSecretIsRefused() throws Exception {
    // HS256 with the public key's bytes as the secret: the classic algorithm-confusion attack.
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("k1").build(),
        new JWTClaimsSet.Builder().issuer("https://idp.example").audience("vla-serve").subject("arm-1")
            .claim("vla_role", "operator").expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
    jwt.sign(new MACSigner(new byte[32]));
    assertRefused("Bearer " + jwt.serialize(), null, "bearer token refused");
  }

  @Test
  void rotatedKeysAreReadAfterTheReloadPeriod() throws Exception {
    ECKey next = new ECKeyGenerator(Curve.P_256).keyID("k2").generate();
    String nextToken = token(next, "https://idp.example", "vla-serve", "arm-1", "robot", Instant.now().plusSeconds(600));
    assertRefused(nextToken, null, "bearer token refused");
    Files.writeString(jwks, new JWKSet(java.util.List.of(signingKey.toPublicJWK(), next.toPublicJWK())).toString());
    Files.setLastModifiedTime(jwks, java.nio.file.attribute.FileTime.from(Instant.now().plusSeconds(5)));
    assertRefused(nextToken, null, "bearer token refused");
    nanos.addAndGet(Duration.ofSeconds(11).toNanos());
    assertEquals(Principal.of(Role.ROBOT, "arm-1", "token"), authenticator.authenticate(nextToken, null));
    assertEquals(Principal.of(Role.ROBOT, "arm-2", "token"), authenticator.authenticate(validToken("arm-2", "robot"), null),
        "the old key still verifies during the overlap");
  }

  @Test
  void withoutAJwksTokensAreRefusedPointingAtCertificates() throws Exception {
    Authenticator certificatesOnly = new Authenticator("vla-serve", null);
    AuthenticationException e = assertThrows(AuthenticationException.class,
        () -> certificatesOnly.authenticate(validToken("arm-1", "robot"), null));
    assertTrue(e.getMessage().contains("accepts no tokens"), e.getMessage());
  }

  @Test
  void aJwksWithAPrivateKeyOrNoIssuerIsRefusedAtStart() throws Exception {
    Files.writeString(jwks, new JWKSet(signingKey).toString(false));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TokenVerifier(
        new AuthProperties.Jwt(jwks, "https://idp.example", "vla-serve", Duration.ZERO, Duration.ZERO), nanos::get));
    assertTrue(e.getMessage().contains("holds a private key"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new TokenVerifier(
        new AuthProperties.Jwt(jwks, null, "vla-serve", Duration.ZERO, Duration.ZERO), nanos::get));
    assertTrue(e.getMessage().contains("vla.auth.jwt.issuer"), e.getMessage());
  }
}
