package io.vlaserve.tokenizer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.service.auth.AccessTableWalk;
import io.vlaserve.tls.TestPki;
import io.vlaserve.tokenizer.v1.ListProfilesRequest;
import io.vlaserve.tokenizer.v1.TokenizerServiceGrpc;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Issue 16, items 2 and 3 on real sockets: tokenizer-service as deployed (TLS, callers
 * authenticated by certificate or bearer token) serves each RPC and HTTP endpoint to exactly the
 * roles docs/security.md lists.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AccessControlOverSocketsTest {
  private ConfigurableApplicationContext app;
  private AccessTableWalk walk;
  private int grpcPort;
  private int httpPort;

  private ECKey tokenKey;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    tokenKey = new ECKeyGenerator(Curve.P_256).keyID("idp-1").generate();
    Path jwks = dir.resolve("jwks.json");
    Files.writeString(jwks, new JWKSet(tokenKey.toPublicJWK()).toString());
    TestPki pki = TestPki.create(dir, "suite");
    TestPki.Issued server = pki.server("tokenizer-service");
    app = new SpringApplicationBuilder(TokenizerServiceApplication.class).run(AccessTableWalk.secureArguments(pki, server,
        "--vla.auth.jwt.jwks=" + jwks, "--vla.auth.jwt.issuer=https://idp.example",
        "--vla.auth.jwt.audience=vla-serve"));
    grpcPort = app.getBean(GrpcServerPort.class).await(30);
    httpPort = ((WebServerApplicationContext) app).getWebServer().getPort();
    walk = new AccessTableWalk("localhost", pki);
  }

  @AfterAll
  void stop() {
    walk.close();
    app.close();
  }

  @Test
  void everyRpcIsServedToExactlyTheRolesOfTheTable() {
    // 5 callers x (5 tokenizer + 2 health methods)
    walk.assertTableHolds(grpcPort, List.of(TokenizerServiceGrpc.getServiceDescriptor(),
        HealthGrpc.getServiceDescriptor()), 5 * (5 + 2));
  }

  private String token(String issuer, String role, Instant expiry) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("idp-1").build(),
        new JWTClaimsSet.Builder().issuer(issuer).audience("vla-serve").subject("pipeline-7")
            .claim("vla_role", role).expirationTime(Date.from(expiry)).build());
    jwt.sign(new ECDSASigner(tokenKey));
    return jwt.serialize();
  }

  private Status listProfilesWith(String token) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    try {
      TokenizerServiceGrpc.newBlockingStub(walk.channel(grpcPort, "none"))
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
          .withDeadlineAfter(30, TimeUnit.SECONDS).listProfiles(ListProfilesRequest.getDefaultInstance());
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  @Test
  void bearerTokensAuthenticateOverTheSocketAndExpiredOrForeignOnesAreRefused() throws Exception {
    Instant later = Instant.now().plusSeconds(600);
    assertEquals(Status.Code.OK, listProfilesWith(token("https://idp.example", "service", later)).getCode());
    assertEquals(Status.Code.PERMISSION_DENIED,
        listProfilesWith(token("https://idp.example", "robot", later)).getCode(), "the token's role counts");
    Status expired = listProfilesWith(token("https://idp.example", "service", Instant.now().minusSeconds(300)));
    assertEquals(Status.Code.UNAUTHENTICATED, expired.getCode());
    assertTrue(expired.getDescription().contains("Expired JWT"), expired.getDescription());
    Status foreign = listProfilesWith(token("https://evil.example", "service", later));
    assertEquals(Status.Code.UNAUTHENTICATED, foreign.getCode());
    assertTrue(foreign.getDescription().contains("iss"), foreign.getDescription());
  }

  @Test
  void healthIsOpenAndMetricsAreForViewersOperatorsAndServices() {
    URI health = URI.create("https://localhost:" + httpPort + "/actuator/health");
    URI metrics = URI.create("https://localhost:" + httpPort + "/actuator/prometheus");
    assertEquals(200, walk.http("GET", health, "none", null));
    assertEquals(401, walk.http("GET", metrics, "none", null));
    assertEquals(403, walk.http("GET", metrics, "robot", null));
    assertEquals(200, walk.http("GET", metrics, "viewer", null));
    assertEquals(200, walk.http("GET", metrics, "operator", null));
  }
}
