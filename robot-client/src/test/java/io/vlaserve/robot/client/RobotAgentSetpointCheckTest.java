package io.vlaserve.robot.client;

import static io.vlaserve.robot.client.SetpointCheckTest.at;
import static io.vlaserve.robot.client.SetpointCheckTest.setpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.SetpointRefused;
import io.vlaserve.controller.v1.Setpoint;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent refuses setpoints its own check finds unsafe, against a fake bridge on real sockets: the
 * hardware never sees them, it is told to hold, and the bridge gets a {@code setpoint_refused}
 * naming the field. Ordering is asserted, never durations.
 */
class RobotAgentSetpointCheckTest {
  private static final RobotIdentity ROBOT = RobotIdentity.newBuilder().setRobotId("arm-7").build();

  private final RecordingHardware hardware = new RecordingHardware();
  private ManagedChannel channel;
  private RobotAgent agent;
  private LoopbackServer server;
  private FakeBridge bridge;

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

  /** Connects an agent to {@code fake}; holdAfter far beyond the test, so every hold is the check's or the bridge's. */
  private void connect(FakeBridge fake) throws InterruptedException {
    bridge = fake;
    server = LoopbackServer.start(0, bridge);
    channel = RobotChannels.forAddress("127.0.0.1", server.port()).build();
    agent = RobotAgent.builder(channel, ROBOT, hardware).stateRate(200).holdAfter(Duration.ofMinutes(10)).connect();
    Await.until(() -> !bridge.hellos.isEmpty(), () -> "hello");
  }

  /** Sends a good setpoint 1, then {@code bad} as setpoint 2; returns the refusal the bridge got. */
  private SetpointRefused refuses(Setpoint bad) throws InterruptedException {
    connect(new FakeBridge());
    bridge.send(at(1, 0.5));
    Await.until(() -> hardware.applied(1) == 1, () -> "setpoint 1 applied: " + hardware.events);
    bridge.send(bad);
    Await.until(() -> !bridge.refusals.isEmpty(), () -> "a refusal reaches the bridge: " + hardware.events);
    SetpointRefused refusal = bridge.refusals.get(0);
    assertEquals(2, refusal.getSequence());
    int hold = hardware.indexOf("hold: setpoint 2 refused: " + refusal.getField() + " = ", 0);
    assertTrue(hold > hardware.indexOf("setpoint 1", 0), "the hardware is told to hold: " + hardware.events);
    assertEquals(0, hardware.applied(2), "the refused setpoint never reaches the hardware: " + hardware.events);
    assertTrue(agent.holding());
    assertEquals(1, agent.refused());
    return refusal;
  }

  @Test
  void aNanIsRefused() throws InterruptedException {
    SetpointRefused refusal = refuses(setpoint(2, 0.5, Double.NaN, 0.2, 0, 1));
    assertEquals("target.position.y", refusal.getField());
    assertTrue(Double.isNaN(refusal.getValue()));
    assertEquals("not a finite number", refusal.getReason());
  }

  @Test
  void aQuaternionThatIsNotUnitIsRefused() throws InterruptedException {
    Setpoint bad = at(2, 0.5).toBuilder().setTarget(at(2, 0.5).getTarget().toBuilder()
        .setOrientation(Quaternion.newBuilder().setX(0.1).setW(1))).build();
    SetpointRefused refusal = refuses(bad);
    assertEquals("target.orientation", refusal.getField());
    assertEquals(Math.sqrt(1.01), refusal.getValue(), 1e-12);
  }

  @Test
  void aGripperOfOnePointFiveIsRefused() throws InterruptedException {
    SetpointRefused refusal = refuses(setpoint(2, 0.5, 0, 0.2, 0, 1.5));
    assertEquals("gripper", refusal.getField());
    assertEquals(1.5, refusal.getValue());
    assertEquals("outside 0..1 (expected: 0 = closed .. 1 = open)", refusal.getReason());
  }

  @Test
  void aTargetOutsideTheWorkspaceIsRefused() throws InterruptedException {
    SetpointRefused refusal = refuses(setpoint(2, 0.5, 0, 0.5, 0, 1));
    assertEquals("target.position.z", refusal.getField());
    assertEquals(0.5, refusal.getValue());
    assertTrue(refusal.getReason().startsWith("outside the workspace (expected: 0.0100 .. 0.3500 m"),
        refusal.getReason());
  }

  @Test
  void aSetpointTooFastFromThePreviousOneIsRefused() throws InterruptedException {
    // 1 cm in one 1 ms tick: 10 m/s against the announced 1 m/s.
    SetpointRefused refusal = refuses(at(2, 0.51));
    assertEquals("target.position.x", refusal.getField());
    assertEquals(0.51, refusal.getValue());
    assertTrue(refusal.getReason().startsWith("moves x at 10.0000 m/s from setpoint 1"), refusal.getReason());
  }

  @Test
  void aSetpointBeforeAnyLimitsIsRefused() throws InterruptedException {
    connect(new FakeBridge(null, null));
    bridge.send(at(1, 0.5));
    Await.until(() -> !bridge.refusals.isEmpty(), () -> "a refusal reaches the bridge: " + hardware.events);
    assertEquals("limits", bridge.refusals.get(0).getField());
    assertEquals(0, hardware.applied(1), hardware.events.toString());
    assertTrue(hardware.indexOf("hold: setpoint 1 refused: limits = 0.0: no safety limits announced", 0) >= 0,
        hardware.events.toString());
  }

  @Test
  void afterARefusalTheRobotHoldsUntilTheBridgeHaltsThenTheNextSetpointIsCheckedAgain() throws InterruptedException {
    refuses(at(2, 0.51));
    // Setpoint 3 was already in flight when the bridge learned of the refusal: dropped, unchecked.
    bridge.send(at(3, 0.5));
    bridge.hold("the robot's agent refused a setpoint");
    // After Resume the bridge starts again from where the robot holds: no rate from setpoint 1 applies.
    bridge.send(at(100, 0.6));
    Await.until(() -> hardware.applied(100) == 1, () -> "the first setpoint after the halt is followed: "
        + hardware.events);
    assertEquals(0, hardware.applied(3), "nothing moves the robot between the refusal and the halt: "
        + hardware.events);
    assertEquals(1, bridge.refusals.size(), "one refusal, not one per dropped setpoint");
    bridge.send(at(101, 0.7));
    Await.until(() -> bridge.refusals.size() == 2, () -> "consecutive setpoints are rate-checked again: "
        + hardware.events);
    assertEquals(101, bridge.refusals.get(1).getSequence());
    assertEquals(0, hardware.applied(101));
  }
}
