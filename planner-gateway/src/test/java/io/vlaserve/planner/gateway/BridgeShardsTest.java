package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.StreamStateRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Robots routed to the bridge that drives them, over sockets to bridges that each know some robots. */
class BridgeShardsTest {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  /** A bridge that knows {@code robots} (in {@code mode}) and says NOT_FOUND for any other. */
  private BridgeShards.Shard bridge(String name, Set<String> robots, ExecutionMode mode, AtomicInteger asked)
      throws Exception {
    return bridge(name, robots, mode, asked, true);
  }

  /** As above; {@code linked}: whether the robots' agents are connected (their states carry a measurement). */
  private BridgeShards.Shard bridge(String name, Set<String> robots, ExecutionMode mode, AtomicInteger asked,
      boolean linked) throws Exception {
    Server server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new ControllerBridgeGrpc.ControllerBridgeImplBase() {
          @Override
          public void streamState(StreamStateRequest request, StreamObserver<ExecutionState> responses) {
            asked.incrementAndGet();
            if (!robots.contains(request.getRobotId())) {
              responses.onError(Status.NOT_FOUND.withDescription("unknown robot " + request.getRobotId())
                  .asRuntimeException());
              return;
            }
            // Streams states until cancelled, as the real bridge does.
            ExecutionState.Builder state = ExecutionState.newBuilder().setRobotId(request.getRobotId()).setMode(mode);
            if (linked) {
              state.setMeasured(io.vlaserve.common.v1.RobotState.newBuilder().setGripper(1));
            }
            responses.onNext(state.build());
          }
        }).build().start();
    servers.add(server);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(),
        InsecureChannelCredentials.create()).build();
    channels.add(channel);
    return new BridgeShards.Shard(name, channel);
  }

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    servers.forEach(Server::shutdownNow);
  }

  @Test
  void eachRobotIsRoutedToTheBridgeThatKnowsItAndTheAnswerIsRemembered() throws Exception {
    AtomicInteger askedA = new AtomicInteger();
    AtomicInteger askedB = new AtomicInteger();
    BridgeShards.Shard a = bridge("a", Set.of("arm-1", "arm-2"), ExecutionMode.EXECUTION_MODE_IDLE, askedA);
    BridgeShards.Shard b = bridge("b", Set.of("arm-3"), ExecutionMode.EXECUTION_MODE_HALTED, askedB);
    BridgeShards shards = new BridgeShards(List.of(a, b));

    BridgeShards.Located three = shards.locate("arm-3", PATIENCE);
    assertSame(b, three.shard());
    assertEquals(ExecutionMode.EXECUTION_MODE_HALTED, three.mode(), "the owner's mode comes with the answer");
    assertSame(b.channel(), shards.channel("arm-3"));
    assertSame(a, shards.locate("arm-1", PATIENCE).shard());
    assertSame(a.channel(), shards.channel("arm-1"));
    // Every shard is asked, at once; the answer needs only the one that knows the robot.
    io.vlaserve.testing.Await.until(() -> askedA.get() == 2 && askedB.get() == 2, "every shard is asked");

    shards.forget("arm-3");
    assertSame(a.channel(), shards.channel("arm-3"), "forgotten: the first shard until located again");
  }

  @Test
  void ofTwoBridgesThatKnowARobotTheOneItsAgentIsLinkedToWins() throws Exception {
    for (boolean standbyFirst : new boolean[] {true, false}) {
      BridgeShards.Shard standby = bridge("standby", Set.of("arm-1"), ExecutionMode.EXECUTION_MODE_IDLE,
          new AtomicInteger(), false);
      BridgeShards.Shard driving = bridge("driving", Set.of("arm-1"), ExecutionMode.EXECUTION_MODE_IDLE,
          new AtomicInteger(), true);
      BridgeShards shards = new BridgeShards(standbyFirst ? List.of(standby, driving) : List.of(driving, standby));
      assertSame(driving, shards.locate("arm-1", PATIENCE).shard(), "standby listed first: " + standbyFirst);
    }
    BridgeShards.Shard onlyStandby = bridge("standby", Set.of("arm-2"), ExecutionMode.EXECUTION_MODE_IDLE,
        new AtomicInteger(), false);
    BridgeShards.Shard other = bridge("other", Set.of("arm-3"), ExecutionMode.EXECUTION_MODE_IDLE, new AtomicInteger());
    assertSame(onlyStandby, new BridgeShards(List.of(other, onlyStandby)).locate("arm-2", PATIENCE).shard(),
        "a bridge that only knows the robot, when no other does");
  }

  @Test
  void aRobotNoBridgeKnowsIsReportedAsSuch() throws Exception {
    BridgeShards shards = new BridgeShards(List.of(
        bridge("a", Set.of("arm-1"), ExecutionMode.EXECUTION_MODE_IDLE, new AtomicInteger()),
        bridge("b", Set.of("arm-2"), ExecutionMode.EXECUTION_MODE_IDLE, new AtomicInteger())));
    BridgeShards.Located nowhere = shards.locate("arm-9", PATIENCE);
    assertNull(nowhere.shard());
    assertEquals(ExecutionMode.EXECUTION_MODE_UNSPECIFIED, nowhere.mode());
  }

  @Test
  void withOneBridgeEveryRobotGoesThereAndItsModeIsAsked() throws Exception {
    BridgeShards.Shard only = bridge("only", Set.of("arm-1"), ExecutionMode.EXECUTION_MODE_IDLE, new AtomicInteger());
    BridgeShards shards = new BridgeShards(List.of(only));
    assertEquals(ExecutionMode.EXECUTION_MODE_IDLE, shards.locate("arm-1", PATIENCE).mode());
    BridgeShards.Located unknown = shards.locate("arm-9", PATIENCE);
    assertSame(only, unknown.shard(), "its Execute stream will name the problem");
    assertEquals(ExecutionMode.EXECUTION_MODE_UNSPECIFIED, unknown.mode());
    assertSame(only.channel(), shards.channel("arm-9"));
  }

  @Test
  void aLocatedRobotsBridgeIsHandedOnAsAHintThatAnotherGatewayTrustsWithoutAsking() throws Exception {
    AtomicInteger askedA = new AtomicInteger();
    AtomicInteger askedB = new AtomicInteger();
    BridgeShards.Shard a = bridge("dns:///bridge-a:9094", Set.of("arm-1"), ExecutionMode.EXECUTION_MODE_IDLE, askedA);
    BridgeShards.Shard b = bridge("dns:///bridge-b:9094", Set.of("arm-3"), ExecutionMode.EXECUTION_MODE_IDLE, askedB);
    BridgeShards here = new BridgeShards(List.of(a, b));
    assertEquals("", here.hint("arm-3"), "not located: no hint");
    here.locate("arm-3", PATIENCE);
    assertEquals("dns:///bridge-b:9094", here.hint("arm-3"));

    BridgeShards there = new BridgeShards(List.of(a, b));
    int asked = askedA.get() + askedB.get();
    assertTrue(there.knows("arm-3", here.hint("arm-3")));
    assertSame(b.channel(), there.channel("arm-3"));
    assertEquals(asked, askedA.get() + askedB.get(), "no bridge asked");
    assertFalse(there.knows("arm-1", "dns:///bridge-z:9094"), "a bridge this gateway does not have: look");
    assertFalse(there.knows("arm-1", ""));
    there.forget("arm-3");
    assertSame(a.channel(), there.channel("arm-3"), "a hint that proved wrong is forgotten like a located owner");

    // A bridge that only lists the robot (its agent linked nowhere yet) is used, but not handed on.
    BridgeShards.Shard standby = bridge("dns:///bridge-s:9094", Set.of("arm-5"), ExecutionMode.EXECUTION_MODE_IDLE,
        new AtomicInteger(), false);
    BridgeShards withStandby = new BridgeShards(List.of(a, standby));
    assertSame(standby, withStandby.locate("arm-5", PATIENCE).shard());
    assertEquals("", withStandby.hint("arm-5"), "a standby's choice is looked up afresh by the next replica");

    BridgeShards single = new BridgeShards(List.of(a));
    assertTrue(single.knows("arm-9", ""), "one bridge: nothing to look for");
    single.locate("arm-1", PATIENCE);
    assertEquals("", single.hint("arm-1"), "one bridge: no hint, so tokens keep the format older gateways read");
  }
}
