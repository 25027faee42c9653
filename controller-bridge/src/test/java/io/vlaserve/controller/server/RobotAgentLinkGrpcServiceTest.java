package io.vlaserve.controller.server;

import io.vlaserve.controller.messages.ControllerMessages;
import io.vlaserve.controller.messages.ProtoTime;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.ExecutionMode;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.LimitMode;
import io.vlaserve.controller.safety.SafetyEvent;
import io.vlaserve.controller.safety.SafetyEventKind;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.v1.AgentHello;
import io.vlaserve.controller.v1.AgentMessage;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.SetpointRefused;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent link without a transport: the service's observers called as gRPC would, calls that
 * record what they are sent, and a fleet on an injected clock whose control loop the test ticks by
 * hand. Time moves only when the test says so.
 */
class RobotAgentLinkGrpcServiceTest {
  private static final long TICK = 1_000_000;
  private static final long LINK_TIMEOUT = 20_000_000;
  private static final Instant EPOCH = Instant.parse("2026-01-01T00:00:00Z");

  private final AtomicLong ticker = new AtomicLong(1_000_000_000L);
  private final ProtoTime time = new ProtoTime(new Clock() {
    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return EPOCH.plusNanos(ticker.get());
    }
  }, ticker::get);
  private final RobotFleet fleet = new RobotFleet(RobotFleetTest.properties(0, 1, List.of("arm-1")), time);
  private final Robot robot = fleet.robot("arm-1");
  private final RobotController controller = robot.controller();
  private final RemoteRobotDriver driver = (RemoteRobotDriver) robot.driver();
  private final RobotAgentLinkGrpcService service = new RobotAgentLinkGrpcService(fleet);
  private final List<StreamObserver<AgentMessage>> opened = new ArrayList<>();

  @AfterEach
  void closeLinks() {
    for (StreamObserver<AgentMessage> link : opened) {
      link.onCompleted();
    }
  }

  /** Opens a link for {@code call} and says hello as arm-1. */
  private StreamObserver<AgentMessage> hello(FakeAgentCall call) {
    StreamObserver<AgentMessage> link = service.connect(call);
    opened.add(link);
    link.onNext(AgentMessage.newBuilder().setHello(AgentHello.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("arm-1")).setStateRateHz(500)).build());
    return link;
  }

  /** The robot resting at (0.5, 0, 0.2), measured now. */
  private static AgentMessage state(long tickerNanos) {
    Instant at = EPOCH.plusNanos(tickerNanos);
    return AgentMessage.newBuilder().setState(RobotState.newBuilder()
        .setTime(Timestamp.newBuilder().setSeconds(at.getEpochSecond()).setNanos(at.getNano()))
        .setEndEffector(Pose.newBuilder()
            .setPosition(Vector3.newBuilder().setX(0.5).setZ(0.2))
            .setOrientation(Quaternion.newBuilder().setW(1)))
        .setGripper(1)).build();
  }

  /** One control tick, one period after the last. */
  private void tick() {
    controller.tick(ticker.addAndGet(TICK));
  }

  /** Ticks once and waits until {@code call} has received that tick's setpoint. */
  private void tickAndAwaitSetpoint(FakeAgentCall call) throws InterruptedException {
    long before = call.setpoints();
    tick();
    await(() -> call.setpoints() > before, () -> "the tick's setpoint is sent: " + call.kinds());
  }

  private static void await(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what.get());
      }
      Thread.sleep(1);
    }
  }

  private static int indexOf(List<BridgeMessage.MessageCase> kinds, BridgeMessage.MessageCase kind, int from) {
    for (int i = from; i < kinds.size(); i++) {
      if (kinds.get(i) == kind) {
        return i;
      }
    }
    return -1;
  }

  private List<SafetyEvent> drainEvents() {
    List<SafetyEvent> events = new ArrayList<>();
    controller.events().drain(events::add);
    return events;
  }

  @Test
  void limitsGoOutAfterHelloBeforeTheFirstSetpointAndAgainBeforeTheFirstSetpointUnderNewOnes()
      throws InterruptedException {
    FakeAgentCall call = new FakeAgentCall();
    StreamObserver<AgentMessage> link = hello(call);
    link.onNext(state(ticker.get()));
    tickAndAwaitSetpoint(call);
    assertEquals(BridgeMessage.MessageCase.LIMITS, call.kinds().get(0), "limits first: " + call.kinds());
    assertEquals(ControllerMessages.limits("arm-1", controller.limits()), call.messages.get(0).getLimits());

    SafetyLimits old = controller.limits();
    SafetyLimits slower = new SafetyLimits(old.workspaceMin(), old.workspaceMax(), old.workspaceMode(),
        new AxisLimit(0.5, LimitMode.CLAMP), old.maxLinearAcceleration(), old.maxLinearJerk(),
        old.maxAngularVelocity(), old.maxGripperRate(), old.watchdogTimeout(), old.maxAngularAcceleration(),
        old.maxAngularJerk(), old.maxGripperAcceleration(), old.orientationWorkspace());
    controller.setLimits(slower, "test: slower");
    int before = call.kinds().size();
    link.onNext(state(ticker.get()));
    tickAndAwaitSetpoint(call);
    List<BridgeMessage.MessageCase> kinds = call.kinds();
    assertEquals(List.of(BridgeMessage.MessageCase.LIMITS, BridgeMessage.MessageCase.SETPOINT),
        kinds.subList(before, kinds.size()), "the new limits before the setpoint made under them");
    assertEquals(0.5, call.messages.get(before).getLimits().getMaxLinearVelocity().getMax());
    assertTrue(call.violations.isEmpty(), call.violations.toString());
  }

  @Test
  void aReattachedAgentGetsTheLatestLimitsBeforeAnythingElseAndNoSetpointUntilResume() throws InterruptedException {
    FakeAgentCall first = new FakeAgentCall();
    StreamObserver<AgentMessage> firstLink = hello(first);
    firstLink.onNext(state(ticker.get()));
    tickAndAwaitSetpoint(first);
    firstLink.onCompleted();
    assertEquals(Status.Code.OK, first.status.getCode());
    tick();
    assertEquals(ExecutionMode.HALTED, controller.mode(), "a closed link is a link loss");

    FakeAgentCall second = new FakeAgentCall();
    StreamObserver<AgentMessage> secondLink = hello(second);
    secondLink.onNext(state(ticker.get()));
    await(() -> !second.messages.isEmpty(), () -> "the latest limits go out on attach");
    assertEquals(BridgeMessage.MessageCase.LIMITS, second.kinds().get(0));
    tick();
    await(() -> second.kinds().contains(BridgeMessage.MessageCase.HOLD), () -> "the hold: " + second.kinds());
    assertEquals(0, second.setpoints(), "halted after the link loss: no setpoint before Resume");
    controller.resume(false);
    tickAndAwaitSetpoint(second);
    List<BridgeMessage.MessageCase> kinds = second.kinds();
    assertEquals(0, kinds.indexOf(BridgeMessage.MessageCase.LIMITS));
    assertTrue(kinds.indexOf(BridgeMessage.MessageCase.SETPOINT) > 0, kinds.toString());
  }

  @Test
  void aRefusedSetpointHaltsTheRobotWhichHoldsUntilResume() throws InterruptedException {
    List<SafetyEvent> streamed = new CopyOnWriteArrayList<>();
    robot.subscribe(streamed::add);
    FakeAgentCall call = new FakeAgentCall();
    StreamObserver<AgentMessage> link = hello(call);
    link.onNext(state(ticker.get()));
    tickAndAwaitSetpoint(call);
    long sequence = call.messages.get(indexOf(call.kinds(), BridgeMessage.MessageCase.SETPOINT, 0))
        .getSetpoint().getSequence();

    link.onNext(AgentMessage.newBuilder().setSetpointRefused(SetpointRefused.newBuilder()
        .setSequence(sequence).setField("target.position.x").setValue(Double.NaN).setReason("not a finite number"))
        .build());
    link.onNext(state(ticker.get()));
    tick();
    assertEquals(ExecutionMode.HALTED, controller.mode());
    robot.publishEvents();
    SafetyEvent event = streamed.stream().filter(e -> e.kind() == SafetyEventKind.SETPOINT_REFUSED).findFirst()
        .orElseThrow(() -> new AssertionError("no SETPOINT_REFUSED event: " + streamed));
    assertEquals("The robot's agent refused a setpoint: target.position.x = NaN: not a finite number; the robot"
        + " holds on its own. Resume required.", event.message());
    assertTrue(Double.isNaN(event.requested()));
    await(() -> call.kinds().contains(BridgeMessage.MessageCase.HOLD), () -> "the agent is told to hold");
    assertEquals("target.position.x = NaN: not a finite number",
        call.messages.get(call.kinds().indexOf(BridgeMessage.MessageCase.HOLD)).getHold().getReason());

    long setpoints = call.setpoints();
    for (int i = 0; i < 5; i++) {
      link.onNext(state(ticker.get()));
      tick();
    }
    assertEquals(ExecutionMode.HALTED, controller.mode(), "halted until Resume");
    assertEquals(setpoints, call.setpoints(), "no setpoint while halted: the robot holds on its own");
    controller.resume(false);
    link.onNext(state(ticker.get()));
    tickAndAwaitSetpoint(call);
    assertEquals(ExecutionMode.IDLE, controller.mode());
  }

  @Test
  void aRefusalWithoutAFieldStillHaltsThenFailsTheStreamAndLongTextIsCut() throws InterruptedException {
    FakeAgentCall call = new FakeAgentCall();
    StreamObserver<AgentMessage> link = hello(call);
    link.onNext(state(ticker.get()));
    tickAndAwaitSetpoint(call);
    link.onNext(AgentMessage.newBuilder().setSetpointRefused(SetpointRefused.newBuilder()
        .setSequence(1).setValue(1.5).setReason("x".repeat(500))).build());
    assertTrue(call.closed.await(30, TimeUnit.SECONDS));
    assertEquals(Status.Code.INVALID_ARGUMENT, call.status.getCode());
    assertEquals("setpoint_refused.field: empty (expected: the setpoint field at fault, e.g. target.position.x)",
        call.status.getDescription());
    tick();
    SafetyEvent event = drainEvents().stream().filter(e -> e.kind() == SafetyEventKind.SETPOINT_REFUSED)
        .findFirst().orElseThrow();
    assertTrue(event.message().contains("(field not named) = 1.5: " + "x".repeat(199) + "…;"), event.message());
    assertEquals(ExecutionMode.HALTED, controller.mode());
  }

  @Test
  void aSecondAgentIsRefusedWhileTheLinkIsAliveAndReplacesItOnceSilentForTheLinkTimeout()
      throws InterruptedException {
    FakeAgentCall first = new FakeAgentCall();
    StreamObserver<AgentMessage> firstLink = hello(first);
    firstLink.onNext(state(ticker.get()));
    long lastState = ticker.get();

    ticker.addAndGet(LINK_TIMEOUT);
    FakeAgentCall refused = new FakeAgentCall();
    hello(refused);
    assertEquals(Status.Code.FAILED_PRECONDITION, refused.status.getCode());
    assertEquals("an agent is already connected for robot arm-1; one agent per robot (close the other link first)",
        refused.status.getDescription());
    assertFalse(first.closed.getCount() == 0, "the live link stays");

    ticker.addAndGet(1_000_000);
    FakeAgentCall second = new FakeAgentCall();
    StreamObserver<AgentMessage> secondLink = hello(second);
    assertTrue(first.closed.await(30, TimeUnit.SECONDS));
    assertEquals(Status.Code.ABORTED, first.status.getCode());
    assertEquals("link replaced: a new agent connected for robot arm-1 after this link sent no state for 21 ms"
        + " (link timeout 20 ms)", first.status.getDescription());
    assertNotEquals(0, second.closed.getCount(), "the new link is attached");

    // The replaced agent no longer speaks for the robot; the new one does.
    firstLink.onNext(state(ticker.get()));
    assertEquals(ticker.get() - lastState, driver.stateAgeNanos(ticker.get()), "the replaced link's state is ignored");
    secondLink.onNext(state(ticker.get()));
    assertEquals(0, driver.stateAgeNanos(ticker.get()));
    assertTrue(first.violations.isEmpty() && second.violations.isEmpty(), first.violations + " " + second.violations);
  }

  @Test
  void aLinkThatNeverSentStateIsReplacedOnceTheLinkTimeoutPassedSinceItAttached() throws InterruptedException {
    FakeAgentCall silent = new FakeAgentCall();
    hello(silent);
    ticker.addAndGet(LINK_TIMEOUT + 1);
    FakeAgentCall next = new FakeAgentCall();
    hello(next);
    assertTrue(silent.closed.await(30, TimeUnit.SECONDS));
    assertEquals(Status.Code.ABORTED, silent.status.getCode());
    assertEquals(1, next.closed.getCount(), "the new link is attached");
  }

  @Test
  void anAgentCompletingWhileTheSenderWritesIsClosedOnlyAfterTheWriteAndNothingIsWrittenAfter()
      throws InterruptedException {
    FakeAgentCall call = new FakeAgentCall();
    StreamObserver<AgentMessage> link = hello(call);
    link.onNext(state(ticker.get()));
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    call.holdNextSetpoint(entered, release);
    tick();
    assertTrue(entered.await(30, TimeUnit.SECONDS), "the sender is inside the call, writing a setpoint");

    // The agent completes on a gRPC thread while the sender is still inside the call.
    Thread completer = Thread.ofPlatform().name("grpc-completer").start(link::onCompleted);
    await(() -> completer.getState() == Thread.State.BLOCKED || completer.getState() == Thread.State.WAITING
        || !completer.isAlive(), () -> "the completer waits for the sender's write");
    release.countDown();
    completer.join(TimeUnit.SECONDS.toMillis(30));
    assertFalse(completer.isAlive());
    assertEquals(Status.Code.OK, call.status.getCode(), "closed cleanly");

    // The loop keeps sending (the link loss is noticed at the next tick): nothing reaches the closed call.
    for (int i = 0; i < 3; i++) {
      tick();
    }
    assertTrue(call.violations.isEmpty(), call.violations.toString());
    assertEquals(ExecutionMode.HALTED, controller.mode(), "a completed link is a link loss");
  }

  // ------------------------------------------------------------------ frames

  /** Opens a link for {@code call} and says hello as arm-1, taking frames of up to {@code max} setpoints. */
  private StreamObserver<AgentMessage> helloWithFrames(FakeAgentCall call, int max) {
    StreamObserver<AgentMessage> link = service.connect(call);
    opened.add(link);
    link.onNext(AgentMessage.newBuilder().setHello(AgentHello.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("arm-1")).setStateRateHz(100)
        .setMaxFrameSetpoints(max)).build());
    return link;
  }

  private static List<io.vlaserve.controller.v1.Setpoint> framed(FakeAgentCall call) {
    return call.messages.stream().filter(BridgeMessage::hasFrame)
        .flatMap(m -> m.getFrame().getSetpointsList().stream()).toList();
  }

  private static long frames(FakeAgentCall call) {
    return call.messages.stream().filter(BridgeMessage::hasFrame).count();
  }

  @Test
  void anAgentThatTakesFramesGetsTenSetpointsPerMessageAfterTheLimits() throws InterruptedException {
    FakeAgentCall call = new FakeAgentCall();
    StreamObserver<AgentMessage> link = helloWithFrames(call, 50);
    link.onNext(state(ticker.get()));
    for (int i = 0; i < 20; i++) {
      tick();
    }
    await(() -> framed(call).size() == 20, () -> "two frames: " + call.kinds());
    assertEquals(List.of(BridgeMessage.MessageCase.LIMITS, BridgeMessage.MessageCase.FRAME, BridgeMessage.MessageCase.FRAME),
        call.kinds(), "limits first, then one message per ten ticks (agent-frame 10 ms at 1 kHz)");
    List<io.vlaserve.controller.v1.Setpoint> setpoints = framed(call);
    for (int i = 1; i < setpoints.size(); i++) {
      assertEquals(setpoints.get(i - 1).getSequence() + 1, setpoints.get(i).getSequence(), "consecutive");
      assertEquals(TICK, io.vlaserve.proto.ProtoTimes.epochNanos(setpoints.get(i).getTime())
          - io.vlaserve.proto.ProtoTimes.epochNanos(setpoints.get(i - 1).getTime()), "one tick apart");
    }
    assertTrue(call.violations.isEmpty(), call.violations.toString());
  }

  @Test
  void anAgentsSmallerFrameLimitIsRespected() throws InterruptedException {
    FakeAgentCall call = new FakeAgentCall();
    StreamObserver<AgentMessage> link = helloWithFrames(call, 4);
    link.onNext(state(ticker.get()));
    for (int i = 0; i < 8; i++) {
      tick();
    }
    await(() -> framed(call).size() == 8, () -> "eight setpoints: " + call.kinds());
    assertEquals(2, frames(call), "frames of four: " + call.kinds());
  }

  @Test
  void aPartialFrameGoesOutOnceItsOldestSetpointHasWaitedAFramePeriod() throws InterruptedException {
    FakeAgentCall call = new FakeAgentCall();
    StreamObserver<AgentMessage> link = helloWithFrames(call, 50);
    link.onNext(state(ticker.get()));
    for (int i = 0; i < 3; i++) {
      tick();
    }
    // Time stands still on the injected clock: the three wait until a frame period has passed.
    ticker.addAndGet(10 * TICK);
    await(() -> frames(call) == 1, () -> "the partial frame is sent: " + call.kinds());
    assertEquals(3, framed(call).size(), "exactly the three made before: " + call.kinds());
  }

  @Test
  void aHoldGoesOutAtOnceAndTheSetpointsNotYetSentNeverFollowIt() throws InterruptedException {
    FakeAgentCall call = new FakeAgentCall();
    StreamObserver<AgentMessage> link = helloWithFrames(call, 50);
    link.onNext(state(ticker.get()));
    for (int i = 0; i < 5; i++) {
      tick(); // Five setpoints wait for their frame (time stands still).
    }
    driver.hold("test: hold");
    await(() -> call.kinds().contains(BridgeMessage.MessageCase.HOLD), () -> "the hold is sent: " + call.kinds());
    for (int i = 0; i < 10; i++) {
      tick();
    }
    await(() -> frames(call) == 1, () -> "the next frame after the hold: " + call.kinds());
    assertEquals(List.of(BridgeMessage.MessageCase.LIMITS, BridgeMessage.MessageCase.HOLD, BridgeMessage.MessageCase.FRAME),
        call.kinds(), "no setpoint made before the hold is sent");
    assertEquals(10, framed(call).size());
    assertTrue(framed(call).get(0).getSequence() > 5, "the frame starts after the held ones: " + framed(call).get(0));
  }
}
