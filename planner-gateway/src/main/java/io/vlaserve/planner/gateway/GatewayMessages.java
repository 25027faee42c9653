package io.vlaserve.planner.gateway;

import io.vlaserve.common.v1.CommittedPrefix;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteStart;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.HaltRequest;
import io.vlaserve.controller.v1.ResumeRequest;
import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.planner.session.SessionEffect;
import io.vlaserve.planner.session.SessionEnding;
import io.vlaserve.planner.session.SessionMachine;
import io.vlaserve.planner.session.SessionSubgoal;
import io.vlaserve.planner.v1.CameraRequirement;
import io.vlaserve.planner.v1.ClockProbe;
import io.vlaserve.planner.v1.ClockProbeReply;
import io.vlaserve.planner.v1.EndCause;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.HoldNotice;
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

/**
 * Converts between the gateway's messages ({@code vla.planner.v1}, and what it sends policy-service
 * and the controller bridge) and the session machine's types. Stateless.
 */
final class GatewayMessages {
  /** The step period assumed for a policy that reports none. */
  static final Duration DEFAULT_STEP_PERIOD = Duration.ofMillis(100);

  private GatewayMessages() {}

  // ------------------------------------------------------------------ from the policy's metadata

  /** The policy's step period: what subgoal budgets count in. */
  static Duration stepPeriod(PolicyMetadata policy) {
    return policy.hasStepPeriod()
        ? Duration.ofNanos(Math.max(1, ProtoTimes.nanos(policy.getStepPeriod()))) : DEFAULT_STEP_PERIOD;
  }

  /**
   * The frames the robot is to send (the policy's cameras), and how often.
   *
   * @param resumeToken what the robot presents to resume the session, "" for none
   */
  static GatewayMessage accepted(String sessionId, PolicyMetadata policy, Duration observationValidity,
      String resumeToken) {
    SessionAccepted.Builder accepted = SessionAccepted.newBuilder()
        .setSessionId(sessionId)
        .setResumeToken(resumeToken)
        .setObservationPeriod(policy.getStepPeriod())
        .setObservationValidity(ProtoTimes.duration(observationValidity));
    for (CameraSpec camera : policy.getCamerasList()) {
      accepted.addCameras(CameraRequirement.newBuilder().setName(camera.getName()).setWidth(camera.getWidth())
          .setHeight(camera.getHeight()).setEncoding(preferredEncoding(camera)));
    }
    return GatewayMessage.newBuilder().setAccepted(accepted).build();
  }

  /** RGB8 if the camera takes it (or says nothing), else the first encoding it takes. */
  static ImageEncoding preferredEncoding(CameraSpec camera) {
    return camera.getAcceptedEncodingsList().contains(ImageEncoding.IMAGE_ENCODING_RGB8)
        || camera.getAcceptedEncodingsCount() == 0
        ? ImageEncoding.IMAGE_ENCODING_RGB8 : camera.getAcceptedEncodings(0);
  }

  // ------------------------------------------------------------------ plans and subgoals

  static GatewayMessage plan(String task, SessionEffect.SendPlan plan) {
    return GatewayMessage.newBuilder().setPlan(plan(task, plan.planner(), plan.revision(), plan.reason(),
        plan.subgoals())).build();
  }

  static Plan plan(String task, String planner, int revision, String reason, List<SessionSubgoal> subgoals) {
    Plan.Builder plan = Plan.newBuilder().setTask(task).setPlanner(planner).setRevision(revision).setReason(reason);
    for (SessionSubgoal subgoal : subgoals) {
      plan.addSubgoals(subgoal(subgoal));
    }
    return plan.build();
  }

  static Subgoal subgoal(SessionSubgoal subgoal) {
    return Subgoal.newBuilder().setId(subgoal.id()).setInstruction(subgoal.instruction())
        .setMaxSteps(subgoal.maxSteps()).setMaxDuration(ProtoTimes.duration(subgoal.budget())).build();
  }

