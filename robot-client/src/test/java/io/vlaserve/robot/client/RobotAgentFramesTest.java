package io.vlaserve.robot.client;

import static io.vlaserve.robot.client.SetpointCheckTest.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.Setpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent with setpoint frames, against a fake bridge on real sockets: it asks for frames, plays
 * every setpoint of a frame in order, refuses a frame with an unsafe setpoint as a whole, and a hold
 * discards what it has not played. Ordering is asserted, never durations.
 */
class RobotAgentFramesTest {
  private static final RobotIdentity ROBOT = RobotIdentity.newBuilder().setRobotId("arm-9").build();

  private final RecordingHardware hardware = new RecordingHardware();
  private ManagedChannel channel;
  private RobotAgent agent;
  private LoopbackServer server;
  private final FakeBridge bridge = new FakeBridge();

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

  private void connect() throws InterruptedException {
    server = LoopbackServer.start(0, bridge);
    channel = RobotChannels.forAddress("127.0.0.1", server.port()).build();
    agent = RobotAgent.builder(channel, ROBOT, hardware).stateRate(200).maxFrameSetpoints(20)
        .holdAfter(Duration.ofMinutes(10)).connect();
    Await.until(() -> !bridge.hellos.isEmpty(), () -> "hello");
  }

  private static List<Setpoint> frame(long first, int count) {
    return LongStream.range(first, first + count).mapToObj(s -> at(s, 0.5)).toList();
  }

  /** Setpoint {@code sequence} made {@code seconds} after setpoint 0's time, resting at x = 0.5. */
  private static Setpoint later(long sequence, long seconds) {
    Setpoint base = at(sequence, 0.5);
    return base.toBuilder().setTime(base.getTime().toBuilder().setSeconds(base.getTime().getSeconds() + seconds)).build();
  }

  private List<Long> appliedSequences() {
    List<Long> sequences = new ArrayList<>();
    for (String event : hardware.events) {
      if (event.startsWith("setpoint ")) {
        sequences.add(Long.parseLong(event.substring("setpoint ".length())));
      }
    }
    return sequences;
  }

  @Test
  void theAgentAsksForFramesAndPlaysEverySetpointOfThemInOrder() throws InterruptedException {
    connect();
    assertEquals(20, bridge.hellos.get(0).getMaxFrameSetpoints());
    bridge.sendFrame(frame(1, 10));
    bridge.sendFrame(frame(11, 10));
    Await.until(() -> hardware.applied(20) == 1, () -> "the second frame played: " + hardware.events);
    assertEquals(LongStream.rangeClosed(1, 20).boxed().toList(), appliedSequences());
    assertEquals(20, agent.setpoints());
    assertTrue(!agent.holding());
  }

  @Test
  void aFrameWithAnUnsafeSetpointIsRefusedAsAWhole() throws InterruptedException {
    connect();
    List<Setpoint> setpoints = new ArrayList<>(frame(1, 10));
    setpoints.set(4, SetpointCheckTest.setpoint(5, 0.5, Double.NaN, 0.2, 0, 1));
    bridge.sendFrame(setpoints);
    Await.until(() -> !bridge.refusals.isEmpty(), () -> "a refusal reaches the bridge: " + hardware.events);
    assertEquals(5, bridge.refusals.get(0).getSequence());
    assertEquals("target.position.y", bridge.refusals.get(0).getField());
    assertEquals(List.of(), appliedSequences(), "nothing of the frame moves the robot: " + hardware.events);
    assertTrue(agent.holding());
  }

  @Test
  void aHoldDiscardsWhatHasNotBeenPlayed() throws InterruptedException {
    connect();
    // A frame whose second setpoint is made an hour after its first: the first plays at once, the
    // second is due in an hour.
    bridge.sendFrame(List.of(at(1, 0.5), later(2, 3600)));
    Await.until(() -> hardware.applied(1) == 1, () -> "the first setpoint played: " + hardware.events);
    bridge.hold("safety halt");
    // After the hold a new time mapping starts: kept, setpoint 2 would play before this frame (its
    // time is earlier), and the old frame's hour-long span would keep this one waiting for an hour.
    bridge.sendFrame(LongStream.range(3, 13).mapToObj(s -> later(s, 3600)).toList());
    Await.until(() -> hardware.applied(12) == 1, () -> "the frame after the hold played: " + hardware.events);
    List<Long> expected = new ArrayList<>(List.of(1L));
    expected.addAll(LongStream.rangeClosed(3, 12).boxed().toList());
    assertEquals(expected, appliedSequences(), hardware.events.toString());
    assertTrue(hardware.indexOf("hold: bridge: safety halt", 0) < hardware.indexOf("setpoint 3", 0),
        hardware.events.toString());
  }
}
