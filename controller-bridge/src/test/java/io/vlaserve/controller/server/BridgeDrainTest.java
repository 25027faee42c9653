package io.vlaserve.controller.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.testing.Await;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A bridge going away ends its Execute streams and its agents' links with UNAVAILABLE at once,
 * before its servers' grace: the gateways and agents go on elsewhere (a standby shard) instead of
 * waiting for the grace to run out.
 */
class BridgeDrainTest {
  /** A bridge on loopback ports simulating {@code simulatedRobots} robots and expecting remote robot arm-1. */
  private static ConfigurableApplicationContext bridge(int simulatedRobots) {
    return new SpringApplicationBuilder(ControllerBridgeApplication.class).run(
        "--spring.grpc.server.port=0", "--spring.grpc.server.address=127.0.0.1", "--server.port=0",
        "--vla.tls.insecure=true", "--vla.controller.simulated-robots=" + simulatedRobots,
        "--vla.controller.remote-robots=arm-1", "--vla.controller.link-timeout=1s", "--vla.controller.agent-port=0",
        "--vla.controller.agent-address=127.0.0.1", "--vla.controller.loop-priority=0");
  }

  @Test
  void executeStreamsAndAgentLinksEndUnavailableWhenTheBridgeStops() throws Exception {
    ConfigurableApplicationContext bridge = bridge(1);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1",
        bridge.getBean(GrpcServerPort.class).await(30), InsecureChannelCredentials.create()).build();
    ManagedChannel agentChannel = Grpc.newChannelBuilderForAddress("127.0.0.1",
        bridge.getBean(AgentLinkServer.class).port(), InsecureChannelCredentials.create()).build();
    try (TestAgent agent = new TestAgent(agentChannel, "arm-1").linked();
        ExecuteSession simulated = ExecuteSession.start(channel, "sim-0");
        ExecuteSession remote = ExecuteSession.start(channel, "arm-1")) {
      simulated.awaitState("sim-0 driven", ExecutionState::hasMeasured);
      remote.awaitState("arm-1 driven through its agent", ExecutionState::hasMeasured);

      bridge.close();

      for (ExecuteSession session : new ExecuteSession[] {simulated, remote}) {
        Status ended = session.awaitClosed();
        assertEquals(Status.Code.UNAVAILABLE, ended.getCode(), ended.toString());
        assertTrue(ended.getDescription().startsWith("the controller bridge is shutting down: the robot is brought"
            + " to a hold"), ended.getDescription());
      }
      Await.until(() -> agent.closedWith.get() != null, "the agent's link ends");
      assertEquals(Status.Code.UNAVAILABLE, agent.closedWith.get().getCode(), agent.closedWith.get().toString());
      assertTrue(agent.closedWith.get().getDescription().contains("reconnect"), agent.closedWith.get().toString());
    } finally {
      channel.shutdownNow();
      agentChannel.shutdownNow();
      if (bridge.isActive()) {
        bridge.close();
      }
    }
  }

  @Test
  void aDrainingBridgeStartsNoExecutionEvenWhileTheRobotsAgentIsStillLinked() throws Exception {
    ConfigurableApplicationContext bridge = bridge(0);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1",
        bridge.getBean(GrpcServerPort.class).await(30), InsecureChannelCredentials.create()).build();
    ManagedChannel agentChannel = Grpc.newChannelBuilderForAddress("127.0.0.1",
        bridge.getBean(AgentLinkServer.class).port(), InsecureChannelCredentials.create()).build();
    try (TestAgent agent = new TestAgent(agentChannel, "arm-1").linked();
        ExecuteSession first = ExecuteSession.start(channel, "arm-1")) {
      first.awaitState("arm-1 driven through its agent", ExecutionState::hasMeasured);

      // The drain's first step, as BridgeDrain takes it; the agent stays linked until the robot rests.
      bridge.getBean(ControllerBridgeGrpcService.class).endExecutions(Status.UNAVAILABLE.withDescription("draining"));
      assertEquals(Status.Code.UNAVAILABLE, first.awaitClosed().getCode());

      try (ExecuteSession again = ExecuteSession.start(channel, "arm-1")) { // a gateway failing over at once
        Status refused = again.awaitClosed();
        assertEquals(Status.Code.UNAVAILABLE, refused.getCode(), refused.toString());
        assertTrue(refused.getDescription().startsWith("the controller bridge is draining"), refused.getDescription());
      }
      assertEquals(null, agent.closedWith.get(), "the agent is still linked: only starting is refused");
    } finally {
      channel.shutdownNow();
      agentChannel.shutdownNow();
      bridge.close();
    }
  }
}