  /** @param resumeToken the session's fresh resume token, "" once it cannot resume */
  static GatewayMessage subgoalEvent(SessionEffect.ReportSubgoal report, String resumeToken) {
    return GatewayMessage.newBuilder().setSubgoal(SubgoalEvent.newBuilder()
        .setSubgoalId(report.subgoalId()).setStatus(status(report.status())).setAttempt(report.attempt())
        .setSteps(report.steps()).setElapsed(ProtoTimes.duration(report.elapsed()))
        .setReason(report.reason()).setResumeToken(resumeToken)).build();
  }

  static SubgoalStatus status(SessionEffect.ReportSubgoal.Status status) {
    return switch (status) {
      case STARTED -> SubgoalStatus.SUBGOAL_STATUS_STARTED;
      case COMPLETED -> SubgoalStatus.SUBGOAL_STATUS_COMPLETED;
      case FAILED -> SubgoalStatus.SUBGOAL_STATUS_FAILED;
      case TIMED_OUT -> SubgoalStatus.SUBGOAL_STATUS_TIMED_OUT;
    };
  }

  // ------------------------------------------------------------------ endings and notices

  static GatewayMessage outcome(SessionEffect.Ended ended) {
    SessionEnding ending = ended.ending();
    return GatewayMessage.newBuilder().setOutcome(SessionOutcome.newBuilder()
        .setOutcome(outcome(ending.outcome())).setCause(cause(ending.cause())).setReason(ending.reason())
        .setSubgoalsCompleted(ended.subgoalsCompleted()).setReplans(ended.replans())
        .setElapsed(ProtoTimes.duration(ended.elapsed()))).build();
  }

  /** The outcome a robot is told; a refused or shut-down session has none (its stream fails instead). */
  static Outcome outcome(SessionEnding.Outcome outcome) {
    return switch (outcome) {
      case SUCCEEDED -> Outcome.OUTCOME_SUCCEEDED;
      case FAILED -> Outcome.OUTCOME_FAILED;
      case CANCELLED -> Outcome.OUTCOME_CANCELLED;
      case REJECTED, SHUTDOWN -> Outcome.OUTCOME_UNSPECIFIED;
    };
  }

  static EndCause cause(SessionEnding.Cause cause) {
    return switch (cause) {
      case UNSPECIFIED -> EndCause.END_CAUSE_UNSPECIFIED;
      case TASK_COMPLETED -> EndCause.END_CAUSE_TASK_COMPLETED;
      case SUBGOAL_FAILED -> EndCause.END_CAUSE_SUBGOAL_FAILED;
      case PLANNER_FAILED -> EndCause.END_CAUSE_PLANNER_FAILED;
      case CONTROLLER -> EndCause.END_CAUSE_CONTROLLER;
      case POLICY_UNAVAILABLE -> EndCause.END_CAUSE_POLICY_UNAVAILABLE;
      case ROBOT_CANCELLED -> EndCause.END_CAUSE_ROBOT_CANCELLED;
    };
  }

  static GatewayMessage hold(String reason) {
    return hold(reason, "");
  }

  /** @param resumeToken the session's token as it stands, for a robot that must reconnect; "" for none */
  static GatewayMessage hold(String reason, String resumeToken) {
    return GatewayMessage.newBuilder().setHold(HoldNotice.newBuilder().setReason(reason)
        .setResumeToken(resumeToken)).build();
  }

  static GatewayMessage stepForwarded(long observationSequence, long gatewayNanos) {
    return GatewayMessage.newBuilder().setStepForwarded(StepForwarded.newBuilder()
        .setObservationSequence(observationSequence).setGatewayLatency(ProtoTimes.duration(
            Duration.ofNanos(gatewayNanos)))).build();
  }

  /** As {@link #stepForwarded(long, long)}, with where the time went ({@code timing}'s stages). */
  static GatewayMessage stepForwarded(long observationSequence, long gatewayNanos, PolicyLink.StepTiming timing) {
    return GatewayMessage.newBuilder().setStepForwarded(StepForwarded.newBuilder()
        .setObservationSequence(observationSequence)
        .setGatewayLatency(ProtoTimes.duration(Duration.ofNanos(gatewayNanos)))
        .setWaitedForPolicy(ProtoTimes.duration(Duration.ofNanos(timing.sentNanos() - timing.arrivalNanos())))
        .setPolicyRoundTrip(ProtoTimes.duration(Duration.ofNanos(timing.answeredNanos() - timing.sentNanos())))
        .setPolicyTiming(timing.policy())).build();
  }

