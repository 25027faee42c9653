package io.vlaserve.planner.gateway;

import static io.vlaserve.planner.gateway.SessionHarness.observation;
import static io.vlaserve.planner.gateway.SessionHarness.open;
import static io.vlaserve.planner.gateway.SessionHarness.plan;
import static io.vlaserve.planner.gateway.SessionHarness.signal;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.ACCEPTED;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.CLOCK_REPLY;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.HOLD;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.OUTCOME;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.PLAN;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.SAFETY_EVENT;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.STATE;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.STEP_FORWARDED;
import static io.vlaserve.planner.v1.GatewayMessage.MessageCase.SUBGOAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Timestamp;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.controller.v1.ChunkAccepted;
import io.vlaserve.controller.v1.ChunkRejected;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.controller.v1.SafetyEventKind;
import io.vlaserve.planner.PlannedSubgoal;
import io.vlaserve.planner.PlannedTask;
import io.vlaserve.planner.PlanningException;
import io.vlaserve.planner.PlanningRequest;
import io.vlaserve.planner.SubgoalFailure;
import io.vlaserve.planner.gateway.SessionHarness.RobotStream;
import io.vlaserve.planner.gateway.SessionHarness.ScriptedBridge.ExecuteCall;
import io.vlaserve.planner.gateway.SessionHarness.ScriptedPolicy.PolicyCall;
import io.vlaserve.planner.v1.CameraRequirement;
import io.vlaserve.planner.v1.ChunkContinuation;
import io.vlaserve.planner.v1.ClockProbe;
import io.vlaserve.planner.v1.ClockProbeReply;
import io.vlaserve.planner.v1.EndCause;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.PlanRequest;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.Subgoal;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.ObservationError;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.proto.ProtoTimes;
import io.vlaserve.testing.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A robot session over a loopback socket, end to end through the gateway's service: what the robot
 * is sent and in which order, what policy-service and the bridge are asked, the status the stream
 * ends with, and the metrics and spans left behind. The stand-ins are scripted; every wait is for
 * a message or a condition, never for time to pass.
 */
class RobotSessionTest {
  private static final String MOVE = "move to the red block";
  private static final String GRASP = "grasp the red block";
  private static final String TASK = "pick up the red block";
  /** 100 000 steps of 100 ms, times 1.5. */
  private static final com.google.protobuf.Duration LONG_BUDGET = ProtoTimes.duration(Duration.ofSeconds(15_000));

  private static Subgoal subgoal(String id, String instruction) {
    return Subgoal.newBuilder().setId(id).setInstruction(instruction).setMaxSteps(100_000).setMaxDuration(LONG_BUDGET)
        .build();
  }

  private static SubgoalEvent event(RobotStream robot) throws InterruptedException {
    return robot.next(SUBGOAL).getSubgoal();
  }

  private static void assertEvent(SubgoalEvent event, String id, SubgoalStatus status, int attempt, String reason) {
    assertEquals(id, event.getSubgoalId(), event.toString());
    assertEquals(status, event.getStatus(), event.toString());
    assertEquals(attempt, event.getAttempt(), event.toString());
    assertEquals(reason, event.getReason(), event.toString());
  }

  private static void assertOutcome(SessionOutcome outcome, Outcome expected, EndCause cause, String reason,
      int completed, int replans) {
    assertEquals(expected, outcome.getOutcome(), outcome.toString());
    assertEquals(cause, outcome.getCause(), outcome.toString());
    assertEquals(reason, outcome.getReason());
    assertEquals(completed, outcome.getSubgoalsCompleted(), outcome.toString());
    assertEquals(replans, outcome.getReplans(), outcome.toString());
  }

  /** Opens a session for arm-1 and reads accepted, the first plan and the first subgoal's start. */
  private static RobotStream started(SessionHarness gateway, SessionOpen open) throws InterruptedException {
    RobotStream robot = gateway.open(open);
    robot.next(ACCEPTED);
    robot.next(PLAN);
    assertEvent(event(robot), "1", SubgoalStatus.SUBGOAL_STATUS_STARTED, 1, "");
    return robot;
  }

  /** The policy session the gateway opened, read up to the instruction it re-sends when the session is ready. */
  private static PolicyCall readyPolicy(SessionHarness gateway, String instruction) throws InterruptedException {
    PolicyCall policy = gateway.policy.nextCall();
    assertEquals(instruction, policy.next().getStart().getInstruction());
    assertEquals(instruction, policy.next().getInstruction());
    return policy;
  }

  private static ExecuteCall execution(SessionHarness gateway) throws InterruptedException {
    ExecuteCall execution = gateway.bridge.nextExecution();
    assertTrue(execution.next().hasStart());
    return execution;
  }

