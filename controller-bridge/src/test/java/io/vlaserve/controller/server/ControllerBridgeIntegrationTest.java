package io.vlaserve.controller.server;

import io.vlaserve.launcher.GrpcProbes;
import io.vlaserve.service.GrpcServerPort;
import static io.vlaserve.controller.server.ExecuteSession.chunk;
import static io.vlaserve.controller.server.ExecuteSession.repeat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.AxisLimit;
import io.vlaserve.controller.v1.ChunkAccepted;
import io.vlaserve.controller.v1.ChunkRejected;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.GetSafetyLimitsRequest;
import io.vlaserve.controller.v1.HaltRequest;
import io.vlaserve.controller.v1.HaltResponse;
import io.vlaserve.controller.v1.LimitMode;
import io.vlaserve.controller.v1.ResumeRequest;
import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.controller.v1.SafetyEventKind;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.controller.v1.SetSafetyLimitsRequest;
import io.vlaserve.controller.v1.StreamStateRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The real Spring Boot app on real sockets: gRPC over Netty, actuator over HTTP, control loops at
 * 1 kHz driving simulated robots, and a test agent for a remote one. Each scenario drives its own
 * robot, so scenarios are independent. Nothing here depends on wall-clock speed: every wait polls
 * for a condition with a generous timeout.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "spring.grpc.server.port=0",
      "spring.grpc.server.address=127.0.0.1",
      "vla.controller.simulated-robots=8",
      "vla.controller.remote-robots=arm-1,arm-2,arm-3,arm-4",
      "vla.controller.link-timeout=200ms",
      "vla.controller.agent-port=0",
      "vla.controller.agent-address=127.0.0.1",
      "vla.inbound.rejected-log-interval=1h"
    })
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(OutputCaptureExtension.class)
class ControllerBridgeIntegrationTest {
  /** 0.1 m/s along x for ten 100 ms steps. */
  private static final double[][] FORWARD = repeat(10, 0.01, 0, 0, 0, 0, 0, 1);

  @Autowired GrpcServerPort grpcPort;
  @Autowired AgentLinkServer agentLink;
  @LocalServerPort int httpPort;

  private ManagedChannel channel;
  /** To the robot agent link's own port. */
  private ManagedChannel agentChannel;
  private ControllerBridgeGrpc.ControllerBridgeBlockingStub bridge;

