package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.vlaserve.common.v1.RobotIdentity;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent against a fake bridge on real Netty sockets: holding when setpoints stop or the link
 * drops, reconnecting with a new hello when the bridge comes back on its port, and ending clearly
 * when it cannot. Ordering is asserted, never durations.
 */
class RobotAgentReconnectTest {
  private static final RobotIdentity ROBOT = RobotIdentity.newBuilder().setRobotId("arm-7").setEmbodiment("tiny-sim")
      .build();
  private static final ReconnectPolicy QUICK = ReconnectPolicy.defaults()
      .withBackoff(Duration.ofMillis(20), Duration.ofMillis(200));

  private final RecordingHardware hardware = new RecordingHardware();
  private final List<RobotAgent.LinkState> states = new CopyOnWriteArrayList<>();
  private ManagedChannel channel;
  private RobotAgent agent;
  private LoopbackServer server;

  @AfterEach
  void stop() throws InterruptedException {
    if (agent != null) {
      agent.close();
    }
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.close();
    }
  }

  private RobotAgent connect(int port, Duration holdAfter, ReconnectPolicy policy) {
    channel = RobotChannels.forAddress("127.0.0.1", port).build();
    return RobotAgent.builder(channel, ROBOT, hardware).stateRate(200).holdAfter(holdAfter).reconnect(policy)
        .listener((state, cause) -> states.add(state)).connect();
  }

  @Test
  void holdsWhenSetpointsStopThenReconnectsWithAHelloWhenTheBridgeComesBackOnItsPort() throws Exception {
    FakeBridge first = new FakeBridge();
    server = LoopbackServer.start(0, first);
    int port = server.port();
    agent = connect(port, Duration.ofMillis(100), QUICK);

    Await.until(() -> !first.hellos.isEmpty() && first.states.get() > 0, () -> "the agent says hello and reports state");
    assertEquals(ROBOT, first.hellos.get(0).getRobot());
    assertEquals(100_000_000, first.hellos.get(0).getHoldAfter().getNanos());
    first.sendSetpoints(1, 20);
    Await.until(() -> hardware.applied(20) == 1, () -> "the setpoints are applied: " + hardware.events);
    assertEquals(RobotAgent.LinkState.CONNECTED, agent.linkState());

    // The bridge goes quiet: the agent holds on its own, after the last setpoint.
    Await.until(agent::holding, () -> "the agent holds when setpoints stop: " + hardware.events);
    int hold = hardware.indexOf("hold: no setpoint for 100 ms", hardware.indexOf("setpoint 20", 0));
    assertTrue(hold > 0, "the hold follows the last setpoint: " + hardware.events);
    assertEquals(-1, hardware.indexOf("setpoint", hold), "no setpoint after the hold: " + hardware.events);

    // The bridge dies and restarts on the same port: a new link, a new hello, setpoints again.
    server.kill();
    Await.until(() -> states.contains(RobotAgent.LinkState.RECONNECTING), () -> "the agent notices: " + states);
    assertTrue(agent.holding());
    FakeBridge second = new FakeBridge();
    server = LoopbackServer.start(port, second);
    Await.until(() -> !second.hellos.isEmpty(), () -> "the agent reconnects and says hello again: " + states);
    assertEquals(ROBOT, second.hellos.get(0).getRobot());
    assertEquals(-1, hardware.indexOf("setpoint", hold), "still no setpoint before the new bridge sends one");
    second.sendSetpoints(1000, 10);
    Await.until(() -> hardware.applied(1009) == 1, () -> "setpoints of the new link are applied: " + hardware.events);
    assertEquals(RobotAgent.LinkState.CONNECTED, agent.linkState());
    assertTrue(agent.links() >= 2, "links: " + agent.links());
    assertTrue(hardware.events.subList(hold, hardware.events.size()).stream()
        .filter(e -> e.startsWith("setpoint")).allMatch(e -> Long.parseLong(e.substring(9)) >= 1000),
        "only the new bridge's setpoints after the hold: " + hardware.events);
    assertEquals(null, agent.closedWith(), "still trying, not closed");
  }

  @Test
  void holdsAtOnceWhenTheLinkDropsMidStreamThenGivesUpWithAClearStatus() throws Exception {
    FakeBridge bridge = new FakeBridge();
    server = LoopbackServer.start(0, bridge);
    // holdAfter far beyond the test: any hold comes from the link loss itself.
    agent = connect(server.port(), Duration.ofMinutes(10), QUICK.withGiveUpAfter(Duration.ofMillis(500)));
    Await.until(() -> !bridge.hellos.isEmpty(), () -> "hello");
    AtomicBoolean bridgeUp = new AtomicBoolean(true);
    Thread streaming = Thread.ofPlatform().start(() -> {
      try {
        for (long sequence = 1; bridgeUp.get(); sequence++) {
          bridge.sendSetpoints(sequence, 1);
          Thread.sleep(1);
        }
      } catch (RuntimeException | InterruptedException e) {
        // The server is gone.
      }
    });
    Await.until(() -> agent.setpoints() > 20, () -> "setpoints flow");
    server.kill();
    bridgeUp.set(false);
    streaming.join(Await.TIMEOUT);

    Status closed = agent.awaitClosed(Await.TIMEOUT);
    int hold = hardware.indexOf("hold: link to the controller bridge lost", 0);
    assertTrue(hold > 0, "held on link loss: " + hardware.events);
    assertEquals(-1, hardware.indexOf("setpoint", hold), "no setpoint after the hold: " + hardware.events);
    assertEquals(Status.Code.UNAVAILABLE, closed.getCode());
    assertTrue(closed.getDescription().contains("gave up reconnecting"), closed.getDescription());
    assertEquals(RobotAgent.LinkState.CLOSED, agent.linkState());
    assertEquals(RobotAgent.LinkState.CLOSED, states.get(states.size() - 1));
    assertTrue(agent.links() >= 2, "it tried again before giving up: " + agent.links());
    assertTrue(agent.holding());
  }

  @Test
  void aBridgeThatDoesNotKnowTheRobotEndsTheLinkWithoutRetrying() throws Exception {
    FakeBridge bridge = new FakeBridge(Status.NOT_FOUND.withDescription("unknown robot arm-7"));
    server = LoopbackServer.start(0, bridge);
    agent = connect(server.port(), Duration.ofMillis(100), QUICK);

    Status closed = agent.awaitClosed(Await.TIMEOUT);
    assertEquals(Status.Code.NOT_FOUND, closed.getCode());
    assertEquals("unknown robot arm-7", closed.getDescription());
    assertEquals(1, agent.links());
    assertEquals(1, bridge.hellos.size());
    assertTrue(agent.holding());
    assertEquals(List.of(RobotAgent.LinkState.CLOSED), states);
  }
}
