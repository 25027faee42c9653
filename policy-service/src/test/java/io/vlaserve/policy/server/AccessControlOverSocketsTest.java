package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.service.auth.AccessTableWalk;
import io.vlaserve.service.auth.Principal;
import io.vlaserve.service.auth.Role;
import io.vlaserve.testing.Await;
import io.vlaserve.tls.TestPki;
import java.net.URI;
import java.nio.file.Path;
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
 * Issue 16, items 2, 3 and 5 on real sockets: policy-service with TLS and authenticated callers
 * serves each RPC and /act to the roles of the table, and a robot can neither act nor queue under
 * another robot's id (so a flood under a victim's id is refused before it reaches the queue). Its
 * serving-path warm-up calls itself over the same TLS, authenticated by its own certificate.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AccessControlOverSocketsTest {
  private ConfigurableApplicationContext app;
  private AccessTableWalk walk;
  private int grpcPort;
  private int httpPort;
  private double answeredBeforeServing;

  @BeforeAll
  void start(@TempDir Path dir) throws InterruptedException {
    TestPki pki = TestPki.create(dir, "suite");
    TestPki.Issued server = pki.server("policy-service");
    app = new SpringApplicationBuilder(PolicyServiceApplication.class).run(AccessTableWalk.secureArguments(pki, server,
        "--vla.policy.model=../models/tiny-vla", "--vla.policy.warmup-calls=" + WARMUP_CALLS));
    grpcPort = app.getBean(GrpcServerPort.class).await(60);
    httpPort = ((WebServerApplicationContext) app).getWebServer().getPort();
    walk = new AccessTableWalk("localhost", pki);
    // The model loads in the background; the walk's requests must meet a ready service.
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(walk.channel(grpcPort, "none"));
    Await.until(() -> health.withDeadlineAfter(30, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance())
        .getStatus() == HealthCheckResponse.ServingStatus.SERVING, "policy-service is SERVING");
    Counter ok = app.getBean(MeterRegistry.class).find("vla.policy.requests").tag("outcome", "ok").counter();
    answeredBeforeServing = ok == null ? 0 : ok.count();
  }

  private static final int WARMUP_CALLS = 8;

  @Test
  void theServingPathWarmUpIsAnsweredOverTlsBeforeHealthSaysServing() {
    // The only Infer calls answered OK by then are its own: authenticated as service/policy-service, they
    // passed the TLS handshake (its certificate as a client's), the access table and the service.
    assertEquals(WARMUP_CALLS, answeredBeforeServing);
    assertEquals(PolicyRuntime.State.READY, app.getBean(PolicyRuntime.class).state());
  }

  @AfterAll
  void stop() {
    walk.close();
    app.close();
  }

  @Test
  void everyRpcIsServedToExactlyTheRolesOfTheTable() {
    walk.assertTableHolds(grpcPort, List.of(PolicyServiceGrpc.getServiceDescriptor(),
        HealthGrpc.getServiceDescriptor()), 5 * (3 + 2));
  }

  @Test
  void aRobotCannotInferUnderAnotherRobotsId() {
    ManagedChannel robot = walk.channel(grpcPort, "robot");
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> PolicyServiceGrpc
        .newBlockingStub(robot).withDeadlineAfter(30, TimeUnit.SECONDS)
        .infer(InferRequest.newBuilder().setRobot(RobotIdentity.newBuilder().setRobotId("arm-9")).build()));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertEquals("vla.policy.v1.InferRequest.robot.robot_id \"arm-9\" is not the authenticated robot \"arm-1\""
        + " (robot/arm-1, by certificate): a robot may act only for itself", e.getStatus().getDescription());
    // Its own id gets past the check to the service's own validation.
    e = assertThrows(StatusRuntimeException.class, () -> PolicyServiceGrpc.newBlockingStub(robot)
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .infer(InferRequest.newBuilder().setRobot(RobotIdentity.newBuilder().setRobotId("arm-1")).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
  }

  @Test
  void actIsForRobotsAsThemselvesAndServicesWhileHealthIsOpen() {
    URI act = URI.create("https://localhost:" + httpPort + "/act");
    assertEquals(401, walk.http("POST", act, "none", "{}"));
    assertEquals(403, walk.http("POST", act, "viewer", "{}"));
    assertEquals(403, walk.http("POST", act, "robot", "{\"robot_id\": \"arm-9\"}"));
    assertEquals(400, walk.http("POST", act, "robot", "{\"robot_id\": \"arm-1\"}"), "past the check: no image");
    assertEquals(400, walk.http("POST", act, "service", "{\"robot_id\": \"arm-9\"}"));
    assertEquals(200, walk.http("GET", URI.create("https://localhost:" + httpPort + "/actuator/health"), "none", null));
  }

  @Test
  void openpisWebSocketIsForRobotsAndServicesWhileItsHealthCheckIsOpen() {
    URI root = URI.create("https://localhost:" + httpPort + "/");
    assertEquals(401, walk.http("GET", root, "none", null));
    assertEquals(403, walk.http("GET", root, "viewer", null));
    assertEquals(403, walk.http("GET", root, "operator", null));
    // Past the check, a GET that is no WebSocket upgrade is the WebSocket handler's 400.
    assertEquals(400, walk.http("GET", root, "robot", null));
    assertEquals(400, walk.http("GET", root, "service", null));
    assertEquals(200, walk.http("GET", URI.create("https://localhost:" + httpPort + "/healthz"), "none", null));
  }

  @Test
  void aRobotConnectsToOpenpisWebSocketOverTlsWithItsCertificateAndQueuesAsItself() throws Exception {
    io.vlaserve.tls.TlsMaterial material = walk.material("robot");
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(new javax.net.ssl.KeyManager[] {material.keyManager()},
        new javax.net.ssl.TrustManager[] {material.clientCertificateVerifier()}, null);
    BinaryMessages received = new BinaryMessages();
    try (java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().sslContext(context).build()) {
      java.net.http.WebSocket socket = http.newWebSocketBuilder()
          .buildAsync(URI.create("wss://localhost:" + httpPort + "/"), received).get(60, TimeUnit.SECONDS);
      byte[] metadata = received.next(60);
      assertTrue(metadata != null, "the metadata over wss");
      assertEquals("openpi-websocket", ((java.util.Map<?, ?>) MsgpackNumpy.unpack(metadata)).get("protocol"));
      OpenPiPolicyEndpoint endpoint = app.getBean(OpenPiPolicyEndpoint.class);
      assertEquals(List.of("arm-1"), endpoint.robots(), "queued as the robot its certificate names");
      socket.sendClose(java.net.http.WebSocket.NORMAL_CLOSURE, "done").get(30, TimeUnit.SECONDS);
      Await.until(() -> endpoint.robots().isEmpty(), "the connection closed");
      http.shutdownNow();
    }
  }

  @Test
  void requestsQueueAsTheAuthenticatedRobotWhateverTheySay() {
    Principal robot = Principal.of(Role.ROBOT, "arm-1", "certificate");
    Principal gateway = Principal.of(Role.SERVICE, "planner-gateway", "certificate");
    assertEquals("arm-1", PolicyFrontDoor.queueAs("", robot, () -> "call-1"));
    assertEquals("arm-1", PolicyFrontDoor.queueAs(null, robot, () -> "call-1"));
    assertEquals("arm-7", PolicyFrontDoor.queueAs("arm-7", gateway, () -> "call-1"), "a service speaks for its robots");
    assertEquals("service/planner-gateway", PolicyFrontDoor.queueAs("", gateway, () -> "call-1"),
        "one share for all of a caller's anonymous requests");
    assertEquals("call-1", PolicyFrontDoor.queueAs("", Principal.insecure(), () -> "call-1"));
    assertTrue(PolicyFrontDoor.queueAs("arm-2", Principal.insecure(), () -> "x").equals("arm-2"));
  }
}
