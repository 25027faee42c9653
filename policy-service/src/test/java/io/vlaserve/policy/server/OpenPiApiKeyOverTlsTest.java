package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import io.vlaserve.service.auth.AccessTableWalk;
import io.vlaserve.testing.Await;
import io.vlaserve.tls.TestPki;
import io.vlaserve.tls.TlsMaterial;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * openpi's client as it authenticates: over {@code wss://} trusting the service's CA, with no
 * client certificate, its {@code api_key} sent as {@code Authorization: Api-Key <key>}, the key
 * being the robot's JWT. The connection queues as the robot the token names; a forged key is refused
 * at the handshake.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenPiApiKeyOverTlsTest {
  private ConfigurableApplicationContext app;
  private int httpPort;
  private ECKey signingKey;
  private SSLContext trustOnly;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    TestPki pki = TestPki.create(dir, "suite");
    signingKey = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
    Path jwks = dir.resolve("jwks.json");
    Files.writeString(jwks, new JWKSet(signingKey.toPublicJWK()).toString());
    app = new SpringApplicationBuilder(PolicyServiceApplication.class).run(AccessTableWalk.secureArguments(pki,
        pki.server("policy-service"), "--vla.policy.model=../models/tiny-vla", "--vla.policy.warmup-runs=1",
        "--vla.auth.jwt.jwks=" + jwks, "--vla.auth.jwt.issuer=https://idp.example", "--vla.auth.jwt.audience=vla-serve"));
    httpPort = ((WebServerApplicationContext) app).getWebServer().getPort();
    PolicyRuntime runtime = app.getBean(PolicyRuntime.class);
    Await.until(runtime::ready, "policy-service warmed up");
    try (TlsMaterial trust = TlsMaterial.load(null, null, pki.caCertificate())) {
      trustOnly = SSLContext.getInstance("TLS");
      trustOnly.init(null, new TrustManager[] {trust.clientCertificateVerifier()}, null);
    }
  }

  @AfterAll
  void stop() {
    if (app != null) {
      app.close();
    }
  }

  private String token(ECKey key, String robot) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).build(),
        new JWTClaimsSet.Builder().issuer("https://idp.example").audience("vla-serve").subject(robot)
            .claim("vla_role", "robot").expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
    jwt.sign(new ECDSASigner(key));
    return jwt.serialize();
  }

  @Test
  void anApiKeyJwtAuthenticatesTheRobotAndAForgedOneIsRefused() throws Exception {
    BinaryMessages received = new BinaryMessages();
    HttpClient http = HttpClient.newBuilder().sslContext(trustOnly).build();
    try {
      WebSocket socket = http.newWebSocketBuilder().header("Authorization", "Api-Key " + token(signingKey, "arm-7"))
          .buildAsync(URI.create("wss://localhost:" + httpPort + "/"), received).get(60, TimeUnit.SECONDS);
      byte[] metadata = received.next(60);
      assertTrue(metadata != null, "the metadata over wss");
      assertEquals("openpi-websocket", ((Map<?, ?>) MsgpackNumpy.unpack(metadata)).get("protocol"));
      OpenPiPolicyEndpoint endpoint = app.getBean(OpenPiPolicyEndpoint.class);
      assertEquals(List.of("arm-7"), endpoint.robots(), "queued as the robot its token names");
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(30, TimeUnit.SECONDS);
      Await.until(() -> endpoint.robots().isEmpty(), "the connection closed");

      ECKey stranger = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
      ExecutionException refused = assertThrows(ExecutionException.class, () -> http.newWebSocketBuilder()
          .header("Authorization", "Api-Key " + token(stranger, "arm-7"))
          .buildAsync(URI.create("wss://localhost:" + httpPort + "/"), new WebSocket.Listener() {})
          .get(60, TimeUnit.SECONDS));
      WebSocketHandshakeException handshake = assertInstanceOf(WebSocketHandshakeException.class, refused.getCause());
      assertEquals(401, handshake.getResponse().statusCode(), "a key signed by anyone else");
    } finally {
      http.shutdownNow();
    }
  }
}
