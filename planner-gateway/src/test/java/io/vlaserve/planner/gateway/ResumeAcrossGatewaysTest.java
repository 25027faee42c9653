package io.vlaserve.planner.gateway;

import static io.vlaserve.planner.gateway.SessionHarness.open;
import static io.vlaserve.planner.gateway.SessionHarness.plan;
import static io.vlaserve.planner.gateway.SessionHarness.signal;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.ACCEPTED;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.HOLD;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.PLAN;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.STATE;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.SUBGOAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.vlaserve.planner.resume.KeyRing;
import io.vlaserve.planner.resume.ResumeTokens;
import io.vlaserve.planner.session.SessionSnapshot;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.testing.Await;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A robot's session moves from gateway A to gateway B (same keys, stand-ins scripted alike) with
 * the token A gave it, and tokens that must not resume are refused with their status.
 */
class ResumeAcrossGatewaysTest {
  private static final String TASK = "pick up the red block";
  private static final Instant NOW = Instant.parse("2026-12-07T00:00:00Z");

  @TempDir
  Path keys;
  private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);

  @BeforeEach
  void writeKeys() throws Exception {
    byte[] secret = new byte[32];
    new Random(18).nextBytes(secret);
    Files.writeString(keys.resolve(KeyRing.SIGNING_KEY_FILE), "k1\n", StandardCharsets.US_ASCII);
    Files.writeString(keys.resolve("k1"), Base64.getEncoder().encodeToString(secret), StandardCharsets.US_ASCII);
  }

  private SessionHarness gateway() throws Exception {
    SessionHarness gateway = new SessionHarness(keys, clock);
    gateway.bridge.answerStarts = true;
    gateway.planner.fallback = plan("", "move to the red block", "grasp the red block");
    return gateway;
  }

  /** The next message that is not an execution state (those interleave as the bridge reports). */
  private static GatewayMessage next(SessionHarness.RobotStream robot, GatewayMessage.MessageCase expected)
      throws InterruptedException {
    GatewayMessage message;
    do {
      message = SessionHarness.next(robot.received, expected.toString());
    } while (message.getMessageCase() == STATE && expected != STATE);
    assertEquals(expected, message.getMessageCase(), message.toString());
    return message;
  }

  private SessionSnapshot read(String token, String robotId) throws Exception {
    return new ResumeTokens(KeyRing.fromDirectory(keys), clock, SessionHarness.TOKEN_LIFETIME, Duration.ZERO)
        .verify(token, robotId).snapshot();
  }

  private static SessionOpen resume(String robotId, String token) {
    return open(robotId, "").toBuilder().setResumeToken(token).build();
  }

  /** Runs a session on {@code gateway} to its first subgoal and returns the token of that subgoal's start. */
  private static String startedToken(SessionHarness gateway, SessionHarness.RobotStream robot) throws Exception {
    assertFalse(next(robot, ACCEPTED).getAccepted().getResumeToken().isEmpty(), "a running session's token");
    next(robot, PLAN);
    GatewayMessage started = next(robot, SUBGOAL);
    assertEquals("1", started.getSubgoal().getSubgoalId());
    gateway.policy.nextCall();
    return started.getSubgoal().getResumeToken();
  }

  private static Status refused(SessionHarness gateway, SessionOpen open) throws Exception {
    return gateway.open(open).awaitClosed();
  }

  private static void assertRefused(Status.Code code, String reason, Status status) {
    assertEquals(code, status.getCode(), status.toString());
    assertTrue(status.getDescription().startsWith("resume refused (" + reason + "): "), status.toString());
  }

  @Test
  void aSessionGoesOnAtAnotherGatewayWithTheSameSubgoalAndItsBudgetAndANewToken() throws Exception {
    try (SessionHarness a = gateway(); SessionHarness b = gateway()) {
      SessionHarness.RobotStream robot = a.open(open("arm-1", TASK));
      String token = startedToken(a, robot);
      SessionSnapshot before = read(token, "arm-1");
      assertEquals(0, before.connectionEpoch());
      robot.requests.onCompleted();
      assertEquals(Status.Code.OK, robot.awaitClosed().getCode());

      SessionHarness.RobotStream again = b.open(resume("arm-1", token));
      GatewayMessage accepted = next(again, ACCEPTED);
      assertEquals(before.sessionId(), accepted.getAccepted().getSessionId());
      String newToken = accepted.getAccepted().getResumeToken();
      assertNotEquals(token, newToken);
      SessionSnapshot after = read(newToken, "arm-1");
      assertEquals(1, after.connectionEpoch(), "the next connection");
      assertEquals(before.subgoal().id(), after.subgoal().id(), "the same subgoal");
      assertEquals(before.revision(), after.revision(), "the same plan");
      assertTrue(after.budgetLeft().compareTo(before.budgetLeft()) <= 0
          && after.budgetLeft().compareTo(before.budgetLeft().minus(Duration.ofMinutes(1))) > 0,
          "the budget carried: " + before.budgetLeft() + " then " + after.budgetLeft());
      assertTrue(after.elapsed().compareTo(before.elapsed()) >= 0);
      SessionRequest start = b.policy.nextCall().next();
      assertEquals("move to the red block", start.getStart().getInstruction(), "the policy resumes the subgoal");
      var execute = b.bridge.nextExecution().next().getStart();
      assertEquals(before.sessionId(), execute.getSessionId(), "the bridge learns whose connection drives the robot");
      assertEquals(1, execute.getConnectionEpoch());
      assertTrue(b.planner.requests.isEmpty(), "no plan made: " + b.planner.requests);
      assertEquals(1, b.count("vla.gateway.resumes", "result", "ok"));

      // A subgoal change refreshes the token, on the resumed connection.
      again.send(signal("1", true, "at the block"));
      assertEquals(SubgoalStatus.SUBGOAL_STATUS_COMPLETED, next(again, SUBGOAL).getSubgoal().getStatus());
      GatewayMessage second = next(again, SUBGOAL);
      assertEquals("2", second.getSubgoal().getSubgoalId());
      assertEquals(SubgoalStatus.SUBGOAL_STATUS_STARTED, second.getSubgoal().getStatus());
      SessionSnapshot refreshed = read(second.getSubgoal().getResumeToken(), "arm-1");
      assertEquals("2", refreshed.subgoal().id());
      assertEquals(1, refreshed.connectionEpoch());

      // The token A gave works once: B resumed from it.
      again.requests.onCompleted();
      again.awaitClosed();
      Await.until(() -> b.activeSessions() == 0, "the resumed session to end");
      assertRefused(Status.Code.FAILED_PRECONDITION, "replayed", refused(b, resume("arm-1", token)));
      assertEquals(1, b.count("vla.gateway.resumes", "result", "replayed"));
    }
  }

  @Test
  void aResumedSessionContinuesItsTraceAndItsStepsLinkToIt() throws Exception {
    try (SessionHarness a = gateway(); SessionHarness b = gateway()) {
      SessionHarness.RobotStream robot = a.open(open("arm-1", TASK));
      String token = startedToken(a, robot);
      robot.requests.onCompleted();
      robot.awaitClosed();
      Await.until(() -> a.spans.named("robot-session").size() == 1, "A's session span ends with the session");
      var atA = a.spans.named("robot-session").get(0);

      SessionHarness.RobotStream again = b.open(resume("arm-1", token));
      next(again, ACCEPTED);
      SessionHarness.ScriptedPolicy.PolicyCall policy = b.policy.nextCall();
      policy.next(); // start
      policy.next(); // the instruction, once ready
      again.send(SessionHarness.observation(5));
      assertEquals(5, policy.next().getObservation().getSequence());
      again.requests.onCompleted();
      again.awaitClosed();
      Await.until(() -> b.spans.named("robot-session").size() == 1, "B's session span ends with the session");
      var atB = b.spans.named("robot-session").get(0);
      assertEquals(atA.getTraceId(), atB.getTraceId(), "one trace across the reconnect");
      assertEquals(atA.getSpanId(), atB.getParentSpanId(), "B's part is a child of A's");
      assertEquals(1L, atB.getAttributes().get(io.opentelemetry.api.common.AttributeKey.longKey("vla.connection")));
      Await.until(() -> !b.spans.named("control-step").isEmpty(), "the step's span");
      var step = b.spans.named("control-step").get(0);
      assertNotEquals(atB.getTraceId(), step.getTraceId(), "a step is a trace of its own");
      assertEquals(atB.getSpanContext(), step.getLinks().get(0).getSpanContext(), "linked to the session");
    }
  }

  @Test
  void aFrameSentWhileTheSessionIsRestoredGoesToThePolicyWithoutWaitingForTheNext() throws Exception {
    try (SessionHarness a = gateway(); SessionHarness b = gateway()) {
      String token = startedToken(a, a.open(open("arm-1", TASK)));
      java.util.concurrent.CountDownLatch metadata = new java.util.concurrent.CountDownLatch(1);
      b.policy.metadataGate = metadata;
      SessionHarness.RobotStream robot = b.open(resume("arm-1", token));
      robot.send(SessionHarness.observation(7)); // while B is still asking policy-service
      // A stream's messages are handled in order: once the probe is answered, the frame has arrived.
      robot.send(io.vlaserve.planner.v1.RobotMessage.newBuilder().setClockProbe(
          io.vlaserve.planner.v1.ClockProbe.newBuilder().setProbeId(1)).build());
      assertEquals(1, next(robot, GatewayMessage.MessageCase.CLOCK_REPLY).getClockReply().getProbeId());
      metadata.countDown();
      next(robot, ACCEPTED);
      SessionHarness.ScriptedPolicy.PolicyCall policy = b.policy.nextCall();
      assertEquals("move to the red block", policy.next().getStart().getInstruction());
      assertEquals("move to the red block", policy.next().getInstruction());
      assertEquals(7, policy.next().getObservation().getSequence(), "the frame held during the restore");
    }
  }

  @Test
  void aResumedSessionReplansItsOwnTaskWhenASubgoalFails() throws Exception {
    try (SessionHarness a = gateway(); SessionHarness b = gateway()) {
      String token = startedToken(a, a.open(open("arm-1", TASK)));
      SessionHarness.RobotStream robot = b.open(resume("arm-1", token));
      next(robot, ACCEPTED);
      b.policy.nextCall();
      robot.send(signal("1", false, "dropped it"));
      assertEquals(SubgoalStatus.SUBGOAL_STATUS_FAILED, next(robot, SUBGOAL).getSubgoal().getStatus());
      assertEquals(TASK, next(robot, PLAN).getPlan().getTask(), "the plan names the token's task");
      assertEquals(TASK, b.planner.requests.get(0).task());
    }
  }

  @Test
  void aRobotTheBridgeHoldsHaltedResumesHaltedAndExecutesOnlyAfterItsResume() throws Exception {
    try (SessionHarness a = gateway(); SessionHarness b = gateway()) {
      String token = startedToken(a, a.open(open("arm-1", TASK)));
      b.bridge.mode = ExecutionMode.EXECUTION_MODE_HALTED;

      SessionHarness.RobotStream robot = b.open(resume("arm-1", token));
      SessionSnapshot resumed = read(next(robot, ACCEPTED).getAccepted().getResumeToken(), "arm-1");
      assertTrue(resumed.halted(), "restored halted");
      assertEquals(1, resumed.connectionEpoch());
      assertTrue(next(robot, HOLD).getHold().getReason().contains("send `resume`"));
      // With one bridge the resume opens execution at once, without asking its mode first; the
      // bridge refuses it for the halted robot, and the session goes on halted.
      assertTrue(b.bridge.nextExecution().next().hasStart(), "the Execute stream the bridge refused");
      assertTrue(b.bridge.executions.isEmpty(), "no other Execute stream while the bridge holds the robot");
      assertEquals(1, b.count("vla.gateway.resumes", "result", "ok"));

      b.bridge.mode = ExecutionMode.EXECUTION_MODE_IDLE;
      robot.send(RobotMessage.newBuilder().setResume(true).build());
      SessionHarness.next(b.bridge.resumes, "the robot's resume at the bridge");
      assertTrue(b.bridge.nextExecution().next().hasStart(), "execution opens at the robot's resume");
      assertTrue(b.planner.requests.isEmpty(), "no plan made: " + b.planner.requests);
    }
  }

  private SessionHarness shardedGateway() throws Exception {
    SessionHarness gateway = SessionHarness.sharded(keys, clock);
    for (SessionHarness.ScriptedBridge shard : new SessionHarness.ScriptedBridge[] {gateway.bridge,
        gateway.secondBridge}) {
      shard.answerStarts = true;
      shard.robots = java.util.Set.of();
    }
    gateway.planner.fallback = plan("", "move to the red block", "grasp the red block");
    return gateway;
  }

  @Test
  void withShardedBridgesTheTokenNamesTheRobotsBridgeAndTheNextGatewayOpensThereWithoutLooking() throws Exception {
    try (SessionHarness a = shardedGateway(); SessionHarness b = shardedGateway()) {
      a.secondBridge.robots = java.util.Set.of("arm-1");
      b.secondBridge.robots = java.util.Set.of("arm-1");
      String token = startedToken(a, a.open(open("arm-1", TASK)));
      assertEquals("bridge-2", read(token, "arm-1").bridge());

      SessionHarness.RobotStream robot = b.open(resume("arm-1", token));
      assertEquals(1, read(next(robot, ACCEPTED).getAccepted().getResumeToken(), "arm-1").connectionEpoch());
      assertTrue(b.secondBridge.nextExecution().next().hasStart(), "execution opened at the bridge the token names");
      assertEquals(0, b.bridge.stateAsks.get() + b.secondBridge.stateAsks.get(), "no bridge asked where the robot is");
      assertTrue(b.bridge.executions.isEmpty());
    }
  }

  @Test
  void aStaleBridgeHintSendsTheResumeLookingForTheRobotOnce() throws Exception {
    try (SessionHarness a = shardedGateway(); SessionHarness b = shardedGateway()) {
      a.secondBridge.robots = java.util.Set.of("arm-1");
      b.bridge.robots = java.util.Set.of("arm-1"); // moved to bridge-1 meanwhile
      String token = startedToken(a, a.open(open("arm-1", TASK)));

      SessionHarness.RobotStream robot = b.open(resume("arm-1", token));
      SessionSnapshot resumed = read(next(robot, ACCEPTED).getAccepted().getResumeToken(), "arm-1");
      assertEquals("bridge-1", resumed.bridge(), "the next token names where the robot is now");
      assertTrue(b.secondBridge.nextExecution().next().hasStart(), "tried where the token said first");
      assertTrue(b.bridge.nextExecution().next().hasStart(), "then opened where the robot is");
      assertEquals(1, b.count("vla.gateway.resumes", "result", "ok"));
    }
  }

  @Test
  void tokensThatMustNotResumeAreRefusedWithTheirStatusAndTakeNoSession() throws Exception {
    try (SessionHarness a = gateway(); SessionHarness b = gateway()) {
      String token = startedToken(a, a.open(open("arm-1", TASK)));
      SessionSnapshot snapshot = read(token, "arm-1");

      byte[] otherSecret = new byte[32];
      new Random(7).nextBytes(otherSecret);
      String forged = new ResumeTokens(new KeyRing("k1", Map.of("k1", otherSecret)), clock,
          SessionHarness.TOKEN_LIFETIME, Duration.ZERO).issue(snapshot);
      assertRefused(Status.Code.UNAUTHENTICATED, "bad_signature", refused(b, resume("arm-1", forged)));

      String expired = new ResumeTokens(KeyRing.fromDirectory(keys), Clock.fixed(NOW.minus(
          SessionHarness.TOKEN_LIFETIME).minusSeconds(1), ZoneOffset.UTC), SessionHarness.TOKEN_LIFETIME, Duration.ZERO)
          .issue(snapshot);
      assertRefused(Status.Code.UNAUTHENTICATED, "expired", refused(b, resume("arm-1", expired)));

      assertRefused(Status.Code.PERMISSION_DENIED, "other_robot", refused(b, resume("arm-2", token)));
      assertRefused(Status.Code.INVALID_ARGUMENT, "malformed", refused(b, resume("arm-1", token.substring(0, 40))));

      // Another stream drives the robot (a racing resume elsewhere): the open ends, the session is not taken.
      b.bridge.refuseStarts = Status.FAILED_PRECONDITION.withDescription("robot arm-1 is already driven by another"
          + " Execute stream; close that stream first");
      Status busy = refused(b, resume("arm-1", token));
      assertEquals(Status.Code.ABORTED, busy.getCode(), busy.toString());
      assertTrue(busy.getDescription().contains("did not take the session"), busy.toString());

      // That attempt used the token up on B.
      b.bridge.refuseStarts = null;
      assertRefused(Status.Code.FAILED_PRECONDITION, "replayed", refused(b, resume("arm-1", token)));

      assertEquals(0, b.activeSessions(), "no session taken");
      assertTrue(b.planner.requests.isEmpty());
      for (String result : new String[] {"bad_signature", "expired", "other_robot", "malformed", "robot_busy",
          "replayed"}) {
        assertEquals(1, b.count("vla.gateway.resumes", "result", result), result);
      }
      assertEquals(0, b.count("vla.gateway.resumes", "result", "ok"));
    }
  }

  @Test
  void aResumeTheBridgeLeavesUnansweredEndsAfterTheCallTimeoutWithoutASession() throws Exception {
    try (SessionHarness a = gateway();
        SessionHarness b = new SessionHarness(3, SessionHarness.FAILOVER, Duration.ofSeconds(2),
            SessionHarness.resume(keys), clock)) {
      String token = startedToken(a, a.open(open("arm-1", TASK)));
      Status unanswered = refused(b, resume("arm-1", token));
      assertEquals(Status.Code.UNAVAILABLE, unanswered.getCode(), unanswered.toString());
      assertTrue(unanswered.getDescription().contains("no answer on the Execute stream within 2000 ms"),
          unanswered.toString());
      assertEquals("completed", b.bridge.nextExecution().ended.get(SessionHarness.PATIENCE.toMillis(),
          java.util.concurrent.TimeUnit.MILLISECONDS), "the Execute stream closed");
      assertEquals(0, b.activeSessions());
      assertEquals(1, b.count("vla.gateway.resumes", "result", "execution_failed"));
    }
  }

  @Test
  void aGatewayWithoutKeysResumesItsOwnTokensOnly() throws Exception {
    try (SessionHarness a = new SessionHarness(); SessionHarness b = new SessionHarness()) {
      a.bridge.answerStarts = true;
      String token = startedToken(a, a.open(open("arm-1", TASK)));
      assertRefused(Status.Code.UNAUTHENTICATED, "bad_signature", refused(b, resume("arm-1", token)));
    }
  }

  @Test
  void newKeysInTheDirectoryAreReadOnceTheyChange() throws Exception {
    GatewayResume resume = new GatewayResume(SessionHarness.resume(keys), clock);
    assertFalse(resume.reloadIfChanged(), "nothing changed");
    ResumeTokens first = resume.tokens();
    byte[] secret = new byte[32];
    new Random(2).nextBytes(secret);
    Files.writeString(keys.resolve("k2"), Base64.getEncoder().encodeToString(secret), StandardCharsets.US_ASCII);
    Files.writeString(keys.resolve(KeyRing.SIGNING_KEY_FILE), "k2\n", StandardCharsets.US_ASCII);
    assertTrue(resume.reloadIfChanged());
    ResumeTokens rotated = resume.tokens();
    assertNotSame(first, rotated);
    Files.writeString(keys.resolve(KeyRing.SIGNING_KEY_FILE), "k3\n", StandardCharsets.US_ASCII);
    assertFalse(resume.reloadIfChanged(), "a broken directory keeps the keys in use");
    assertSame(rotated, resume.tokens());
  }
}