  static GatewayMessage clockReply(ClockProbe probe, Instant received, Instant sent) {
    return GatewayMessage.newBuilder().setClockReply(ClockProbeReply.newBuilder()
        .setProbeId(probe.getProbeId()).setRobotSendTime(probe.getRobotSendTime())
        .setGatewayReceiveTime(ProtoTimes.timestamp(received)).setGatewaySendTime(ProtoTimes.timestamp(sent))).build();
  }

  static GatewayMessage state(ExecutionState state) {
    return GatewayMessage.newBuilder().setState(state).build();
  }

  static GatewayMessage safetyEvent(SafetyEvent event) {
    return GatewayMessage.newBuilder().setSafetyEvent(event).build();
  }

  // ------------------------------------------------------------------ to policy-service

  static SessionRequest policyStart(RobotIdentity robot, String instruction, Duration observationDeadline,
      boolean record) {
    return SessionRequest.newBuilder().setStart(SessionStart.newBuilder().setRobot(robot).setInstruction(instruction)
        .setObservationDeadline(ProtoTimes.duration(observationDeadline)).setRecord(record)).build();
  }

  static SessionRequest instruction(String instruction) {
    return SessionRequest.newBuilder().setInstruction(instruction).build();
  }

  /** An observation for the policy, with the actions the robot will execute meanwhile ({@code committedPrefix}, or null). */
  static SessionRequest observation(Observation observation, CommittedPrefix committedPrefix,
      Map<String, String> traceContext) {
    SessionRequest.Builder request = SessionRequest.newBuilder().setObservation(observation)
        .putAllTraceContext(traceContext);
    if (committedPrefix != null) {
      request.setCommittedPrefix(committedPrefix);
    }
    return request.build();
  }

  // ------------------------------------------------------------------ to the controller bridge

  /** Whether the bridge's mode holds the robot until a resume. */
  static SessionMachine.BridgeHold bridgeHold(ExecutionMode mode) {
    return switch (mode) {
      case EXECUTION_MODE_HALTED -> SessionMachine.BridgeHold.HALTED;
      case EXECUTION_MODE_ESTOPPED -> SessionMachine.BridgeHold.E_STOPPED;
      default -> SessionMachine.BridgeHold.NONE;
    };
  }

  /** The start of a robot's Execute stream for gateway session {@code sessionId} on connection {@code epoch}. */
  static ExecuteRequest executeStart(RobotIdentity robot, Duration statePeriod, String sessionId, long epoch) {
    return executeStart(robot, statePeriod, sessionId, epoch, false, false);
  }

  /**
   * As above; {@code blendAtOnce}: each chunk replaces the executing motion at once (CHUNK_CONTINUATION_NONE),
   * otherwise the bridge's configured blending applies; {@code record}: the bridge records the stream in full.
   */
  static ExecuteRequest executeStart(RobotIdentity robot, Duration statePeriod, String sessionId, long epoch,
      boolean blendAtOnce, boolean record) {
    ExecuteStart.Builder start = ExecuteStart.newBuilder().setRobot(robot)
        .setStatePeriod(ProtoTimes.duration(statePeriod)).setSessionId(sessionId).setConnectionEpoch(epoch)
        .setRecord(record);
    if (blendAtOnce) {
      start.setBlending(io.vlaserve.controller.v1.Blending.BLENDING_NONE);
    }
    return ExecuteRequest.newBuilder().setStart(start).build();
  }

  static ExecuteRequest chunk(ActionChunk chunk, Map<String, String> traceContext) {
    return ExecuteRequest.newBuilder().setChunk(chunk).putAllTraceContext(traceContext).build();
  }

  static HaltRequest halt(String robotId, String reason) {
    return HaltRequest.newBuilder().setRobotId(robotId).setReason("robot: " + reason).build();
  }

  static ResumeRequest resume(String robotId) {
    return ResumeRequest.newBuilder().setRobotId(robotId).build();
  }
}
