package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteStart;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.HaltRequest;
import io.vlaserve.planner.PlannedSubgoal;
import io.vlaserve.planner.session.SessionEffect;
import io.vlaserve.planner.session.SessionEnding;
import io.vlaserve.planner.session.SessionMachine;
import io.vlaserve.planner.session.SessionSubgoal;
import io.vlaserve.planner.v1.CameraRequirement;
import io.vlaserve.planner.v1.ClockProbe;
import io.vlaserve.planner.v1.ClockProbeReply;
import io.vlaserve.planner.v1.EndCause;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.StepForwarded;
import io.vlaserve.planner.v1.Subgoal;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.policy.v1.CameraSpec;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionStart;
import io.vlaserve.proto.ProtoTimes;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class GatewayMessagesTest {
  private static final RobotIdentity ARM = RobotIdentity.newBuilder().setRobotId("arm-1").setEmbodiment("tiny-sim")
      .build();
  private static final Map<String, String> TRACE = Map.of("traceparent",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

  @Test
  void theStepPeriodIsThePolicysOrADefaultAndNeverZero() {
    assertEquals(Duration.ofMillis(40), GatewayMessages.stepPeriod(PolicyMetadata.newBuilder()
        .setStepPeriod(ProtoTimes.duration(Duration.ofMillis(40))).build()));
    assertEquals(Duration.ofMillis(100), GatewayMessages.stepPeriod(PolicyMetadata.getDefaultInstance()));
    assertEquals(Duration.ofNanos(1), GatewayMessages.stepPeriod(PolicyMetadata.newBuilder()
        .setStepPeriod(com.google.protobuf.Duration.getDefaultInstance()).build()));
  }

  @Test
  void acceptedAsksForThePolicysCamerasInRgbWhereTheyTakeIt() {
    PolicyMetadata policy = PolicyMetadata.newBuilder()
        .setStepPeriod(ProtoTimes.duration(Duration.ofMillis(100)))
        .addCameras(CameraSpec.newBuilder().setName("top").setWidth(64).setHeight(48))
        .addCameras(CameraSpec.newBuilder().setName("wrist").setWidth(32).setHeight(24)
            .addAcceptedEncodings(ImageEncoding.IMAGE_ENCODING_JPEG)
            .addAcceptedEncodings(ImageEncoding.IMAGE_ENCODING_RGB8))
        .addCameras(CameraSpec.newBuilder().setName("side").setWidth(16).setHeight(16)
            .addAcceptedEncodings(ImageEncoding.IMAGE_ENCODING_JPEG))
        .build();
    assertEquals(GatewayMessage.newBuilder().setAccepted(SessionAccepted.newBuilder()
        .setSessionId("s-1")
        .setResumeToken("token-1")
        .setObservationPeriod(ProtoTimes.duration(Duration.ofMillis(100)))
        .setObservationValidity(ProtoTimes.duration(Duration.ofMillis(500)))
        .addCameras(camera("top", 64, 48, ImageEncoding.IMAGE_ENCODING_RGB8))
        .addCameras(camera("wrist", 32, 24, ImageEncoding.IMAGE_ENCODING_RGB8))
        .addCameras(camera("side", 16, 16, ImageEncoding.IMAGE_ENCODING_JPEG))).build(),
        GatewayMessages.accepted("s-1", policy, Duration.ofMillis(500), "token-1"));
  }

  private static CameraRequirement camera(String name, int width, int height, ImageEncoding encoding) {
    return CameraRequirement.newBuilder().setName(name).setWidth(width).setHeight(height).setEncoding(encoding).build();
  }

  @Test
  void aPlanCarriesEachSubgoalWithItsIdStepsAndBudget() {
    List<SessionSubgoal> subgoals = SessionSubgoal.numbered(List.of(new PlannedSubgoal("move to the red block", 40),
        new PlannedSubgoal("grasp the red block", 3)), 7, Duration.ofMillis(100), 1.5);
    assertEquals(GatewayMessage.newBuilder().setPlan(Plan.newBuilder().setTask("pick up the red block")
        .setPlanner("embedded").setRevision(2).setReason("subgoal 6 failed")
        .addSubgoals(Subgoal.newBuilder().setId("7").setInstruction("move to the red block").setMaxSteps(40)
            .setMaxDuration(ProtoTimes.duration(Duration.ofSeconds(6))))
        .addSubgoals(Subgoal.newBuilder().setId("8").setInstruction("grasp the red block").setMaxSteps(3)
            .setMaxDuration(ProtoTimes.duration(Duration.ofMillis(450))))).build(),
        GatewayMessages.plan("pick up the red block", new SessionEffect.SendPlan(2, "embedded", "subgoal 6 failed",
            subgoals)));
  }

  @Test
  void aSubgoalReportBecomesAnEvent() {
    assertEquals(GatewayMessage.newBuilder().setSubgoal(SubgoalEvent.newBuilder().setSubgoalId("3")
        .setStatus(SubgoalStatus.SUBGOAL_STATUS_TIMED_OUT).setAttempt(2).setSteps(15)
        .setElapsed(ProtoTimes.duration(Duration.ofMillis(1520))).setReason("timed out").setResumeToken("token-2"))
        .build(),
        GatewayMessages.subgoalEvent(new SessionEffect.ReportSubgoal("3", SessionEffect.ReportSubgoal.Status.TIMED_OUT,
            2, 15, Duration.ofMillis(1520), "timed out"), "token-2"));
  }

  @ParameterizedTest
  @EnumSource(SessionEffect.ReportSubgoal.Status.class)
  void everySubgoalStatusHasItsProtoValue(SessionEffect.ReportSubgoal.Status status) {
    assertEquals("SUBGOAL_STATUS_" + status.name(), GatewayMessages.status(status).name());
  }

  @Test
  void anEndingBecomesTheOutcomeTheRobotIsTold() {
    SessionEffect.Ended ended = new SessionEffect.Ended(new SessionEnding(SessionEnding.Outcome.FAILED,
        SessionEnding.Cause.SUBGOAL_FAILED, "replans used up"), true, 3, 2, Duration.ofSeconds(42));
    assertEquals(GatewayMessage.newBuilder().setOutcome(SessionOutcome.newBuilder()
        .setOutcome(Outcome.OUTCOME_FAILED).setCause(EndCause.END_CAUSE_SUBGOAL_FAILED).setReason("replans used up")
        .setSubgoalsCompleted(3).setReplans(2).setElapsed(ProtoTimes.duration(Duration.ofSeconds(42)))).build(),
        GatewayMessages.outcome(ended));
  }

  @ParameterizedTest
  @EnumSource(SessionEnding.Cause.class)
  void everyCauseHasItsProtoValue(SessionEnding.Cause cause) {
    assertEquals("END_CAUSE_" + cause.name(), GatewayMessages.cause(cause).name());
  }

  @ParameterizedTest
  @EnumSource(SessionEnding.Outcome.class)
  void anOutcomeARobotCanBeToldHasItsProtoValue(SessionEnding.Outcome outcome) {
    Outcome expected = switch (outcome) {
      case SUCCEEDED -> Outcome.OUTCOME_SUCCEEDED;
      case FAILED -> Outcome.OUTCOME_FAILED;
      case CANCELLED -> Outcome.OUTCOME_CANCELLED;
      case REJECTED, SHUTDOWN -> Outcome.OUTCOME_UNSPECIFIED; // their streams fail with a status instead
    };
    assertEquals(expected, GatewayMessages.outcome(outcome));
  }

  @Test
  void noticesRepliesAndForwardedSteps() {
    assertEquals("hold still", GatewayMessages.hold("hold still").getHold().getReason());
    assertEquals(StepForwarded.newBuilder().setObservationSequence(12)
        .setGatewayLatency(ProtoTimes.duration(Duration.ofMillis(3))).build(),
        GatewayMessages.stepForwarded(12, 3_000_000).getStepForwarded());
    var policyTiming = io.vlaserve.common.v1.TimingBreakdown.newBuilder()
        .setQueue(ProtoTimes.duration(Duration.ofMillis(4))).setTotal(ProtoTimes.duration(Duration.ofMillis(9))).build();
    var stages = GatewayMessages.stepForwarded(13, 20_000_000,
        new PolicyLink.StepTiming(1_000_000_000L, 1_005_000_000L, 1_017_000_000L, policyTiming)).getStepForwarded();
    assertEquals(Duration.ofMillis(20), ProtoTimes.javaDuration(stages.getGatewayLatency()));
    assertEquals(Duration.ofMillis(5), ProtoTimes.javaDuration(stages.getWaitedForPolicy()), "arrival to request sent");
    assertEquals(Duration.ofMillis(12), ProtoTimes.javaDuration(stages.getPolicyRoundTrip()), "request sent to chunk back");
    assertEquals(policyTiming, stages.getPolicyTiming());
    ClockProbe probe = ClockProbe.newBuilder().setProbeId(5)
        .setRobotSendTime(ProtoTimes.timestamp(Instant.parse("2026-01-01T00:00:00Z"))).build();
    assertEquals(ClockProbeReply.newBuilder().setProbeId(5).setRobotSendTime(probe.getRobotSendTime())
        .setGatewayReceiveTime(ProtoTimes.timestamp(Instant.parse("2026-01-01T00:00:01Z")))
        .setGatewaySendTime(ProtoTimes.timestamp(Instant.parse("2026-01-01T00:00:02Z"))).build(),
        GatewayMessages.clockReply(probe, Instant.parse("2026-01-01T00:00:01Z"), Instant.parse("2026-01-01T00:00:02Z"))
            .getClockReply());
  }

  @Test
  void whatThePolicyIsSent() {
    assertEquals(SessionRequest.newBuilder().setStart(SessionStart.newBuilder().setRobot(ARM)
        .setInstruction("grasp the red block").setObservationDeadline(ProtoTimes.duration(Duration.ofMillis(500))))
        .build(), GatewayMessages.policyStart(ARM, "grasp the red block", Duration.ofMillis(500), false));
    assertTrue(GatewayMessages.policyStart(ARM, "grasp the red block", Duration.ofMillis(500), true).getStart()
        .getRecord(), "a session the robot asked to record is recorded by the policy too");
    assertEquals(SessionRequest.newBuilder().setInstruction("lift the block").build(),
        GatewayMessages.instruction("lift the block"));
    Observation observation = Observation.newBuilder().setSequence(9).build();
    assertEquals(SessionRequest.newBuilder().setObservation(observation).putAllTraceContext(TRACE).build(),
        GatewayMessages.observation(observation, null, TRACE));
    io.vlaserve.common.v1.CommittedPrefix prefix = io.vlaserve.common.v1.CommittedPrefix.newBuilder()
        .addSteps(io.vlaserve.common.v1.ActionVector.newBuilder().addValues(0.01))
        .setStepPeriod(ProtoTimes.duration(Duration.ofMillis(100))).build();
    assertEquals(SessionRequest.newBuilder().setObservation(observation).setCommittedPrefix(prefix)
        .putAllTraceContext(TRACE).build(), GatewayMessages.observation(observation, prefix, TRACE));
  }

  @Test
  void whatTheBridgeIsSent() {
    assertEquals(ExecuteRequest.newBuilder().setStart(ExecuteStart.newBuilder().setRobot(ARM)
        .setStatePeriod(ProtoTimes.duration(Duration.ofMillis(100))).setSessionId("sess-1").setConnectionEpoch(2))
        .build(), GatewayMessages.executeStart(ARM, Duration.ofMillis(100), "sess-1", 2));
    assertEquals(io.vlaserve.controller.v1.Blending.BLENDING_NONE,
        GatewayMessages.executeStart(ARM, Duration.ofMillis(100), "sess-1", 2, true, false).getStart().getBlending(),
        "CHUNK_CONTINUATION_NONE: each chunk replaces the motion at once");
    assertTrue(GatewayMessages.executeStart(ARM, Duration.ofMillis(100), "sess-1", 2, false, true).getStart()
        .getRecord(), "a session the robot asked to record is recorded by the bridge too");
    ActionChunk chunk = ActionChunk.newBuilder().setChunkId(4).build();
    assertEquals(ExecuteRequest.newBuilder().setChunk(chunk).putAllTraceContext(TRACE).build(),
        GatewayMessages.chunk(chunk, TRACE));
    assertEquals(HaltRequest.newBuilder().setRobotId("arm-1").setReason("robot: operator in the cell").build(),
        GatewayMessages.halt("arm-1", "operator in the cell"));
    assertEquals("arm-1", GatewayMessages.resume("arm-1").getRobotId());
  }

  @ParameterizedTest
  @EnumSource(ExecutionMode.class)
  void onlyAHaltedOrEStoppedRobotWaitsForAResume(ExecutionMode mode) {
    SessionMachine.BridgeHold expected = switch (mode) {
      case EXECUTION_MODE_HALTED -> SessionMachine.BridgeHold.HALTED;
      case EXECUTION_MODE_ESTOPPED -> SessionMachine.BridgeHold.E_STOPPED;
      default -> SessionMachine.BridgeHold.NONE;
    };
    assertEquals(expected, GatewayMessages.bridgeHold(mode));
  }
}
