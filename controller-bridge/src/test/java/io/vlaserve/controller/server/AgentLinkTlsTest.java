package io.vlaserve.controller.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.GetSafetyLimitsRequest;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.testing.Await;
import io.vlaserve.tls.TestPki;
import io.vlaserve.tls.TlsMaterial;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The bridge started with {@code vla.tls.*} (client auth required): both its gRPC servers, the
 * Spring-managed admin port and the agent link's own {@link AgentLinkServer}, serve mutual TLS from
 * the same files; a robot agent with a certificate from the suite's CA gets its link, a plaintext
 * one or one without a certificate is refused with UNAVAILABLE and the link server goes on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AgentLinkTlsTest {
  private TestPki pki;
  private TestPki.Issued robot;
  private ConfigurableApplicationContext app;
  private int agentPort;
  private int adminPort;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<TlsMaterial> materials = new ArrayList<>();

  @BeforeAll
  void start(@TempDir Path dir) {
    pki = TestPki.create(dir, "suite");
    TestPki.Issued bridge = pki.server("controller-bridge");
    robot = pki.client("arm-1", "spiffe://vla-serve/robot/arm-1");
    app = new SpringApplicationBuilder(ControllerBridgeApplication.class).run(
        "--spring.grpc.server.port=0", "--spring.grpc.server.address=127.0.0.1",
        "--server.port=0", "--server.address=127.0.0.1",
        "--vla.controller.simulated-robots=1", "--vla.controller.remote-robots=arm-1",
        "--vla.controller.agent-port=0", "--vla.controller.agent-address=127.0.0.1",
        "--vla.tls.insecure=false", "--vla.tls.certificate=" + bridge.certificate(), "--vla.tls.private-key=" + bridge.privateKey(),
        "--vla.tls.trust=" + pki.caCertificate(), "--vla.tls.client-auth=require");
    adminPort = app.getBean(GrpcServerPort.class).await(30);
    agentPort = app.getBean(AgentLinkServer.class).port();
  }

  @AfterAll
  void stop() {
    app.close();
  }

  @AfterEach
  void closeChannels() throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    channels.clear();
    materials.forEach(TlsMaterial::close);
    materials.clear();
  }

  private ManagedChannel channel(int port, TlsMaterial material) {
    materials.add(material);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("localhost", port, material.channelCredentials()).build();
    channels.add(channel);
    return channel;
  }

  private ManagedChannel robotChannel(int port) {
    return channel(port, TlsMaterial.load(robot.certificate(), robot.privateKey(), pki.caCertificate()));
  }

  private static void awaitLimits(TestAgent agent) throws InterruptedException {
    Await.until(() -> agent.limits.get() != null || agent.closedWith.get() != null, "the bridge answers the hello");
    assertEquals(null, agent.closedWith.get(), "the link stays open");
    assertEquals(BridgeMessage.MessageCase.LIMITS, agent.firstMessages.get(0), agent.firstMessages.toString());
  }

  @Test
  void anAgentWithTheSuitesCertificateGetsItsLinkOverMutualTls() throws Exception {
    try (TestAgent agent = new TestAgent(robotChannel(agentPort), "arm-1")) {
      awaitLimits(agent);
      assertEquals("arm-1", agent.limits.get().getRobotId());
    }
  }

  @Test
  void plaintextAndCertificateLessAgentsAreRefusedAndTheLinkServerGoesOn() throws Exception {
    ManagedChannel plaintext = Grpc.newChannelBuilderForAddress("127.0.0.1", agentPort,
        InsecureChannelCredentials.create()).build();
    channels.add(plaintext);
    try (TestAgent agent = new TestAgent(plaintext, "arm-1")) {
      assertEquals(Status.Code.UNAVAILABLE, awaitClosed(agent).getCode());
    }
    try (TestAgent agent = new TestAgent(channel(agentPort, TlsMaterial.trusting(pki.caCertificate())), "arm-1")) {
      assertEquals(Status.Code.UNAVAILABLE, awaitClosed(agent).getCode());
    }
    try (TestAgent agent = new TestAgent(robotChannel(agentPort), "arm-1")) {
      awaitLimits(agent);
    }
  }

  @Test
  void theAdminPortServesTheSameMutualTls() {
    TestPki.Issued operator = pki.client("alice", "spiffe://vla-serve/operator/alice");
    ManagedChannel operatorChannel = channel(adminPort,
        TlsMaterial.load(operator.certificate(), operator.privateKey(), pki.caCertificate()));
    assertEquals("sim-0", ControllerBridgeGrpc.newBlockingStub(operatorChannel)
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .getSafetyLimits(GetSafetyLimitsRequest.newBuilder().setRobotId("sim-0").build()).getRobotId());
    ManagedChannel plaintext = Grpc.newChannelBuilderForAddress("127.0.0.1", adminPort,
        InsecureChannelCredentials.create()).build();
    channels.add(plaintext);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ControllerBridgeGrpc
        .newBlockingStub(plaintext).withDeadlineAfter(30, TimeUnit.SECONDS)
        .getSafetyLimits(GetSafetyLimitsRequest.newBuilder().setRobotId("sim-0").build()));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
  }

  private static Status awaitClosed(TestAgent agent) throws InterruptedException {
    Await.until(() -> agent.closedWith.get() != null, "the link is refused");
    return agent.closedWith.get();
  }
}
