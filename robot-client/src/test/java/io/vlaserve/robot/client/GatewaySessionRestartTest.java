package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.SessionOpen;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A gateway dying mid-session, on real Netty sockets: the session ends with a clear terminal state
 * (never a silent stall), and {@link SessionReopener} opens a new session for the same task once a
 * gateway answers on the port again.
 */
class GatewaySessionRestartTest {
  private static final SessionOpen OPEN = SessionOpen.newBuilder()
      .setRobot(RobotIdentity.newBuilder().setRobotId("arm-1").setEmbodiment("tiny-sim"))
      .setTask("put the red block on the plate").setResumeToken("stale-token").build();
  private static final ReconnectPolicy QUICK = ReconnectPolicy.defaults()
      .withBackoff(Duration.ofMillis(20), Duration.ofMillis(200));

  private final List<Driving> seen = new CopyOnWriteArrayList<>();
  private final GatewaySession.Listener listener = new GatewaySession.Listener() {
    @Override
    public void onDriving(Driving driving) {
      seen.add(driving);
    }
  };
  private LoopbackServer server;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.close();
    }
  }

  private ManagedChannel channel(int port) {
    channel = RobotChannels.forAddress("127.0.0.1", port).build();
    return channel;
  }

  @Test
  void whenTheGatewayDiesTheSessionEndsWithItsErrorAndTheRobotKnowsToHold() throws Exception {
    server = LoopbackServer.start(0, new FakeGateway());
    GatewaySession session = GatewaySession.open(channel(server.port()), OPEN.toBuilder().clearResumeToken().build(),
        listener);
    assertEquals(DriveState.HOLD, session.driving().state(), "not driven before the gateway accepts");
    Await.until(() -> session.driving().driven(), () -> "the gateway drives the robot: " + session.driving());

    server.kill();
    Status closed = session.awaitClosed(Await.TIMEOUT);
    assertNotEquals(Status.Code.OK, closed.getCode());
    Driving driving = session.driving();
    assertEquals(DriveState.ENDED, driving.state());
    assertTrue(driving.mustHold());
    assertEquals(closed, driving.status());
    assertTrue(driving.reason().contains("resume it with its newest resume token"), driving.reason());
    assertEquals(driving, seen.get(seen.size() - 1), "the listener was told");
    IllegalStateException noOutcome = assertThrows(IllegalStateException.class,
        () -> session.awaitOutcome(Await.TIMEOUT));
    assertTrue(noOutcome.getMessage().contains("without an outcome"), noOutcome.getMessage());
    assertTrue(session.finished());
  }

  @Test
  void aGatewayThatHangsWithItsConnectionOpenEndsTheSessionOnceItsProbesGoUnanswered() throws Exception {
    FakeGateway gateway = new FakeGateway();
    server = LoopbackServer.start(0, gateway);
    GatewaySession session = GatewaySession.open(channel(server.port()), OPEN.toBuilder().clearResumeToken().build(),
        listener, GatewaySession.Options.defaults().withClockProbePeriod(Duration.ofMillis(20))
            .withSilenceTimeout(Duration.ofMillis(300)));
    Await.until(() -> session.driving().driven() && gateway.probes.get() > 0, () -> "driven and probing");

    gateway.mute();
    Status closed = session.awaitClosed(Await.TIMEOUT);
    assertEquals(Status.Code.UNAVAILABLE, closed.getCode());
    assertTrue(closed.getDescription().startsWith("no message from the gateway for"), closed.getDescription());
    assertEquals(DriveState.ENDED, session.driving().state());
    assertEquals(closed, session.driving().status());
  }

  @Test
  void theReopenerOpensANewSessionForTheSameTaskWhenTheGatewayComesBack() throws Exception {
    FakeGateway first = new FakeGateway();
    server = LoopbackServer.start(0, first);
    int port = server.port();
    SessionReopener reopener = SessionReopener.open(channel(port), OPEN, listener, GatewaySession.Options.defaults(),
        QUICK);
    Await.until(() -> reopener.driving().driven(), () -> "driven: " + reopener.driving());
    assertEquals("stale-token", first.opens.get(0).getResumeToken(), "the caller's own token on the first open");
    Await.until(() -> reopener.resumeToken().equals("token-1-subgoal-1"),
        () -> "the newest token is kept: " + reopener.resumeToken());
    GatewaySession lost = reopener.current();

    first.hold("the gateway is shutting down", "token-1-shutdown");
    Await.until(() -> reopener.resumeToken().equals("token-1-shutdown"),
        () -> "a shutting-down gateway's token is newer: " + reopener.resumeToken());
    server.kill();
    Await.until(() -> reopener.driving().reason().startsWith("session lost"),
        () -> "the robot holds while a new session is coming: " + reopener.driving());
    assertEquals(DriveState.HOLD, reopener.driving().state());
    assertEquals(DriveState.ENDED, lost.driving().state());

    FakeGateway second = new FakeGateway();
    server = LoopbackServer.start(port, second);
    Await.until(() -> reopener.driving().driven() && !second.opens.isEmpty(),
        () -> "a new session drives the robot: " + reopener.driving());
    assertEquals(OPEN.getTask(), second.opens.get(0).getTask());
    assertEquals("token-1-shutdown", second.opens.get(0).getResumeToken(),
        "the session is resumed with the newest token the lost gateway gave");
    assertEquals(OPEN.getRobot(), second.opens.get(0).getRobot());
    assertTrue(reopener.sessionsOpened() >= 2, "sessions: " + reopener.sessionsOpened());
    assertNotEquals(lost, reopener.current());
    assertTrue(seen.stream().noneMatch(Driving::ended), "the listener never saw an end: " + seen);

    second.finish(Outcome.OUTCOME_SUCCEEDED);
    assertEquals(Outcome.OUTCOME_SUCCEEDED, reopener.awaitOutcome(Await.TIMEOUT).getOutcome());
    Driving last = reopener.awaitEnded(Await.TIMEOUT);
    assertEquals(Status.Code.OK, last.status().getCode());
    int sessions = reopener.sessionsOpened();
    assertEquals(sessions, reopener.sessionsOpened(), "an outcome is final: no new session");
  }

  @Test
  void aSessionTheGatewayHandsOverIsResumedAtOnceWithoutTheBackoff() throws Exception {
    FakeGateway gateway = new FakeGateway();
    server = LoopbackServer.start(0, gateway);
    // A backoff no test would wait out: the resume below can only come from the hand-over path.
    ReconnectPolicy glacial = ReconnectPolicy.defaults().withBackoff(Duration.ofHours(1), Duration.ofHours(1));
    SessionReopener reopener = SessionReopener.open(channel(server.port()), OPEN, listener,
        GatewaySession.Options.defaults(), glacial);
    Await.until(() -> reopener.driving().driven(), () -> "driven: " + reopener.driving());

    gateway.handOver("token-1-shutdown");
    Await.until(() -> gateway.opens.size() == 2 && reopener.driving().driven(),
        () -> "resumed at once: " + gateway.opens.size() + " opens, " + reopener.driving());
    assertEquals("token-1-shutdown", gateway.opens.get(1).getResumeToken());
    assertTrue(seen.stream().anyMatch(d -> d.reason().endsWith("the gateway handed the session over: resuming it now")),
        "the robot was told why it holds: " + seen);

    // A loss without a hand-over waits for the backoff as before.
    gateway.hold("policy-service unavailable");
    server.kill();
    Await.until(() -> reopener.driving().reason().contains("opening a new session for the same task in"),
        () -> "backing off: " + reopener.driving());
    assertEquals(2, gateway.opens.size());
  }

  @Test
  void theReopenerPassesEveryMessageOfTheSessionOn() throws Exception {
    FakeGateway gateway = new FakeGateway();
    server = LoopbackServer.start(0, gateway);
    List<String> heard = new CopyOnWriteArrayList<>();
    SessionReopener reopener = SessionReopener.open(channel(server.port()), OPEN, new GatewaySession.Listener() {
      @Override
      public void onAccepted(io.vlaserve.planner.v1.SessionAccepted accepted) {
        heard.add("accepted");
      }

      @Override
      public void onSubgoal(io.vlaserve.planner.v1.SubgoalEvent event) {
        heard.add("subgoal");
      }

      @Override
      public void onState(io.vlaserve.controller.v1.ExecutionState state) {
        heard.add("state");
      }

      @Override
      public void onStepForwarded(io.vlaserve.planner.v1.StepForwarded step) {
        heard.add("step " + step.getObservationSequence());
      }

      @Override
      public void onHold(io.vlaserve.planner.v1.HoldNotice hold) {
        heard.add("hold");
      }

      @Override
      public void onOutcome(io.vlaserve.planner.v1.SessionOutcome outcome) {
        heard.add("outcome");
      }
    }, GatewaySession.Options.defaults(), QUICK);
    Await.until(() -> reopener.driving().driven(), () -> "driven: " + reopener.driving());
    gateway.stepForwarded(7);
    gateway.hold("policy-service unavailable");
    gateway.finish(Outcome.OUTCOME_SUCCEEDED);
    reopener.awaitEnded(Await.TIMEOUT);
    assertEquals(List.of("accepted", "subgoal", "state", "step 7", "hold", "outcome"), heard);
  }

  @Test
  void aGatewayAtCapacityIsOpenedAgainOnlyAfterTheDelayItAskedFor() throws Exception {
    com.google.rpc.Status full = com.google.rpc.Status.newBuilder()
        .setCode(Status.Code.RESOURCE_EXHAUSTED.value()).setMessage("planner-gateway is at capacity")
        .addDetails(com.google.protobuf.Any.pack(com.google.rpc.RetryInfo.newBuilder()
            .setRetryDelay(com.google.protobuf.Duration.newBuilder().setSeconds(60)).build()))
        .build();
    FakeGateway gateway = new FakeGateway(io.grpc.protobuf.StatusProto.toStatusRuntimeException(full));
    server = LoopbackServer.start(0, gateway);
    GatewaySession alone = GatewaySession.open(channel(server.port()), OPEN, listener);
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, alone.awaitClosed(Await.TIMEOUT).getCode());
    assertEquals(java.util.Optional.of(Duration.ofSeconds(60)), alone.retryAfter());

    SessionReopener reopener = SessionReopener.open(channel(server.port()), OPEN, listener,
        GatewaySession.Options.defaults(), QUICK);
    Await.until(() -> reopener.driving().reason().contains("opening a new session"), () -> "waiting to reopen: "
        + reopener.driving());
    assertTrue(reopener.driving().reason().contains("in 60000 ms"), "the gateway's delay, not the quick backoff: "
        + reopener.driving().reason());
    assertEquals(2, gateway.opens.size(), "one open each, no early retry");
    reopener.close();
  }

  @Test
  void aRefusedResumeGoesOnInANewSessionForTheSameTask() throws Exception {
    FakeGateway gateway = new FakeGateway();
    gateway.refuseResumesWith = Status.UNAUTHENTICATED.withDescription("resume token expired");
    server = LoopbackServer.start(0, gateway);
    SessionReopener reopener = SessionReopener.open(channel(server.port()), OPEN, listener,
        GatewaySession.Options.defaults(), QUICK);
    Await.until(() -> reopener.driving().driven() && gateway.opens.size() == 2,
        () -> "a new session drives the robot: " + reopener.driving() + ", opens " + gateway.opens.size());
    assertEquals(List.of("stale-token", ""), gateway.opens.stream().map(SessionOpen::getResumeToken).toList(),
        "the refused token is not tried again");
    assertEquals(OPEN.getTask(), gateway.opens.get(1).getTask());
    assertTrue(seen.stream().anyMatch(d -> d.reason().startsWith("the gateway refused to resume the session")),
        "the robot was told why it held: " + seen);
    assertTrue(seen.stream().noneMatch(Driving::ended), "the listener never saw an end: " + seen);
    reopener.close();
  }

  @Test
  void aRefusedSessionIsNotReopened() throws Exception {
    FakeGateway gateway = new FakeGateway(Status.INVALID_ARGUMENT.withDescription("open.task is empty"));
    server = LoopbackServer.start(0, gateway);
    SessionReopener reopener = SessionReopener.open(channel(server.port()), OPEN.toBuilder().clearResumeToken().build(), listener,
        GatewaySession.Options.defaults(), QUICK);
    Driving last = reopener.awaitEnded(Await.TIMEOUT);
    assertEquals(Status.Code.INVALID_ARGUMENT, last.status().getCode());
    assertEquals(1, reopener.sessionsOpened());
    assertEquals(1, gateway.opens.size());
  }

  @Test
  void theReopenerGivesUpClearlyWhenNoGatewayAnswers() throws Exception {
    server = LoopbackServer.start(0, new FakeGateway());
    int port = server.port();
    server.kill();
    server = null;
    SessionReopener reopener = SessionReopener.open(channel(port), OPEN, listener, GatewaySession.Options.defaults(),
        QUICK.withGiveUpAfter(Duration.ofMillis(300)));
    Driving last = reopener.awaitEnded(Await.TIMEOUT);
    assertEquals(Status.Code.UNAVAILABLE, last.status().getCode());
    assertTrue(last.reason().startsWith("gave up opening a new session"), last.reason());
    assertTrue(reopener.sessionsOpened() >= 2, "it retried first: " + reopener.sessionsOpened());
  }
}