  @BeforeAll
  void connect() {
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort.await(30), InsecureChannelCredentials.create())
        .build();
    bridge = ControllerBridgeGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    agentChannel = Grpc.newChannelBuilderForAddress("127.0.0.1", agentLink.port(), InsecureChannelCredentials.create())
        .build();
  }

  @AfterAll
  void disconnect() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    agentChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** The first state StreamState sends for {@code robotId}; the stream is cancelled after it. */
  private ExecutionState stateOf(String robotId) {
    try (Context.CancellableContext context = Context.current().withCancellation()) {
      return context.call(() -> ControllerBridgeGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .streamState(StreamStateRequest.newBuilder().setRobotId(robotId).build())
          .next());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static io.vlaserve.recorder.mcap.McapReader readRecording(java.nio.file.Path file) {
    try {
      return io.vlaserve.recorder.mcap.McapReader.read(file);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Where this bridge's flight recorder writes. */
  private static final java.nio.file.Path RECORDINGS = temporaryDirectory();

  private static java.nio.file.Path temporaryDirectory() {
    try {
      return java.nio.file.Files.createTempDirectory("bridge-recordings");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @org.springframework.test.context.DynamicPropertySource
  static void recordings(org.springframework.test.context.DynamicPropertyRegistry registry) {
    registry.add("vla.controller.recording.directory", RECORDINGS::toString);
  }

  /** The flight recorder's file for {@code robot} written because of {@code reason}, once it is there. */
  private static java.nio.file.Path recording(String robot, String reason) {
    java.nio.file.Path[] found = new java.nio.file.Path[1];
    await("a recording of " + robot + " for " + reason, () -> {
      try (var files = java.nio.file.Files.list(RECORDINGS)) {
        found[0] = files.filter(p -> p.getFileName().toString().startsWith("controller-bridge-" + robot + "-")
            && p.getFileName().toString().endsWith("-" + reason + ".mcap")).findFirst().orElse(null);
        return found[0] != null;
      } catch (java.io.IOException e) {
        return false;
      }
    });
    return found[0];
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 15 s: " + what);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static double speed(ExecutionState state) {
    Vector3 v = state.getCommandedLinearVelocity();
    return Math.sqrt(v.getX() * v.getX() + v.getY() * v.getY() + v.getZ() * v.getZ());
  }

  /**
   * Input refused at the transport: each bad call fails alone while a state stream on the same
   * connection goes on; the log gets at most one line (an hour's interval here), never a stack trace.
   */
  @Nested
  @org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
  class BoundedInput {
    private static final byte[] GARBAGE = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2, 3};

    /** States of sim-4 arrive on a stream kept open on the shared channel across the bad calls. */
    private void withOpenStateStream(ThrowingRunnable badCalls) throws Throwable {
      java.util.concurrent.BlockingQueue<Object> states = new java.util.concurrent.LinkedBlockingQueue<>();
      try (Context.CancellableContext context = Context.current().withCancellation()) {
        context.run(() -> ControllerBridgeGrpc.newStub(channel).streamState(StreamStateRequest.newBuilder()
            .setRobotId("sim-4").setPeriod(Duration.newBuilder().setNanos(20_000_000)).build(), new StreamObserver<>() {
              @Override
              public void onNext(ExecutionState value) {
                states.add(value);
              }

              @Override
              public void onError(Throwable t) {
                states.add(t);
              }

              @Override
              public void onCompleted() {
                states.add("completed");
              }
            }));
        assertTrue(states.poll(30, TimeUnit.SECONDS) instanceof ExecutionState, "the stream is up");
        badCalls.run();
        states.clear();
        Object next = states.poll(30, TimeUnit.SECONDS);
        assertTrue(next instanceof ExecutionState, "the stream on the same connection goes on: " + next);
        while (!states.isEmpty()) {
          Object later = states.poll();
          assertTrue(later instanceof ExecutionState, "nothing but states: " + later);
        }
      }
    }

    @Test
    void anOversizedMessageFailsOnlyItsOwnCallNamingTheLimit(
        org.springframework.boot.test.system.CapturedOutput output) throws Throwable {
      withOpenStateStream(() -> {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> bridge.getSafetyLimits(
            GetSafetyLimitsRequest.newBuilder().setRobotId("r".repeat(300_000)).build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains("exceeds maximum size 262144"), e.getStatus().getDescription());
      });
      assertTrue(!output.getAll().contains("Exception processing message"), "no stack trace per oversized message");
    }

    @Test
    void anErrorEchoingALongRobotIdIsCutSoTheConnectionSurvives() throws Throwable {
      withOpenStateStream(() -> {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> bridge.getSafetyLimits(
            GetSafetyLimitsRequest.newBuilder().setRobotId("r".repeat(100_000)).build()));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().endsWith("characters, cut)"), e.getStatus().getDescription());
      });
    }

    @Test
    void unparseableBytesAreInvalidArgumentWithoutAStackTrace(
        org.springframework.boot.test.system.CapturedOutput output) throws Throwable {
      var raw = io.vlaserve.testing.RawGrpc.method(ControllerBridgeGrpc.getGetSafetyLimitsMethod().getFullMethodName(),
          io.grpc.MethodDescriptor.MethodType.UNARY);
      withOpenStateStream(() -> {
        for (int i = 0; i < 20; i++) {
          StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> io.grpc.stub.ClientCalls
              .blockingUnaryCall(channel, raw, io.grpc.CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), GARBAGE));
          assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
          assertTrue(e.getStatus().getDescription().startsWith(
              "request: not a valid vla.controller.v1.GetSafetyLimitsRequest"), e.getStatus().getDescription());
        }
      });
      assertTrue(output.getAll().lines().filter(line -> line.contains("Rejected input on")).count() <= 1, output.getAll());
      assertTrue(!output.getAll().contains("Exception while executing runnable"), output.getAll());
    }
  }

  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Throwable;
  }

  @Nested
  class Execute {
    @Test
    void chunksMoveTheRobotAndStateReportsProgress() {
      try (ExecuteSession session = ExecuteSession.start(channel, "sim-0")) {
        ExecutionState idle = session.awaitState("the robot ready", s -> s.hasMeasured());
        double startX = idle.getCommanded().getPosition().getX();
        session.send(chunk(1, Instant.now(), FORWARD));
        ChunkAccepted accepted = session.await("accepted", r -> r.hasAccepted()).getAccepted();
        assertEquals(1, accepted.getChunkId());
        ExecutionState moving = session.awaitState("step 3 of chunk 1",
            s -> s.getMode() == ExecutionMode.EXECUTION_MODE_EXECUTING && s.getChunkId() == 1 && s.getStepIndex() >= 3);
        assertTrue(moving.getCommanded().getPosition().getX() > startX + 0.015, moving.toString());
        assertTrue(moving.getMeasured().getEndEffector().getPosition().getX() > startX + 0.015,
            "the simulated robot moved");
        assertEquals(0.1, speed(moving), 0.01);
        assertEquals(1000.0, moving.getLoop().getRateHz(), 1e-9);
        assertTrue(moving.getLoop().getTicks() > 100);
      }
      // Closing the stream makes the robot decelerate to a hold.
      await("sim-0 holds after its stream closed", () -> {
        ExecutionState state = stateOf("sim-0");
        return state.getMode() == ExecutionMode.EXECUTION_MODE_HOLDING && speed(state) == 0;
      });
    }

    @Test
    void aNanChunkIsRejectedAndTheRobotNeverSeesIt() {
      try (ExecuteSession session = ExecuteSession.start(channel, "sim-1")) {
        session.awaitState("the robot ready", ExecutionState::hasMeasured);
        double[][] steps = repeat(5, 0.01, 0, 0, 0, 0, 0, 1);
        steps[2][2] = Double.NaN;
        session.send(chunk(5, Instant.now(), steps));
        ChunkRejected rejected = session.await("rejected", r -> r.hasRejected()).getRejected();
        assertEquals(5, rejected.getChunkId());
        assertEquals(Status.Code.INVALID_ARGUMENT.value(), rejected.getCode());
        assertEquals("chunk 5: steps[2][2] (dz): NaN (expected: a finite number)", rejected.getMessage());

        session.send(chunk(6, Instant.now(), new double[] {0.01, 0, 0}));
        ChunkRejected short6 = session.await("rejected 6", r -> r.hasRejected() && r.getRejected().getChunkId() == 6)
            .getRejected();
        assertEquals("chunk 6: steps[0]: 3 values (expected: 7, [dx, dy, dz, droll, dpitch, dyaw, gripper])",
            short6.getMessage());

        // first_step is a uint32: one past any chunk's length is refused, not wrapped to a negative int.
        session.send(chunk(7, Instant.now(), repeat(2, 0.01, 0, 0, 0, 0, 0, 1)).toBuilder().setFirstStep(-1).build());
        ChunkRejected continuation =
            session.await("rejected 7", r -> r.hasRejected() && r.getRejected().getChunkId() == 7).getRejected();
        assertEquals(Status.Code.INVALID_ARGUMENT.value(), continuation.getCode());
        assertTrue(continuation.getMessage().startsWith("chunk 7: first_step: 4294967295 (expected: 0, or the committed"
            + " prefix's length, below the "), continuation.getMessage());

        ExecutionState state = session.awaitState("a later state", s -> true);
        assertEquals(ExecutionMode.EXECUTION_MODE_IDLE, state.getMode(), "the robot holds");
        assertEquals(0, speed(state), 0);
        assertTrue(session.received.stream().noneMatch(r -> r.hasSafetyEvent()), "nothing reached the gate");
      }
    }

    @Test
    void aContinuationOfACommittedPrefixStartsWhereThePrefixEnds() {
      try (ExecuteSession session = ExecuteSession.start(channel, "sim-7")) {
        session.awaitState("the robot ready", ExecutionState::hasMeasured);
        Instant first = Instant.now();
        session.send(chunk(1, first, FORWARD));
        session.await("accepted 1", r -> r.hasAccepted() && r.getAccepted().getChunkId() == 1);
        // Observed now; the robot will run three more steps of chunk 1 while the policy thinks, so the
        // policy decoded steps 3.. of its chunk as their continuation.
        session.send(chunk(2, Instant.now(), repeat(7, 0.01, 0, 0, 0, 0, 0, 1)).toBuilder().setFirstStep(3).build());
        ChunkAccepted accepted = session.await("accepted 2", r -> r.hasAccepted() && r.getAccepted().getChunkId() == 2)
            .getAccepted();
        assertEquals(0, accepted.getSkippedSteps());
        ExecutionState continuing = session.awaitState("chunk 2 executing",
            s -> s.getChunkId() == 2 && s.getMode() == ExecutionMode.EXECUTION_MODE_EXECUTING);
        assertTrue(continuing.getStepIndex() >= 3, "counted in the policy's chunk: " + continuing);
        assertTrue(session.received.stream().filter(r -> r.hasState() && r.getState().getChunkId() == 2)
            .allMatch(r -> r.getState().getStepIndex() >= 3), "never steps 0..2, the prefix's");
        assertEquals(0.1, speed(continuing), 0.01);
      }
    }

    @Test
    void lateChunksAreRejectedOutOfRange() {
      try (ExecuteSession session = ExecuteSession.start(channel, "sim-5")) {
        session.awaitState("the robot ready", ExecutionState::hasMeasured);
        session.send(chunk(9, Instant.now().minusSeconds(5), FORWARD));
        ChunkRejected rejected = session.await("rejected", r -> r.hasRejected()).getRejected();
        assertEquals(Status.Code.OUT_OF_RANGE.value(), rejected.getCode());
        assertTrue(rejected.getMessage().startsWith("all 10 steps are in the past"), rejected.getMessage());
      }
    }

    @Test
    void haltMidChunkThenResume(CapturedOutput output) throws Exception {
      try (ExecuteSession session = ExecuteSession.start(channel, "sim-2")) {
        session.awaitState("the robot ready", ExecutionState::hasMeasured);
        session.send(chunk(1, Instant.now(), repeat(20, 0.01, 0, 0, 0, 0, 0, 1)));
        session.awaitState("executing at speed",
            s -> s.getMode() == ExecutionMode.EXECUTION_MODE_EXECUTING && speed(s) > 0.09);

        HaltResponse halted = bridge.halt(HaltRequest.newBuilder().setRobotId("sim-2").setReason("test halt").build());
        assertEquals(ExecutionMode.EXECUTION_MODE_HALTED, halted.getState().getMode(), "halted when Halt returns");
        SafetyEvent event = session.awaitEvent(SafetyEventKind.SAFETY_EVENT_KIND_HALT);
        assertEquals(LimitMode.LIMIT_MODE_HALT, event.getAction());
        assertEquals("Halt requested: test halt. Decelerating to a hold; Resume required.", event.getMessage());
        assertEquals(1, event.getChunkId());

        // The flight recorder wrote what led up to the halt: the chunk, its verdict, states, the event.
        io.vlaserve.recorder.mcap.McapReader recorded = readRecording(recording("sim-2", "halt"));
        java.util.Map<String, java.util.List<byte[]>> byTopic = new java.util.HashMap<>();
        for (var message : recorded.messages()) {
          byTopic.computeIfAbsent(recorded.channels().get(message.channelId()).topic(), t -> new java.util.ArrayList<>())
              .add(message.data());
        }
        assertEquals(1, io.vlaserve.controller.v1.ExecuteRequest.parseFrom(byTopic.get("/chunks").get(0))
            .getChunk().getChunkId());
        assertTrue(io.vlaserve.controller.v1.ExecuteResponse.parseFrom(byTopic.get("/chunk_verdicts").get(0))
            .hasAccepted());
        assertFalse(byTopic.get("/execution_state").isEmpty(), "the robot's state while it moved");
        var events = byTopic.get("/safety_events");
        assertEquals(SafetyEventKind.SAFETY_EVENT_KIND_HALT,
            SafetyEvent.parseFrom(events.get(events.size() - 1)).getKind(), "the halt itself is the last event");
        var chunkSchema = recorded.schemas().get(recorded.channels().values().stream()
            .filter(c -> c.topic().equals("/chunks")).findFirst().orElseThrow().schemaId());
        assertEquals("vla.controller.v1.ExecuteRequest", chunkSchema.name());
        assertEquals("protobuf", chunkSchema.encoding());
        // The limits and settings in force start the file, so that it can be replayed under them.
        assertEquals("sim-2", io.vlaserve.controller.v1.SafetyLimits.parseFrom(byTopic.get("/safety_limits").get(0))
            .getRobotId());
        assertEquals(io.vlaserve.controller.v1.Interpolation.INTERPOLATION_MINIMUM_JERK,
            io.vlaserve.controller.v1.ExecuteStart.parseFrom(byTopic.get("/execute_start").get(0)).getInterpolation());
        assertEquals("sim-2", io.vlaserve.controller.messages.BridgeReplay.replay(recording("sim-2", "halt")).robot());

        session.send(chunk(2, Instant.now(), FORWARD));
        ChunkRejected refused = session.await("refused while halted", r -> r.hasRejected()).getRejected();
        assertEquals(Status.Code.FAILED_PRECONDITION.value(), refused.getCode());
        session.awaitState("stopped", s -> s.getMode() == ExecutionMode.EXECUTION_MODE_HALTED && speed(s) == 0);
        try (ExecuteSession another = ExecuteSession.start(channel, "sim-2")) {
          // The wording controller.proto documents, which the gateway relies on to resume a session halted.
          Status status = another.awaitClosed();
          assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode());
          assertTrue(status.getDescription().contains("robot sim-2 is halted; call Resume"), status.getDescription());
        }

        assertEquals(ExecutionMode.EXECUTION_MODE_IDLE,
            bridge.resume(ResumeRequest.newBuilder().setRobotId("sim-2").build()).getState().getMode());
        session.send(chunk(3, Instant.now(), FORWARD));
        session.await("chunk 3 accepted", r -> r.hasAccepted() && r.getAccepted().getChunkId() == 3);
        session.awaitState("moving again", s -> s.getChunkId() == 3 && speed(s) > 0.09);
      }
      // The audit trail: who halted and resumed which robot.
      assertTrue(output.getOut().contains("action=halt robot=sim-2 who=insecure@/127.0.0.1:"), "no audit line for the halt");
      assertTrue(output.getOut().contains("result=ok reason=\"test halt\""), "the halt's audit line has its reason");
      assertTrue(output.getOut().contains("action=resume robot=sim-2 who=insecure@/127.0.0.1:"), "no audit line for the resume");
    }

    @Test
    void aSecondStreamForTheSameRobotIsRefused() {
      try (ExecuteSession first = ExecuteSession.start(channel, "sim-4")) {
        first.awaitState("the robot ready", ExecutionState::hasMeasured);
        try (ExecuteSession second = ExecuteSession.start(channel, "sim-4")) {
          Status status = second.awaitClosed();
          assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode());
          assertEquals("robot sim-4 is already driven by another Execute stream; close that stream first"
              + " (one stream per robot)", status.getDescription());
        }
      }
    }

    @Test
    void aSessionsEarlierConnectionCannotTakeTheRobotBack() {
      io.vlaserve.controller.v1.ExecuteStart session = io.vlaserve.controller.v1.ExecuteStart.newBuilder()
          .setRobot(io.vlaserve.common.v1.RobotIdentity.newBuilder().setRobotId("sim-6")).setSessionId("sess-9").build();
      try (ExecuteSession current = ExecuteSession.start(channel, session.toBuilder().setConnectionEpoch(2).build())) {
        current.awaitState("driven on connection 2", ExecutionState::hasMeasured);
        // The epoch is checked before whether the robot is free: a replay is refused as such.
        try (ExecuteSession replayed = ExecuteSession.start(channel, session.toBuilder().setConnectionEpoch(1).build())) {
          Status status = replayed.awaitClosed();
          assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode());
          assertEquals("robot sim-6: session sess-9 connection 1 was superseded by connection 2 (a replayed resume"
              + " token?); the robot is not taken", status.getDescription());
        }
        try (ExecuteSession later = ExecuteSession.start(channel, session.toBuilder().setConnectionEpoch(3).build())) {
          Status status = later.awaitClosed();
          assertTrue(status.getDescription().contains("already driven by another Execute stream"),
              "a later connection passes the epoch check and waits its turn: " + status);
        }
      }
    }

    @Test
    void anUnknownRobotIsNotFoundAndAChunkBeforeStartIsInvalid() {
      try (ExecuteSession unknown = ExecuteSession.start(channel, "franka")) {
        Status status = unknown.awaitClosed();
        assertEquals(Status.Code.NOT_FOUND, status.getCode());
        assertEquals("robot_id: 'franka' is not driven by this bridge (expected one of: sim-0, sim-1, sim-2, sim-3,"
            + " sim-4, sim-5, sim-6, sim-7, arm-1, arm-2, arm-3, arm-4)", status.getDescription());
      }
      try (ExecuteSession noStart = new ExecuteSession(channel)) {
        noStart.send(ExecuteRequest.newBuilder().setChunk(chunk(1, Instant.now(), FORWARD)).build());
        Status status = noStart.awaitClosed();
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
        assertEquals("first message: chunk (expected: start, naming the robot to drive)", status.getDescription());
      }
      StatusRuntimeException halt = assertThrows(StatusRuntimeException.class,
          () -> bridge.halt(HaltRequest.newBuilder().setRobotId("franka").build()));
      assertEquals(Status.Code.NOT_FOUND, halt.getStatus().getCode());
    }
  }

  @Nested
  class SafetyLimitsRpc {
    @Test
    void limitsAreValidatedAndTheOffendingFieldIsNamed() {
      SafetyLimits current = bridge.getSafetyLimits(GetSafetyLimitsRequest.newBuilder().setRobotId("sim-3").build());
      assertEquals(1.0, current.getMaxLinearVelocity().getMax(), 0);
      assertEquals(LimitMode.LIMIT_MODE_CLAMP, current.getWorkspaceMode());

      SafetyLimits negative = current.toBuilder()
          .setMaxLinearVelocity(AxisLimit.newBuilder().setMax(-1).setMode(LimitMode.LIMIT_MODE_CLAMP)).build();
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> bridge.setSafetyLimits(SetSafetyLimitsRequest.newBuilder().setLimits(negative).build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
      assertEquals("limits.max_linear_velocity.max: -1.0 (expected: a finite number > 0, m/s)",
          e.getStatus().getDescription());

      SafetyLimits noMode = current.toBuilder().setWorkspaceMode(LimitMode.LIMIT_MODE_UNSPECIFIED).build();
      StatusRuntimeException unspecified = assertThrows(StatusRuntimeException.class,
          () -> bridge.setSafetyLimits(SetSafetyLimitsRequest.newBuilder().setLimits(noMode).build()));
      assertEquals("limits.workspace_mode: unspecified (expected: CLAMP or HALT)",
          unspecified.getStatus().getDescription());

      SafetyLimits slower = current.toBuilder()
          .setMaxLinearVelocity(AxisLimit.newBuilder().setMax(0.5).setMode(LimitMode.LIMIT_MODE_HALT))
          .setWatchdogTimeout(Duration.newBuilder().setNanos(40_000_000)).build();
      assertEquals(slower, bridge.setSafetyLimits(SetSafetyLimitsRequest.newBuilder().setLimits(slower).build()));
      assertEquals(slower, bridge.getSafetyLimits(GetSafetyLimitsRequest.newBuilder().setRobotId("sim-3").build()));
    }

    @Test
    void limitsMayOnlyTightenWithinTheEnvelopeAndEveryChangeIsAnEvent() {
      try (ExecuteSession session = ExecuteSession.start(channel, "sim-5")) {
        session.awaitState("the robot ready", ExecutionState::hasMeasured);
        SafetyLimits current = bridge.getSafetyLimits(GetSafetyLimitsRequest.newBuilder().setRobotId("sim-5").build());
        assertEquals(1.0472, current.getOrientationWorkspace().getMaxTilt(), 1e-12);
        SafetyLimits huge = current.toBuilder()
            .setMaxLinearVelocity(AxisLimit.newBuilder().setMax(1e6).setMode(LimitMode.LIMIT_MODE_CLAMP)).build();
        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
            () -> bridge.setSafetyLimits(SetSafetyLimitsRequest.newBuilder().setLimits(huge).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, refused.getStatus().getCode());
        assertEquals("limits.max_linear_velocity.max: 1000000.0 m/s (expected: <= 1.0 m/s, the robot's envelope;"
            + " limits set over the API may only tighten within it)", refused.getStatus().getDescription());
        SafetyLimits wideBox = current.toBuilder()
            .setWorkspaceMax(current.getWorkspaceMax().toBuilder().setZ(1e6)).build();
        assertTrue(assertThrows(StatusRuntimeException.class,
            () -> bridge.setSafetyLimits(SetSafetyLimitsRequest.newBuilder().setLimits(wideBox).build()))
            .getStatus().getDescription().startsWith("limits.workspace_max.z: 1000000.0 m (expected: <= 0.35 m"));

        // An older client that knows nothing of the angular limits keeps the ones in force.
        SafetyLimits older = current.toBuilder().clearMaxAngularAcceleration().clearMaxAngularJerk()
            .clearMaxGripperAcceleration().clearOrientationWorkspace()
            .setMaxLinearVelocity(AxisLimit.newBuilder().setMax(0.6).setMode(LimitMode.LIMIT_MODE_CLAMP)).build();
        SafetyLimits applied = bridge.setSafetyLimits(SetSafetyLimitsRequest.newBuilder().setLimits(older).build());
        assertEquals(current.getOrientationWorkspace(), applied.getOrientationWorkspace());
        assertEquals(current.getMaxAngularJerk(), applied.getMaxAngularJerk());
        SafetyEvent change = session.awaitEvent(SafetyEventKind.SAFETY_EVENT_KIND_LIMITS_CHANGED);
        assertEquals(LimitMode.LIMIT_MODE_NOTICE, change.getAction());
        assertTrue(change.getMessage().startsWith("Safety limits changed: max_linear_velocity 1.0 (clamp) -> 0.6"
            + " (clamp) (by insecure@/127.0.0.1:"), change.getMessage());
      }
    }
  }

  @Nested
  class OpenLoopBounds {
    @Test
    void aCrossfadeLongerThanTheMaximumIsRefusedAtStart() {
      try (ExecuteSession session = ExecuteSession.start(channel, io.vlaserve.controller.v1.ExecuteStart.newBuilder()
          .setRobot(io.vlaserve.common.v1.RobotIdentity.newBuilder().setRobotId("sim-1"))
          .setBlending(io.vlaserve.controller.v1.Blending.BLENDING_LINEAR_CROSSFADE)
          .setBlendTime(Duration.newBuilder().setSeconds(3600)).build())) {
        Status status = session.awaitClosed();
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
        assertTrue(status.getDescription().startsWith("start.blend_time: 3600.000 s (expected: at most 0.500 s"),
            status.getDescription());
      }
    }

    @Test
    void aChunkLongerThanTheOpenLoopLimitIsRejected() {
      try (ExecuteSession session = ExecuteSession.start(channel, "sim-1")) {
        session.awaitState("the robot ready", ExecutionState::hasMeasured);
        session.send(chunk(1, Instant.now(), repeat(30, 0.001, 0, 0, 0, 0, 0, 1)));
        ChunkRejected rejected = session.await("rejected", r -> r.hasRejected()).getRejected();
        assertEquals(Status.Code.INVALID_ARGUMENT.value(), rejected.getCode());
        assertTrue(rejected.getMessage().startsWith("horizon: 30 steps x 0.100 s = 3.000 s (expected: at most 2.000 s"),
            rejected.getMessage());
      }
    }
  }

  @Nested
  class RemoteRobot {
    @Test
    void aRobotWhoseAgentIsNotLinkedHereIsNotTakenAndTheRefusalSaysWhy() {
      // arm-4's agent never links to this bridge (a standby shard that lists the robot, or an agent
      // not connected yet): an Execute stream here could not move it.
      try (ExecuteSession session = ExecuteSession.start(channel, "arm-4")) {
        Status status = session.awaitClosed();
        assertEquals(Status.Code.UNAVAILABLE, status.getCode());
        assertTrue(status.getDescription().startsWith("robot arm-4's agent is not linked to this controller bridge"),
            status.getDescription());
      }
    }

    @Test
    void anAgentIsDrivenAndLinkLossHaltsTheRobot() throws InterruptedException {
      try (TestAgent agent = new TestAgent(agentChannel, "arm-1").linked();
          ExecuteSession session = ExecuteSession.start(channel, "arm-1")) {
        session.awaitState("the agent's state", s -> s.hasMeasured());
        double startX = agent.x();
        session.send(chunk(1, Instant.now(), FORWARD));
        session.await("accepted", r -> r.hasAccepted());
        await("the agent's robot follows setpoints", () -> agent.x() > startX + 0.02);
        assertTrue(agent.setpoints.get() > 100);

        agent.goSilent();
        SafetyEvent loss = session.awaitEvent(SafetyEventKind.SAFETY_EVENT_KIND_LINK_LOSS);
        assertEquals(LimitMode.LIMIT_MODE_HALT, loss.getAction());
        assertTrue(loss.getMessage().startsWith("No state from the robot for"), loss.getMessage());
        session.awaitState("halted", s -> s.getMode() == ExecutionMode.EXECUTION_MODE_HALTED);
        await("the bridge tells the agent to hold", () -> "link lost".equals(agent.holdCommand.get()));
        await("the agent holds on its own once setpoints stop", () -> agent.heldOnItsOwn);

        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
            () -> bridge.resume(ResumeRequest.newBuilder().setRobotId("arm-1").build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode());
      }
    }

    @Test
    void limitsComeFirstAndARefusedSetpointHaltsTheRobotUntilResume() throws InterruptedException {
      try (TestAgent agent = new TestAgent(agentChannel, "arm-2").linked();
          ExecuteSession session = ExecuteSession.start(channel, "arm-2")) {
        session.awaitState("the agent's state", s -> s.hasMeasured());
        await("setpoints reach the agent", () -> agent.setpoints.get() > 0);
        int firstSetpoint = agent.firstMessages.indexOf(io.vlaserve.controller.v1.BridgeMessage.MessageCase.SETPOINT);
        assertEquals(io.vlaserve.controller.v1.BridgeMessage.MessageCase.LIMITS, agent.firstMessages.get(0),
            "limits before any setpoint: " + agent.firstMessages);
        assertTrue(firstSetpoint > 0, agent.firstMessages.toString());
        assertEquals("arm-2", agent.limits.get().getRobotId());
        assertEquals(1.0, agent.limits.get().getMaxLinearVelocity().getMax());

        agent.refuse(agent.lastSequence.get(), "target.position.x", Double.NaN, "not a finite number");
        SafetyEvent refused = session.awaitEvent(SafetyEventKind.SAFETY_EVENT_KIND_SETPOINT_REFUSED);
        assertEquals(LimitMode.LIMIT_MODE_HALT, refused.getAction());
        assertEquals("The robot's agent refused a setpoint: target.position.x = NaN: not a finite number; the robot"
            + " holds on its own. Resume required.", refused.getMessage());
        session.awaitState("halted", s -> s.getMode() == ExecutionMode.EXECUTION_MODE_HALTED);
        await("the bridge tells the agent to hold",
            () -> "target.position.x = NaN: not a finite number".equals(agent.holdCommand.get()));
        await("setpoints stop, so the agent holds on its own", () -> agent.heldOnItsOwn);
        session.send(chunk(1, Instant.now(), FORWARD));
        assertEquals(Status.Code.FAILED_PRECONDITION.value(),
            session.await("refused while halted", r -> r.hasRejected()).getRejected().getCode());

        assertEquals(ExecutionMode.EXECUTION_MODE_IDLE,
            bridge.resume(ResumeRequest.newBuilder().setRobotId("arm-2").build()).getState().getMode());
        long afterResume = agent.setpoints.get();
        await("setpoints flow again after Resume", () -> agent.setpoints.get() > afterResume + 10);
      }
    }

    @Test
    void aNewAgentReplacesALinkThatWentSilent() throws InterruptedException {
      try (TestAgent stale = new TestAgent(agentChannel, "arm-3").linked();
          ExecuteSession session = ExecuteSession.start(channel, "arm-3")) {
        session.awaitState("the agent's state", s -> s.hasMeasured());
        await("setpoints reach the agent", () -> stale.setpoints.get() > 0);
        // Its stream stays open but nothing comes through: a half-open link.
        stale.goSilent();
        session.awaitEvent(SafetyEventKind.SAFETY_EVENT_KIND_LINK_LOSS);
        try (TestAgent fresh = new TestAgent(agentChannel, "arm-3")) {
          await("the stale link is closed", () -> stale.closedWith.get() != null);
          Status replaced = stale.closedWith.get();
          assertEquals(Status.Code.ABORTED, replaced.getCode());
          assertTrue(replaced.getDescription().startsWith("link replaced: a new agent connected for robot arm-3 after"
              + " this link sent no state for "), replaced.getDescription());
          await("the new agent gets limits, then the hold", () -> "link lost".equals(fresh.holdCommand.get()));
          assertEquals(io.vlaserve.controller.v1.BridgeMessage.MessageCase.LIMITS, fresh.firstMessages.get(0));
          assertEquals(ExecutionMode.EXECUTION_MODE_IDLE,
              bridge.resume(ResumeRequest.newBuilder().setRobotId("arm-3").build()).getState().getMode());
          await("the new agent drives the robot", () -> fresh.setpoints.get() > 10);
          assertNull(fresh.closedWith.get());
        }
      }
    }

    @Test
    void aSimulatedRobotCannotBeClaimedByAnAgent() throws InterruptedException {
      assertEquals(Status.Code.FAILED_PRECONDITION, helloAndAwaitClose(agentChannel, "sim-0").getCode());
    }
  }

  @Test
  void streamStateReportsEveryRobot() throws Exception {
    Set<String> robots = new HashSet<>();
    try (Context.CancellableContext context = Context.current().withCancellation()) {
      context.call(() -> {
        Iterator<ExecutionState> states = ControllerBridgeGrpc.newBlockingStub(channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .streamState(StreamStateRequest.newBuilder().setPeriod(Duration.newBuilder().setNanos(50_000_000)).build());
        for (int i = 0; i < 18 && states.hasNext(); i++) {
          robots.add(states.next().getRobotId());
        }
        return null;
      });
    }
    assertEquals(Set.of("sim-0", "sim-1", "sim-2", "sim-3", "sim-4", "sim-5", "sim-6", "sim-7", "arm-1", "arm-2", "arm-3", "arm-4"), robots);
  }

  @Test
  void grpcHealthReportsServing() throws InterruptedException {
    // gRPC health follows actuator health on a 1 s schedule, so it turns SERVING shortly after the loops run.
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, GrpcProbes.awaitServing(channel, java.time.Duration.ofSeconds(15)));
  }

  @Test
  void reflectionListsTheAdminApiOnItsPort() throws Exception {
    List<String> services = GrpcProbes.listServices(channel, java.time.Duration.ofSeconds(10));
    assertTrue(services.contains("vla.controller.v1.ControllerBridge"), services.toString());
    assertFalse(services.contains("vla.controller.v1.RobotAgentLink"), "the agent link has a port of its own: " + services);
    assertTrue(services.contains("grpc.health.v1.Health"), services.toString());
  }

  /**
   * The agent port serves the agent link and nothing else: a robot (or anyone who reaches the port
   * robots reach) cannot call Execute, Halt, Resume or SetSafetyLimits there; the admin port does not
   * serve the agent link.
   */
  @Test
  void theAgentPortServesOnlyTheAgentLink() throws InterruptedException {
    StatusRuntimeException halt = assertThrows(StatusRuntimeException.class, () -> ControllerBridgeGrpc
        .newBlockingStub(agentChannel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .halt(HaltRequest.newBuilder().setRobotId("sim-0").setEmergency(true).build()));
    assertEquals(Status.Code.UNIMPLEMENTED, halt.getStatus().getCode());
    StatusRuntimeException limits = assertThrows(StatusRuntimeException.class, () -> ControllerBridgeGrpc
        .newBlockingStub(agentChannel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .getSafetyLimits(GetSafetyLimitsRequest.newBuilder().setRobotId("sim-0").build()));
    assertEquals(Status.Code.UNIMPLEMENTED, limits.getStatus().getCode());
    assertEquals(Status.Code.UNIMPLEMENTED, helloAndAwaitClose(channel, "arm-1").getCode());
  }

  /** Opens an agent link on {@code target}, says hello as {@code robotId}, and returns how the bridge closed it. */
  private static Status helloAndAwaitClose(ManagedChannel target, String robotId) throws InterruptedException {
    CountDownLatch closed = new CountDownLatch(1);
    List<Status> statuses = new ArrayList<>();
    var stream = io.vlaserve.controller.v1.RobotAgentLinkGrpc.newStub(target).connect(new StreamObserver<>() {
      @Override
      public void onNext(io.vlaserve.controller.v1.BridgeMessage value) {}

      @Override
      public void onError(Throwable t) {
        statuses.add(Status.fromThrowable(t));
        closed.countDown();
      }

      @Override
      public void onCompleted() {
        statuses.add(Status.OK);
        closed.countDown();
      }
    });
    stream.onNext(io.vlaserve.controller.v1.AgentMessage.newBuilder().setHello(io.vlaserve.controller.v1.AgentHello
        .newBuilder().setRobot(io.vlaserve.common.v1.RobotIdentity.newBuilder().setRobotId(robotId))).build());
    assertTrue(closed.await(15, TimeUnit.SECONDS));
    return statuses.get(0);
  }

  @Test
  void actuatorHealthAndPrometheusMetricsAreServedOverHttp() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> health = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + httpPort + "/actuator/health")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode());
    assertTrue(health.body().contains("\"controlLoops\""), health.body());
    assertTrue(health.body().contains("\"UP\""), health.body());
    HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + httpPort + "/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, metrics.statusCode());
    String body = metrics.body();
    assertTrue(body.contains("vla_controller_loop_period_error_seconds{loop=\"0\",quantile=\"0.99\""), body);
    assertTrue(body.contains("vla_controller_loop_compute_seconds{loop=\"0\",quantile=\"0.5\""), body);
    assertTrue(body.contains("vla_controller_loop_missed_deadlines_total{loop=\"0\""), body);
    assertTrue(body.contains("vla_controller_safety_events_total{kind=\"velocity\",robot=\"sim-0\""), body);
    assertTrue(body.contains("vla_controller_chunks_total{outcome=\"accepted\",reason=\"none\",robot=\"sim-0\""), body);
    for (String start : List.of("spliced", "blended", "dropped")) {
      assertTrue(body.contains("vla_controller_chunks_started_total{robot=\"sim-0\",service=\"controller-bridge\",start=\""
          + start + "\"}"), body);
    }
    assertTrue(body.contains("vla_controller_recording_dropped_total"), body);
    assertTrue(body.contains("vla_controller_recording_files_total"), body);
    assertTrue(body.contains("grpc_server"), "gRPC server metrics exported");
  }
}