  @Test
  void aPlanRunsSubgoalBySubgoalUntilEveryOneCompleted() throws Exception {
    try (SessionHarness gateway = new SessionHarness()) {
      gateway.planner.answers.add(plan("two steps", MOVE, GRASP));
      RobotStream robot = gateway.open(open("arm-1", TASK).toBuilder().setScene("a red block").build());

      SessionAccepted accepted = robot.next(ACCEPTED).getAccepted();
      assertFalse(accepted.getSessionId().isEmpty());
      assertEquals(ProtoTimes.duration(Duration.ofMillis(100)), accepted.getObservationPeriod());
      assertEquals(ProtoTimes.duration(Duration.ofMillis(500)), accepted.getObservationValidity());
      assertEquals(List.of(
          CameraRequirement.newBuilder().setName("third_person").setWidth(64).setHeight(48)
              .setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8).build(),
          CameraRequirement.newBuilder().setName("wrist").setWidth(32).setHeight(32)
              .setEncoding(ImageEncoding.IMAGE_ENCODING_JPEG).build()), accepted.getCamerasList());
      assertEquals(Plan.newBuilder().setTask(TASK).setPlanner("scripted").setRevision(0)
          .setReason("task start; two steps").addSubgoals(subgoal("1", MOVE)).addSubgoals(subgoal("2", GRASP)).build(),
          robot.next(PLAN).getPlan());
      SubgoalEvent first = event(robot);
      assertEvent(first, "1", SubgoalStatus.SUBGOAL_STATUS_STARTED, 1, "");
      assertEquals(0, first.getSteps());
      assertEquals(PlanningRequest.initial(TASK, "a red block", gateway.policy.metadata.getSkillsList()),
          gateway.planner.requests.get(0));

      PolicyCall policy = gateway.policy.nextCall();
      SessionRequest start = policy.next();
      assertEquals(RobotIdentity.newBuilder().setRobotId("arm-1").build(), start.getStart().getRobot());
      assertEquals(MOVE, start.getStart().getInstruction());
      assertEquals(ProtoTimes.duration(Duration.ofMillis(500)), start.getStart().getObservationDeadline());
      assertEquals(MOVE, policy.next().getInstruction(), "the instruction is sent again once the session is ready");
      ExecuteCall execution = gateway.bridge.nextExecution();
      ExecuteRequest executeStart = execution.next();
      assertEquals("arm-1", executeStart.getStart().getRobot().getRobotId());
      assertEquals(ProtoTimes.duration(Duration.ofMillis(100)), executeStart.getStart().getStatePeriod());

      robot.send(observation(1));
      SessionRequest sent = policy.next();
      assertEquals(1, sent.getObservation().getSequence());
      assertTrue(sent.getTraceContextMap().containsKey("traceparent"), sent.toString());
      ExecuteRequest chunk = execution.next();
      assertEquals(1, chunk.getChunk().getChunkId());
      assertEquals(sent.getTraceContextMap().get("traceparent"), chunk.getTraceContextMap().get("traceparent"),
          "one control step is one trace");

      robot.send(signal("1", true, "at the block"));
      assertEvent(event(robot), "1", SubgoalStatus.SUBGOAL_STATUS_COMPLETED, 1, "at the block");
      assertEvent(event(robot), "2", SubgoalStatus.SUBGOAL_STATUS_STARTED, 1, "");
      assertEquals(GRASP, policy.next().getInstruction());

      robot.send(signal("2", true, ""));
      assertEvent(event(robot), "2", SubgoalStatus.SUBGOAL_STATUS_COMPLETED, 1, "");
      assertOutcome(robot.next(OUTCOME).getOutcome(), Outcome.OUTCOME_SUCCEEDED, EndCause.END_CAUSE_TASK_COMPLETED,
          "every subgoal completed", 2, 0);
      assertEquals(Status.Code.OK, robot.awaitClosed().getCode());
      assertEquals("completed", execution.ended.get(30, TimeUnit.SECONDS), "closing Execute holds the robot");
      assertEquals("completed", policy.ended.get(30, TimeUnit.SECONDS));

      assertEquals(1, gateway.count("vla.gateway.sessions.finished", "outcome", "succeeded", "cause", "task_completed"));
      assertEquals(2, gateway.count("vla.gateway.subgoals", "status", "started"));
      assertEquals(2, gateway.count("vla.gateway.subgoals", "status", "completed"));
      assertEquals(0, gateway.activeSessions());
      assertEquals(1, gateway.meters.get("vla.gateway.planning").tags("planner", "scripted", "result", "ok").timer()
          .count());
      assertTrue(gateway.meters.get("vla.gateway.step.latency").timer().count() >= 1);

      SpanData step = gateway.spans.named("control-step").get(0);
      assertEquals("arm-1", step.getAttributes().get(AttributeKey.stringKey("vla.robot_id")));
      assertEquals(accepted.getSessionId(), step.getAttributes().get(AttributeKey.stringKey("vla.session_id")));
      assertEquals(1L, step.getAttributes().get(AttributeKey.longKey("vla.observation_sequence")));
      assertEquals(MOVE, step.getAttributes().get(AttributeKey.stringKey("vla.subgoal")));
      assertEquals(StatusCode.UNSET, step.getStatus().getStatusCode());
      assertEquals(sent.getTraceContextMap().get("traceparent").split("-")[1], step.getTraceId());
    }
  }

  @Test
  void asAskedEachForwardedChunkIsReportedWithItsObservation() throws Exception {
    try (SessionHarness gateway = new SessionHarness()) {
      RobotStream robot = started(gateway, open("arm-1", TASK).toBuilder().setReportSteps(true).build());
      readyPolicy(gateway, MOVE);
      execution(gateway);
      robot.send(observation(5));
      assertEquals(5, robot.next(STEP_FORWARDED).getStepForwarded().getObservationSequence());
    }
  }

  @Nested
  class Replanning {
    @Test
    void aFailedSubgoalIsReplannedUntilTheAllowedReplansAreUsedUp() throws Exception {
      try (SessionHarness gateway = new SessionHarness(1, SessionHarness.FAILOVER)) {
        gateway.planner.answers.add(plan("first", MOVE, GRASP));
        gateway.planner.answers.add(plan("retry", MOVE, GRASP));
        RobotStream robot = started(gateway, open("arm-1", TASK));
        robot.send(RobotMessage.newBuilder().setObservation(RobotObservation.newBuilder().setObservation(
            io.vlaserve.common.v1.Observation.newBuilder().setSequence(1)
                .setState(RobotState.newBuilder().setGripper(0.25)))).build());
        robot.send(signal("1", true, ""));
        assertEvent(event(robot), "1", SubgoalStatus.SUBGOAL_STATUS_COMPLETED, 1, "");
        assertEvent(event(robot), "2", SubgoalStatus.SUBGOAL_STATUS_STARTED, 1, "");

        robot.send(signal("2", false, "slipped"));
        assertEvent(event(robot), "2", SubgoalStatus.SUBGOAL_STATUS_FAILED, 1, "the robot reported failure: slipped");
        assertEquals(Plan.newBuilder().setTask(TASK).setPlanner("scripted").setRevision(1)
            .setReason("subgoal 2 'grasp the red block' the robot reported failure: slipped; retry")
            .addSubgoals(subgoal("3", MOVE)).addSubgoals(subgoal("4", GRASP)).build(), robot.next(PLAN).getPlan());
        // The attempt counts the instruction's completions so far (MOVE completed once).
        assertEvent(event(robot), "3", SubgoalStatus.SUBGOAL_STATUS_STARTED, 2, "");
        assertEquals(new PlanningRequest(TASK, "", gateway.policy.metadata.getSkillsList(),
                List.of(new PlannedSubgoal(MOVE, 100_000)),
                new SubgoalFailure(new PlannedSubgoal(GRASP, 100_000), "the robot reported failure: slipped"), 0.25),
            gateway.planner.requests.get(1));

        robot.send(signal("2", true, "late, for the old subgoal"));
        robot.send(signal("3", false, ""));
        assertEvent(event(robot), "3", SubgoalStatus.SUBGOAL_STATUS_FAILED, 2, "the robot reported failure");
        assertOutcome(robot.next(OUTCOME).getOutcome(), Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_SUBGOAL_FAILED,
            "subgoal 'move to the red block' the robot reported failure, and the 1 replan(s) allowed are used up", 1, 1);
        assertEquals(Status.Code.OK, robot.awaitClosed().getCode());
        assertEquals(1, gateway.count("vla.gateway.replans"));
        assertEquals(2, gateway.count("vla.gateway.subgoals", "status", "failed"));
        assertEquals(1, gateway.count("vla.gateway.sessions.finished", "outcome", "failed", "cause", "subgoal_failed"));
      }
    }

    @Test
    void aReplanThePlannerCannotMakeEndsTheSession() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.planner.answers.add(plan("", MOVE));
        gateway.planner.answers.add(new PlanningException(PlanningException.Kind.UNAVAILABLE, "no route to the LLM"));
        RobotStream robot = started(gateway, open("arm-1", TASK));
        robot.send(signal("1", false, "lost it"));
        assertEvent(event(robot), "1", SubgoalStatus.SUBGOAL_STATUS_FAILED, 1, "the robot reported failure: lost it");
        assertOutcome(robot.next(OUTCOME).getOutcome(), Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_PLANNER_FAILED,
            "subgoal 1 'move to the red block' the robot reported failure: lost it; replanning failed: no route to the LLM",
            0, 1);
        assertEquals(1, gateway.meters.get("vla.gateway.planning").tags("result", "unavailable").timer().count());
        assertEquals(1, gateway.count("vla.gateway.sessions.finished", "outcome", "failed", "cause", "planner_failed"));
      }
    }

    @Test
    void aSubgoalWhoseBudgetRunsOutTimesOutAndIsReplanned() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.policy.metadata = SessionHarness.ScriptedPolicy.metadata(Duration.ofMillis(1));
        gateway.planner.answers.add(new PlannedTask(List.of(new PlannedSubgoal(MOVE, 1)), "scripted", ""));
        RobotStream robot = gateway.open(open("arm-1", TASK));
        robot.next(ACCEPTED);
        assertEquals(ProtoTimes.duration(Duration.ofNanos(1_500_000)), robot.next(PLAN).getPlan().getSubgoals(0)
            .getMaxDuration());
        assertEvent(event(robot), "1", SubgoalStatus.SUBGOAL_STATUS_STARTED, 1, "");

        SubgoalEvent timedOut = event(robot);
        assertEvent(timedOut, "1", SubgoalStatus.SUBGOAL_STATUS_TIMED_OUT, 1,
            "timed out: its budget of 0.0 s (1 steps x 1.5) ran out");
        assertTrue(ProtoTimes.nanos(timedOut.getElapsed()) > 1_500_000, timedOut.toString());
        assertEquals(ProtoTimes.nanos(timedOut.getElapsed()) / 1_000_000, timedOut.getSteps());
        Plan replanned = robot.next(PLAN).getPlan();
        assertEquals("subgoal 1 'move to the red block' timed out: its budget of 0.0 s (1 steps x 1.5) ran out",
            replanned.getReason());
        assertEquals(List.of("2", "3"), replanned.getSubgoalsList().stream().map(Subgoal::getId).toList());
        assertEvent(event(robot), "2", SubgoalStatus.SUBGOAL_STATUS_STARTED, 1, "");
        assertEquals(1, gateway.count("vla.gateway.subgoals", "status", "timed_out"));
      }
    }
  }

  @Nested
  class Endings {
    @Test
    void aRobotThatCancelsIsToldItsOutcome() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        ExecuteCall execution = execution(gateway);
        robot.send(RobotMessage.newBuilder().setCancel("done").build());
        assertOutcome(robot.next(OUTCOME).getOutcome(), Outcome.OUTCOME_CANCELLED, EndCause.END_CAUSE_ROBOT_CANCELLED,
            "cancelled by the robot: done", 0, 0);
        assertEquals(Status.Code.OK, robot.awaitClosed().getCode());
        assertEquals("completed", execution.ended.get(30, TimeUnit.SECONDS));
        assertEquals(1, gateway.count("vla.gateway.sessions.finished", "outcome", "cancelled", "cause",
            "robot_cancelled"));
        Await.until(() -> gateway.activeSessions() == 0, "the session is no longer counted");
      }
    }

    @Test
    void aRobotThatClosesItsStreamEndsTheSessionWithoutAnOutcome() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        ExecuteCall execution = execution(gateway);
        robot.requests.onCompleted();
        assertEquals(Status.Code.OK, robot.awaitClosed().getCode());
        assertEquals("completed", execution.ended.get(30, TimeUnit.SECONDS));
        assertNull(robot.received.poll(), "no outcome for a robot that left");
        Await.until(() -> gateway.count("vla.gateway.sessions.finished", "outcome", "cancelled", "cause",
            "robot_cancelled") == 1, "the session is counted as cancelled");
      }
    }

    @Test
    void whenTheBridgeGoesAwayTheRobotHoldsAndExecutionOpensAgainWhereTheRobotIsDriven() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        ExecuteCall first = execution(gateway);
        PolicyCall policy = readyPolicy(gateway, MOVE);
        first.fail(Status.UNAVAILABLE.withDescription("the controller bridge is shutting down"));
        assertEquals("controller-bridge went away (UNAVAILABLE: the controller bridge is shutting down): the robot"
            + " holds; opening its execution again, at its bridge or another, for up to 60000 ms",
            robot.next(HOLD).getHold().getReason());

        ExecuteCall again = execution(gateway); // within 200 ms, after asking where the robot is driven
        again.answer(ExecuteResponse.newBuilder().setState(ExecutionState.newBuilder().setRobotId("arm-1")
            .setMode(ExecutionMode.EXECUTION_MODE_IDLE)).build());
        Await.until(() -> gateway.meters.find("vla.gateway.bridge.failover").timer() != null
            && gateway.meters.find("vla.gateway.bridge.failover").timer().count() == 1, "the failover is counted");
        robot.send(observation(4));
        assertEquals(4, policy.next().getObservation().getSequence());
        assertEquals(4, again.next().getChunk().getChunkId(), "chunks go down the new stream");
      }
    }

    @Test
    void whenTheBridgeEndsTheExecutionTheSessionFailsNamingTheBridgesAnswer() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        PolicyCall policy = readyPolicy(gateway, MOVE);
        execution(gateway).fail(Status.NOT_FOUND.withDescription("unknown robot arm-1"));
        assertOutcome(robot.next(OUTCOME).getOutcome(), Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_CONTROLLER,
            "controller-bridge ended robot arm-1's execution stream (NOT_FOUND: unknown robot arm-1)", 0, 0);
        assertEquals("completed", policy.ended.get(30, TimeUnit.SECONDS));
        assertEquals(1, gateway.count("vla.gateway.sessions.finished", "outcome", "failed", "cause", "controller"));
      }
    }

    @Test
    void onShutdownTheRobotIsToldToHoldAndToReconnect() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        gateway.service.shutdown();
        var hold = robot.next(HOLD).getHold();
        assertEquals("the gateway is shutting down: the robot is brought to a hold; reconnect with the newest resume"
            + " token to continue", hold.getReason());
        assertFalse(hold.getResumeToken().isEmpty(), "a token with the session as it stands, to resume with");
        Status closed = robot.awaitClosed();
        assertEquals(Status.Code.UNAVAILABLE, closed.getCode());
        assertEquals("the gateway is shutting down; the robot was told to hold. Reconnect with the session's newest"
            + " resume token: a replica holding the same resume keys continues the same subgoal (robot-client's"
            + " SessionReopener does this)", closed.getDescription());
        assertEquals(1, gateway.count("vla.gateway.sessions.finished", "outcome", "shutdown", "cause", "unspecified"));
        Status refused = gateway.open(open("arm-2", TASK)).awaitClosed();
        assertEquals(Status.Code.UNAVAILABLE, refused.getCode());
        assertEquals("the gateway is shutting down; connect to another replica", refused.getDescription());
      }
    }
    @Test
    void onShutdownTheRobotIsToldToReconnectOnlyOnceTheBridgeHasLetGoOfIt() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        ExecuteCall execution = execution(gateway);
        execution.deferCompletion = true;
        Thread shutdown = Thread.ofPlatform().start(gateway.service::shutdown);
        assertEquals("completed", execution.ended.get(30, TimeUnit.SECONDS), "the Execute stream is closed first");
        // The bridge has not answered the close: a replica resuming now would find the robot claimed.
        assertTrue(robot.received.stream().noneMatch(GatewayMessage::hasHold), "no hold before the bridge let go");
        assertTrue(shutdown.isAlive(), "the shutdown waits for the bridge");
        execution.complete();
        assertFalse(robot.next(HOLD).getHold().getResumeToken().isEmpty());
        assertEquals(Status.Code.UNAVAILABLE, robot.awaitClosed().getCode());
        shutdown.join();
      }
    }

    @Test
    void aBridgeThatNeverLetsGoDelaysTheShutdownOnlyByTheGrace() throws Exception {
      try (SessionHarness gateway = new SessionHarness(3, SessionHarness.FAILOVER, SessionHarness.CALL_TIMEOUT,
          SessionHarness.resume(null), java.time.Clock.systemUTC(), Duration.ofMillis(200))) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        execution(gateway).deferCompletion = true;
        gateway.service.shutdown();
        assertFalse(robot.next(HOLD).getHold().getResumeToken().isEmpty(), "told to reconnect after the grace");
        assertEquals(Status.Code.UNAVAILABLE, robot.awaitClosed().getCode());
      }
    }
  }

  @Nested
  class PolicyService {
    @Test
    void whenThePolicyGoesAwayTheRobotHoldsAndTheSessionGoesOnOnceItIsBack() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        ExecuteCall execution = execution(gateway);
        PolicyCall first = readyPolicy(gateway, MOVE);
        gateway.policy.refuseSessions = Status.UNAVAILABLE.withDescription("restarting");
        first.fail(Status.UNAVAILABLE.withDescription("restarting"));
        assertEquals("policy-service unavailable (UNAVAILABLE: restarting): no new chunks, the controller bridge"
            + " brings the robot to a hold; reconnecting for up to 60000 ms", robot.next(HOLD).getHold().getReason(),
            "the failover was refused too");

        gateway.policy.refuseSessions = null;
        PolicyCall again;
        do { // reconnects every 200 ms; any refused before the line above are skipped
          again = gateway.policy.nextCall();
        } while (again.refused);
        assertEquals(MOVE, again.next().getStart().getInstruction());
        assertEquals(MOVE, again.next().getInstruction());
        robot.send(observation(3));
        assertEquals(3, again.next().getObservation().getSequence());
        assertEquals(3, execution.next().getChunk().getChunkId());
        Await.until(() -> gateway.meters.find("vla.gateway.policy.failover").timer() != null
            && gateway.meters.find("vla.gateway.policy.failover").timer().count() == 1, "the failover is counted");
      }
    }

    @Test
    void theObservationInFlightWhenAReplicaDiesGoesToTheFailoverStreamAtOnce() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        ExecuteCall execution = execution(gateway);
        gateway.policy.answerObservations = false;
        PolicyCall dying = readyPolicy(gateway, MOVE);
        robot.send(observation(5));
        assertEquals(5, dying.next().getObservation().getSequence());

        gateway.policy.answerObservations = true;
        dying.fail(Status.UNAVAILABLE.withDescription("connection reset: replica killed"));
        PolicyCall failover = readyPolicy(gateway, MOVE);
        assertEquals(5, failover.next().getObservation().getSequence(),
            "resubmitted at once, not lost until the robot's next frame");
        assertEquals(5, execution.next().getChunk().getChunkId());
        assertEquals(1, gateway.meters.get("vla.gateway.policy.failover").timer().count());
        robot.send(observation(6));
        assertEquals(6, failover.next().getObservation().getSequence());
        // Whether the robot was told to hold depends on this machine's speed (200 ms): SessionMachineTest
        // checks it with a clock of its own.
      }
    }

    @Test
    void aPolicyThatStaysAwayPastTheFailoverTimeEndsTheSession() throws Exception {
      try (SessionHarness gateway = new SessionHarness(3, Duration.ofMillis(300))) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        PolicyCall policy = readyPolicy(gateway, MOVE);
        gateway.policy.refuseSessions = Status.UNAVAILABLE.withDescription("gone");
        policy.fail(Status.UNAVAILABLE.withDescription("gone"));
        robot.next(HOLD);
        assertOutcome(robot.next(OUTCOME).getOutcome(), Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_POLICY_UNAVAILABLE,
            "policy-service unavailable for 300 ms (UNAVAILABLE: gone); the robot was brought to a hold", 0, 0);
        assertEquals(1, gateway.count("vla.gateway.sessions.finished", "outcome", "failed", "cause",
            "policy_unavailable"));
      }
    }

    @Test
    void aPolicyThatTakesTheReconnectButNeverGetsReadyEndsTheSessionAtTheFailoverTime() throws Exception {
      try (SessionHarness gateway = new SessionHarness(3, Duration.ofMillis(300))) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        PolicyCall policy = readyPolicy(gateway, MOVE);
        gateway.policy.stuck = true;
        policy.fail(Status.UNAVAILABLE.withDescription("restarting"));
        robot.next(HOLD);
        assertOutcome(robot.next(OUTCOME).getOutcome(), Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_POLICY_UNAVAILABLE,
            "policy-service unavailable for 300 ms (UNAVAILABLE: restarting); the robot was brought to a hold", 0, 0);
        // A reconnect is tried 200 ms after the loss, unless a slow timer reaches the failover first.
        PolicyCall reconnect = gateway.policy.calls.poll();
        if (reconnect != null) {
          assertEquals("completed", reconnect.ended.get(30, TimeUnit.SECONDS), "the pending reconnect is closed");
        }
      }
    }

    @Test
    void aChunkAnsweredAfterTheSubgoalChangedIsNotExecuted() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.policy.answerObservations = false;
        RobotStream robot = started(gateway, open("arm-1", TASK));
        ExecuteCall execution = execution(gateway);
        PolicyCall policy = readyPolicy(gateway, MOVE);
        robot.send(observation(7));
        assertEquals(7, policy.next().getObservation().getSequence());
        robot.send(signal("1", true, ""));
        assertEvent(event(robot), "1", SubgoalStatus.SUBGOAL_STATUS_COMPLETED, 1, "");
        assertEvent(event(robot), "2", SubgoalStatus.SUBGOAL_STATUS_STARTED, 1, "");
        assertEquals(GRASP, policy.next().getInstruction());

        policy.chunk(7);
        Await.until(() -> !gateway.spans.named("control-step").isEmpty(), "the late chunk's step ends");
        assertEquals(1, gateway.count("vla.gateway.observations.dropped", "reason", "answered_after_subgoal_change"));
        assertNull(execution.requests.poll(), "nothing was executed");
        SpanData step = gateway.spans.named("control-step").get(0);
        assertEquals(StatusCode.ERROR, step.getStatus().getStatusCode());
        assertEquals("answered after the subgoal changed; not executed", step.getStatus().getDescription());
        // The signal's own (empty) observation waited for the slot and goes now.
        assertEquals(0, policy.next().getObservation().getSequence());
      }
    }

    @Test
    void theNewestObservationWaitsForThePolicyAndReplacesAnOlderOne() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.policy.answerObservations = false;
        RobotStream robot = started(gateway, open("arm-1", TASK));
        ExecuteCall execution = execution(gateway);
        PolicyCall policy = readyPolicy(gateway, MOVE);
        robot.send(observation(1));
        assertEquals(1, policy.next().getObservation().getSequence());
        robot.send(observation(2));
        robot.send(observation(3));
        Await.until(() -> gateway.count("vla.gateway.observations.dropped", "reason", "superseded") == 1,
            "observation 2 is replaced by 3");
        policy.chunk(1);
        assertEquals(1, execution.next().getChunk().getChunkId());
        assertEquals(3, policy.next().getObservation().getSequence());
      }
    }

    @Test
    void anObservationThePolicyCouldNotAnswerIsCountedAndItsStepFails() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.policy.answerObservations = false;
        started(gateway, open("arm-1", TASK)).send(observation(4));
        PolicyCall policy = readyPolicy(gateway, MOVE);
        assertEquals(4, policy.next().getObservation().getSequence());
        policy.answer(SessionResponse.newBuilder().setError(ObservationError.newBuilder().setObservationSequence(4)
            .setCode(Status.Code.RESOURCE_EXHAUSTED.value()).setMessage("overloaded")).build());
        Await.until(() -> gateway.count("vla.gateway.observations.dropped", "reason", "policy_resource_exhausted") == 1,
            "the error is counted");
        Await.until(() -> !gateway.spans.named("control-step").isEmpty(), "the step ends");
        assertEquals("policy-service: RESOURCE_EXHAUSTED overloaded",
            gateway.spans.named("control-step").get(0).getStatus().getDescription());
      }
    }

    @Test
    void aStaleObservationIsNotSentToThePolicy() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        Timestamp tenSecondsAgo = ProtoTimes.timestamp(Instant.now().minusSeconds(10));
        robot.send(RobotMessage.newBuilder().setObservation(RobotObservation.newBuilder().setObservation(
            io.vlaserve.common.v1.Observation.newBuilder().setSequence(9).setCaptureTime(tenSecondsAgo))).build());
        Await.until(() -> gateway.count("vla.gateway.observations.dropped", "reason", "stale") == 1,
            "the stale observation is dropped");
      }
    }
  }

  /** CHUNK_CONTINUATION_*: how each new chunk takes over from the motion the robot executes. */
  @Nested
  class ChunkContinuations {
    private static final double[] ALONG_X = {0.01, 0, 0, 0, 0, 0, 1};

    private static PolicyMetadata eightStepModel() {
      return SessionHarness.ScriptedPolicy.metadata(Duration.ofMillis(100)).toBuilder().setMaxChunkLength(8)
          .addAllActionDimensions(List.of("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper")).build();
    }

    private static SessionOpen opening(ChunkContinuation continuation) {
      return open("arm-1", TASK).toBuilder().setChunkContinuation(continuation).build();
    }

    private static RobotMessage observedAt(long sequence, Instant captured) {
      return RobotMessage.newBuilder().setObservation(RobotObservation.newBuilder().setObservation(
          io.vlaserve.common.v1.Observation.newBuilder().setSequence(sequence)
              .setCaptureTime(ProtoTimes.timestamp(captured)))).build();
    }

    private static SessionResponse chunkOf(long id, Instant observed, int steps) {
      ActionChunk.Builder chunk = ActionChunk.newBuilder().setChunkId(id).setObservationSequence(id)
          .setObservationTime(ProtoTimes.timestamp(observed)).setStepPeriod(ProtoTimes.duration(Duration.ofMillis(100)));
      for (int s = 0; s < steps; s++) {
        ActionVector.Builder step = ActionVector.newBuilder();
        for (double value : ALONG_X) {
          step.addValues(value);
        }
        chunk.addSteps(step);
      }
      return SessionResponse.newBuilder().setChunk(InferResponse.newBuilder().setChunk(chunk)).build();
    }

    /** The bridge accepts chunk {@code id} (its first {@code skipped} steps past), then reports {@code mode}. */
    private static void bridgeAccepts(ExecuteCall execution, RobotStream robot, long id, int skipped, Duration age,
        ExecutionMode mode) throws InterruptedException {
      execution.answer(ExecuteResponse.newBuilder().setAccepted(ChunkAccepted.newBuilder().setChunkId(id)
          .setSkippedSteps(skipped).setObservationAge(ProtoTimes.duration(age))).build());
      execution.answer(ExecuteResponse.newBuilder().setState(ExecutionState.newBuilder().setRobotId("arm-1")
          .setMode(mode)).build());
      // In order on one stream: once the robot has the state, the gateway has read the acceptance.
      assertEquals(mode, robot.next(STATE).getState().getMode());
    }

    @Test
    void aPrefixSessionSendsEachObservationWithTheActionsTheRobotIsCommittedToMeanwhile() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.policy.answerObservations = false;
        gateway.policy.metadata = eightStepModel();
        RobotStream robot = started(gateway, opening(ChunkContinuation.CHUNK_CONTINUATION_PREFIX));
        ExecuteCall execution = gateway.bridge.nextExecution();
        assertEquals(io.vlaserve.controller.v1.Blending.BLENDING_UNSPECIFIED,
            execution.next().getStart().getBlending(), "a late continuation is blended as the bridge is configured");
        PolicyCall policy = readyPolicy(gateway, MOVE);

        // Captured 400 ms ago: nothing is committed yet, so the first chunk is decoded whole.
        Instant first = Instant.now().minusMillis(400);
        robot.send(observedAt(1, first));
        assertFalse(policy.next().hasCommittedPrefix(), "the robot follows no chunk yet");
        policy.answer(chunkOf(1, first, 8));
        assertEquals(1, execution.next().getChunk().getChunkId());
        bridgeAccepts(execution, robot, 1, 4, Duration.ofMillis(400), ExecutionMode.EXECUTION_MODE_EXECUTING);

        // Observed as chunk 1 runs: the robot will go on with chunk 1 for at least the 400 ms the last
        // answer took, so the policy is told those steps and continues after them.
        robot.send(observedAt(2, first.plusMillis(400)));
        SessionRequest second = policy.next();
        assertTrue(second.hasCommittedPrefix(), second.toString());
        int length = second.getCommittedPrefix().getStepsCount();
        assertTrue(length >= 4 && length <= 7, "covers the p90 latency (400 ms and more), below the chunk's 8: " + length);
        for (ActionVector step : second.getCommittedPrefix().getStepsList()) {
          for (int d = 0; d < ALONG_X.length; d++) {
            assertEquals(ALONG_X[d], step.getValues(d), 1e-12);
          }
        }
        assertEquals(ProtoTimes.duration(Duration.ofMillis(100)), second.getCommittedPrefix().getStepPeriod());

        // The robot stops following chunks (a watchdog hold): it is committed to nothing any more.
        policy.answer(chunkOf(2, first.plusMillis(400), 8 - length));
        assertEquals(2, execution.next().getChunk().getChunkId());
        bridgeAccepts(execution, robot, 2, 0, Duration.ofMillis(380), ExecutionMode.EXECUTION_MODE_HOLDING);
        robot.send(observedAt(3, Instant.now()));
        assertFalse(policy.next().hasCommittedPrefix(), "a holding robot executes nothing the policy must continue");
      }
    }

    @Test
    void blendAndNoneSendNoPrefixAndNoneAsksTheBridgeToReplaceAtOnce() throws Exception {
      for (ChunkContinuation continuation : List.of(ChunkContinuation.CHUNK_CONTINUATION_BLEND,
          ChunkContinuation.CHUNK_CONTINUATION_NONE, ChunkContinuation.CHUNK_CONTINUATION_UNSPECIFIED)) {
        try (SessionHarness gateway = new SessionHarness()) {
          gateway.policy.answerObservations = false;
          gateway.policy.metadata = eightStepModel();
          RobotStream robot = started(gateway, opening(continuation));
          ExecuteCall execution = gateway.bridge.nextExecution();
          assertEquals(continuation == ChunkContinuation.CHUNK_CONTINUATION_NONE
                  ? io.vlaserve.controller.v1.Blending.BLENDING_NONE
                  : io.vlaserve.controller.v1.Blending.BLENDING_UNSPECIFIED,
              execution.next().getStart().getBlending(), continuation.toString());
          PolicyCall policy = readyPolicy(gateway, MOVE);
          Instant first = Instant.now().minusMillis(400);
          robot.send(observedAt(1, first));
          assertFalse(policy.next().hasCommittedPrefix());
          policy.answer(chunkOf(1, first, 8));
          assertEquals(1, execution.next().getChunk().getChunkId());
          bridgeAccepts(execution, robot, 1, 4, Duration.ofMillis(400), ExecutionMode.EXECUTION_MODE_EXECUTING);
          robot.send(observedAt(2, first.plusMillis(400)));
          assertFalse(policy.next().hasCommittedPrefix(), continuation + ": chunks are decoded whole");
        }
      }
    }
  }

  @Nested
  class HaltAndResume {
    @ParameterizedTest
    @EnumSource(value = ExecutionMode.class, names = {"EXECUTION_MODE_HALTED", "EXECUTION_MODE_ESTOPPED"})
    void aRobotHaltedAtTheBridgeIsToldHowToGoOnAndDrivenOnceItResumes(ExecutionMode mode) throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.bridge.mode = mode;
        RobotStream robot = started(gateway, open("arm-1", TASK));
        assertEquals("robot arm-1 is " + (mode == ExecutionMode.EXECUTION_MODE_ESTOPPED ? "e-stopped" : "halted")
            + " at the controller bridge (see its safety events or log); once the cell is safe, send `resume` and the"
            + " task starts", robot.next(HOLD).getHold().getReason());
        robot.send(observation(1));
        Await.until(() -> gateway.count("vla.gateway.observations.dropped", "reason", "halted") == 1,
            "observations wait while the robot is halted");
        assertTrue(gateway.bridge.executions.isEmpty(), "nothing executes while halted");

        robot.send(RobotMessage.newBuilder().setResume(true).build());
        assertEquals("arm-1", SessionHarness.next(gateway.bridge.resumes, "a resume").getRobotId());
        ExecuteCall execution = execution(gateway);
        PolicyCall policy = readyPolicy(gateway, MOVE);
        robot.send(observation(2));
        assertEquals(2, policy.next().getObservation().getSequence());
        assertEquals(2, execution.next().getChunk().getChunkId());
        assertTrue(gateway.bridge.executions.isEmpty(), "one execution stream only");
      }
    }

    @Test
    void aHaltStopsTheStepsUntilTheRobotResumes() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        ExecuteCall execution = execution(gateway);
        PolicyCall policy = readyPolicy(gateway, MOVE);
        robot.send(RobotMessage.newBuilder().setHalt("operator in the cell").build());
        assertEquals("robot: operator in the cell", SessionHarness.next(gateway.bridge.halts, "a halt").getReason());
        robot.send(observation(1));
        Await.until(() -> gateway.count("vla.gateway.observations.dropped", "reason", "halted") == 1,
            "observations wait while the robot is halted");

        robot.send(RobotMessage.newBuilder().setResume(true).build());
        SessionHarness.next(gateway.bridge.resumes, "a resume");
        // The resume is applied when the bridge answers; observations flow again after it.
        Await.until(() -> {
          robot.send(observation(2));
          return !policy.requests.isEmpty();
        }, "observations go to the policy again");
        assertEquals(2, policy.next().getObservation().getSequence());
        assertEquals(2, execution.next().getChunk().getChunkId());
      }
    }

    @Test
    void aRobotThatHaltsAndResumesWhileItsTaskIsPlannedIsDrivenByOneExecutionStream() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.planner.gate = new CountDownLatch(1);
        RobotStream robot = gateway.open(open("arm-1", TASK));
        Await.until(() -> !gateway.planner.requests.isEmpty(), "planning has begun");
        robot.send(RobotMessage.newBuilder().setHalt("operator check").build());
        robot.send(RobotMessage.newBuilder().setResume(true).build());
        SessionHarness.next(gateway.bridge.resumes, "a resume");
        gateway.planner.gate.countDown();

        robot.next(ACCEPTED);
        robot.next(PLAN);
        assertEvent(event(robot), "1", SubgoalStatus.SUBGOAL_STATUS_STARTED, 1, "");
        ExecuteCall execution = execution(gateway);
        PolicyCall policy = readyPolicy(gateway, MOVE);
        // The bridge's answer to the resume lands before or after the start (SessionMachineTest has
        // both orders); until it does, observations wait.
        Await.until(() -> {
          robot.send(observation(2));
          return !policy.requests.isEmpty();
        }, "observations go to the policy");
        assertEquals(2, execution.next().getChunk().getChunkId());
        assertTrue(gateway.bridge.executions.isEmpty(), "one execution stream only");
        assertTrue(robot.received.stream().noneMatch(GatewayMessage::hasOutcome), robot.received.toString());
      }
    }

    @Test
    void aResumeTheBridgeRefusesIsReported() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.bridge.resumeFailure = Status.FAILED_PRECONDITION.withDescription("e-stop latched");
        RobotStream robot = started(gateway, open("arm-1", TASK));
        robot.send(RobotMessage.newBuilder().setResume(true).build());
        assertEquals("resume refused by the controller bridge: FAILED_PRECONDITION e-stop latched",
            robot.next(HOLD).getHold().getReason());
      }
    }
  }

  @Test
  void theBridgesStatesAndSafetyEventsReachTheRobotAndRejectionsAreCounted() throws Exception {
    try (SessionHarness gateway = new SessionHarness()) {
      RobotStream robot = started(gateway, open("arm-1", TASK));
      ExecuteCall execution = execution(gateway);
      ExecutionState state = ExecutionState.newBuilder().setRobotId("arm-1")
          .setMode(ExecutionMode.EXECUTION_MODE_EXECUTING).build();
      execution.answer(ExecuteResponse.newBuilder().setState(state).build());
      assertEquals(state, robot.next(STATE).getState());
      SafetyEvent safety = SafetyEvent.newBuilder().setRobotId("arm-1")
          .setKind(SafetyEventKind.SAFETY_EVENT_KIND_VELOCITY).build();
      execution.answer(ExecuteResponse.newBuilder().setSafetyEvent(safety).build());
      assertEquals(safety, robot.next(SAFETY_EVENT).getSafetyEvent());
      execution.answer(ExecuteResponse.newBuilder().setRejected(ChunkRejected.newBuilder().setChunkId(1)
          .setCode(Status.Code.FAILED_PRECONDITION.value())).build());
      Await.until(() -> gateway.count("vla.gateway.chunks.rejected", "code", "FAILED_PRECONDITION") == 1,
          "the rejection is counted");
    }
  }

  @Test
  void aClockProbeIsAnsweredWithTheGatewaysTimes() throws Exception {
    try (SessionHarness gateway = new SessionHarness()) {
      RobotStream robot = started(gateway, open("arm-1", TASK));
      Timestamp sent = ProtoTimes.timestamp(Instant.parse("2026-01-02T03:04:05Z"));
      robot.send(RobotMessage.newBuilder().setClockProbe(ClockProbe.newBuilder().setProbeId(42)
          .setRobotSendTime(sent)).build());
      ClockProbeReply reply = robot.next(CLOCK_REPLY).getClockReply();
      assertEquals(42, reply.getProbeId());
      assertEquals(sent, reply.getRobotSendTime());
      assertTrue(reply.hasGatewayReceiveTime() && reply.getGatewayReceiveTime().getSeconds() > 0, reply.toString());
      assertTrue(reply.hasGatewaySendTime() && reply.getGatewaySendTime().getSeconds() > 0, reply.toString());
    }
  }

  @Nested
  class Refusals {
    private Status refused(SessionHarness gateway, SessionOpen open) throws Exception {
      return gateway.open(open).awaitClosed();
    }

    private void assertStatus(Status.Code code, String description, Status status) {
      assertEquals(code, status.getCode(), status.toString());
      assertEquals(description, status.getDescription());
    }

    @Test
    void theFirstMessageMustBeOpen() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = gateway.connect();
        robot.send(observation(1));
        assertStatus(Status.Code.INVALID_ARGUMENT, "the first message must be `open` (robot id, task); got OBSERVATION",
            robot.awaitClosed());
      }
    }

    @Test
    void anOpenMustNameTheRobotAndTheTaskAndCarryAResumeTokenOnlyIfItIsOne() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        assertStatus(Status.Code.INVALID_ARGUMENT, "open.robot.robot_id is empty (expected the id the controller"
            + " bridge knows the robot by)", refused(gateway, open(" ", TASK)));
        assertStatus(Status.Code.INVALID_ARGUMENT, "open.task is empty (expected a task in plain language, e.g."
            + " \"put the red block on the plate\")", refused(gateway, open("arm-1", "")));
        Status notAToken = refused(gateway, open("arm-1", TASK).toBuilder().setResumeToken("abc").build());
        assertEquals(Status.Code.INVALID_ARGUMENT, notAToken.getCode(), notAToken.toString());
        assertTrue(notAToken.getDescription().startsWith("resume refused (unknown_version): "), notAToken.toString());
        assertEquals(0, gateway.count("vla.gateway.sessions.finished", "outcome", "rejected", "cause", "unspecified"),
            "never registered, never counted");
      }
    }

    @Test
    void aRobotHasOneSessionAtATime() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        started(gateway, open("arm-1", TASK));
        assertStatus(Status.Code.ALREADY_EXISTS, "robot arm-1 already has an open session on this gateway; cancel or"
            + " close it first", refused(gateway, open("arm-1", TASK)));
        assertEquals(1, gateway.activeSessions());
      }
    }

    @Test
    void aSecondOpenEndsTheSession() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        RobotStream robot = started(gateway, open("arm-1", TASK));
        robot.send(RobotMessage.newBuilder().setOpen(open("arm-1", TASK)).build());
        assertStatus(Status.Code.INVALID_ARGUMENT, "`open` may only be sent once per session", robot.awaitClosed());
        assertEquals(1, gateway.count("vla.gateway.sessions.finished", "outcome", "rejected", "cause", "unspecified"));
        assertEquals(0, gateway.activeSessions());
      }
    }

    @Test
    void aRobotOfAnotherEmbodimentIsSentToAnotherGateway() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        SessionOpen open = open("arm-1", TASK).toBuilder().setRobot(RobotIdentity.newBuilder().setRobotId("arm-1")
            .setEmbodiment("bimanual-14dof")).build();
        assertStatus(Status.Code.INVALID_ARGUMENT, "robot embodiment 'bimanual-14dof' does not match the loaded"
            + " policy's action profile 'tiny-sim' (stand-in); connect to a gateway serving a policy for this robot",
            refused(gateway, open));
        assertEquals(1, gateway.count("vla.gateway.sessions.finished", "outcome", "rejected", "cause", "unspecified"));
        Await.until(() -> gateway.activeSessions() == 0, "the refused session is not counted");
      }
    }

    @Test
    void withoutThePolicyNoSessionOpens() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.policy.metadataFailure = Status.UNAVAILABLE.withDescription("loading");
        assertStatus(Status.Code.UNAVAILABLE, "policy-service is not available (UNAVAILABLE: loading); retry shortly",
            refused(gateway, open("arm-1", TASK)));
      }
    }

    @Test
    void aTaskThePlannerCannotPlanIsRefusedByKind() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.planner.answers.add(new PlanningException(PlanningException.Kind.UNSUPPORTED_TASK, "no sandwiches"));
        gateway.planner.answers.add(new PlanningException(PlanningException.Kind.TIMEOUT, "30 s"));
        gateway.planner.answers.add(new PlanningException(PlanningException.Kind.INVALID_REPLY, "not JSON"));
        gateway.planner.answers.add(new PlanningException(PlanningException.Kind.BUSY, "8 plans at once"));
        assertStatus(Status.Code.INVALID_ARGUMENT, "no sandwiches", refused(gateway, open("arm-1", TASK)));
        assertStatus(Status.Code.DEADLINE_EXCEEDED, "the planner did not answer in time: 30 s",
            refused(gateway, open("arm-1", TASK)));
        assertStatus(Status.Code.UNAVAILABLE, "the planner gave no valid plan: not JSON",
            refused(gateway, open("arm-1", TASK)));
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, "the planner is busy: 8 plans at once; retry in 1000 ms",
            refused(gateway, open("arm-1", TASK)));
        assertEquals(1, gateway.meters.get("vla.gateway.planning").tags("result", "unsupported_task").timer().count());
      }
    }
  }

  @Nested
  class PlanTask {
    @Test
    void aDryRunAnswersThePlanWithIdsAndBudgets() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.planner.answers.add(plan("two steps", MOVE, GRASP));
        assertEquals(Plan.newBuilder().setTask(TASK).setPlanner("scripted").setRevision(0).setReason("two steps")
            .addSubgoals(subgoal("1", MOVE)).addSubgoals(subgoal("2", GRASP)).build(),
            gateway.blockingGateway().planTask(PlanRequest.newBuilder().setTask(TASK).build()));
      }
    }

    @Test
    void aDryRunIsRefusedWithTheReason() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        StatusRuntimeException empty = assertThrows(StatusRuntimeException.class,
            () -> gateway.blockingGateway().planTask(PlanRequest.newBuilder().setTask(" ").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, empty.getStatus().getCode());
        assertEquals("task is empty (expected a task in plain language)", empty.getStatus().getDescription());

        StatusRuntimeException embodiment = assertThrows(StatusRuntimeException.class,
            () -> gateway.blockingGateway().planTask(PlanRequest.newBuilder().setTask(TASK).setEmbodiment("aloha")
                .build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, embodiment.getStatus().getCode());
        assertEquals("embodiment 'aloha' is not the loaded policy's ('tiny-sim')",
            embodiment.getStatus().getDescription());

        gateway.planner.answers.add(new PlanningException(PlanningException.Kind.BUSY, "8 plans at once"));
        StatusRuntimeException busy = assertThrows(StatusRuntimeException.class,
            () -> gateway.blockingGateway().planTask(PlanRequest.newBuilder().setTask(TASK).build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, busy.getStatus().getCode());
        assertEquals("the planner is busy: 8 plans at once; retry in 1000 ms", busy.getStatus().getDescription());
        assertEquals(1, StatusProto.fromThrowable(busy).getDetails(0).unpack(RetryInfo.class).getRetryDelay()
            .getSeconds());

        gateway.planner.answers.add(new PlanningException(PlanningException.Kind.UNSUPPORTED_TASK, "no sandwiches"));
        StatusRuntimeException unsupported = assertThrows(StatusRuntimeException.class,
            () -> gateway.blockingGateway().planTask(PlanRequest.newBuilder().setTask(TASK).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, unsupported.getStatus().getCode());
        assertEquals("no sandwiches", unsupported.getStatus().getDescription());
      }
    }

    @Test
    void aDryRunWithoutPolicyServiceIsUnavailable() throws Exception {
      try (SessionHarness gateway = new SessionHarness()) {
        gateway.policy.metadataFailure = Status.UNAVAILABLE.withDescription("loading");
        StatusRuntimeException noPolicy = assertThrows(StatusRuntimeException.class,
            () -> gateway.blockingGateway().planTask(PlanRequest.newBuilder().setTask(TASK).build()));
        assertEquals(Status.Code.UNAVAILABLE, noPolicy.getStatus().getCode());
        assertEquals("policy-service is not available (UNAVAILABLE: loading); retry shortly",
            noPolicy.getStatus().getDescription());
      }
    }
  }

  @Nested
  class FlightRecording {
    @Test
    void aFailedSessionWritesItsLastSecondsAndAFullRecordingHoldsBothDirectionsWithoutPixels() throws Exception {
      try (SessionHarness gateway = new SessionHarness(0, SessionHarness.FAILOVER)) {
        gateway.planner.answers.add(plan("one step", MOVE));
        RobotStream robot = started(gateway, open("arm-1", TASK));
        robot.send(RobotMessage.newBuilder().setObservation(RobotObservation.newBuilder().setObservation(
            io.vlaserve.common.v1.Observation.newBuilder().setSequence(1).addImages(io.vlaserve.common.v1.Image
                .newBuilder().setCamera("third_person").setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8).setWidth(2)
                .setHeight(1).setData(com.google.protobuf.ByteString.copyFrom(new byte[6]))))).build());
        robot.send(signal("1", false, "slipped"));
        assertEvent(event(robot), "1", SubgoalStatus.SUBGOAL_STATUS_FAILED, 1, "the robot reported failure: slipped");
        assertOutcome(robot.next(OUTCOME).getOutcome(), Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_SUBGOAL_FAILED,
            "subgoal 'move to the red block' the robot reported failure: slipped, and the 0 replan(s) allowed are used"
                + " up", 0, 0);

        // The failure wrote the robot's ring: what it sent and what it was told, to the outcome.
        java.util.function.Supplier<java.util.Optional<java.nio.file.Path>> failed = () -> gateway.recording.recorder()
            .files().stream().filter(f -> f.getFileName().toString().endsWith("-session-failed.mcap")).findFirst();
        io.vlaserve.testing.Await.until(() -> failed.get().isPresent(), "the failed session's recording");
        java.nio.file.Path ring = failed.get().orElseThrow();
        assertTrue(ring.getFileName().toString().startsWith("planner-gateway-arm-1-"), ring.toString());
        List<RobotMessage> sent = new java.util.ArrayList<>();
        List<GatewayMessage> told = new java.util.ArrayList<>();
        io.vlaserve.recorder.mcap.McapReader read = io.vlaserve.recorder.mcap.McapReader.read(ring);
        for (var message : read.messages()) {
          switch (read.channels().get(message.channelId()).topic()) {
            case "/robot/messages" -> sent.add(RobotMessage.parseFrom(message.data()));
            case "/gateway/messages" -> told.add(GatewayMessage.parseFrom(message.data()));
            default -> throw new AssertionError("unexpected topic " + read.channels().get(message.channelId()));
          }
        }
        assertTrue(sent.get(0).hasOpen(), "the open first: " + sent.get(0));
        var image = sent.stream().filter(RobotMessage::hasObservation)
            .filter(m -> m.getObservation().getObservation().getImagesCount() > 0).findFirst().orElseThrow()
            .getObservation().getObservation().getImages(0);
        assertEquals("third_person", image.getCamera());
        assertEquals(2, image.getWidth());
        assertTrue(image.getData().isEmpty(), "no pixels: policy-service records the frames");
        assertTrue(told.get(0).hasAccepted(), told.get(0).toString());
        assertTrue(told.stream().anyMatch(GatewayMessage::hasPlan));
        assertEquals(Outcome.OUTCOME_FAILED, told.get(told.size() - 1).getOutcome().getOutcome());

        // The full recording (every robot, in the harness) holds the same messages, from the open on.
        java.nio.file.Path full = gateway.recording.recorder().recordFully("arm-1", false)
            .thenApply(off -> gateway.recording.recorder().files().stream()
                .filter(f -> f.getFileName().toString().endsWith("-full.mcap")).findFirst().orElseThrow())
            .get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(read.messages().size(), io.vlaserve.recorder.mcap.McapReader.read(full).messages().size());
        assertEquals(0, gateway.recording.recorder().dropped());
      }
    }
  }
}
