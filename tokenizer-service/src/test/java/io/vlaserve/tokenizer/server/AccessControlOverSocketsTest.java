package io.vlaserve.tokenizer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.health.v1.HealthGrpc;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.service.auth.AccessTableWalk;
import io.vlaserve.tls.TestPki;
import io.vlaserve.tokenizer.v1.TokenizerServiceGrpc;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Issue 16, item 3 on real sockets: tokenizer-service as deployed (TLS, callers authenticated)
 * serves each RPC and HTTP endpoint to exactly the roles docs/security.md lists.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AccessControlOverSocketsTest {
  private ConfigurableApplicationContext app;
  private AccessTableWalk walk;
  private int grpcPort;
  private int httpPort;

  @BeforeAll
  void start(@TempDir Path dir) {
    TestPki pki = TestPki.create(dir, "suite");
    TestPki.Issued server = pki.server("tokenizer-service");
    app = new SpringApplicationBuilder(TokenizerServiceApplication.class).run(
        "--spring.grpc.server.port=0", "--spring.grpc.server.address=127.0.0.1",
        "--server.port=0", "--server.address=127.0.0.1", "--vla.tls.insecure=false",
        "--vla.tls.certificate=" + server.certificate(), "--vla.tls.private-key=" + server.privateKey(),
        "--vla.tls.trust=" + pki.caCertificate());
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
    int[] walked = {0};
    List<String> wrong = walk.walk(grpcPort, List.of(TokenizerServiceGrpc.getServiceDescriptor(),
        HealthGrpc.getServiceDescriptor()), walked);
    assertEquals(List.of(), wrong);
    assertEquals(5 * (5 + 2), walked[0], "5 callers x (5 tokenizer + 2 health methods)");
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
