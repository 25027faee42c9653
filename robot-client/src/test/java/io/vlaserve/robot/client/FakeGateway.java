package io.vlaserve.robot.client;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.planner.v1.ClockProbeReply;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.HoldNotice;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.PlannerGatewayGrpc;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.StepForwarded;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.planner.v1.SubgoalStatus;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A planner gateway that accepts every session and starts driving it at once (a subgoal started,
 * the bridge executing), answers clock probes with its own wall clock like the real one, and ends
 * sessions when the test says; or refuses every session with a status.
 */
final class FakeGateway extends PlannerGatewayGrpc.PlannerGatewayImplBase {
  final List<SessionOpen> opens = new CopyOnWriteArrayList<>();
  final AtomicInteger probes = new AtomicInteger();
  private final io.grpc.StatusRuntimeException refuseWith;
  private volatile boolean mute;
  /** Refuses every open that carries a resume token with this, when set. */
  volatile Status refuseResumesWith;
  private volatile StreamObserver<GatewayMessage> robot;

  FakeGateway() {
    this((io.grpc.StatusRuntimeException) null);
  }

  FakeGateway(Status refuseWith) {
    this(refuseWith == null ? null : refuseWith.asRuntimeException());
  }

  /** A gateway that refuses every open with {@code refuseWith}, trailers (e.g. RetryInfo) included. */
  FakeGateway(io.grpc.StatusRuntimeException refuseWith) {
    this.refuseWith = refuseWith;
  }

  /** From now on, says nothing more and answers no probe, but keeps the connection open (a hung gateway). */
  void mute() {
    mute = true;
  }

  @Override
  public StreamObserver<RobotMessage> robotSession(StreamObserver<GatewayMessage> responses) {
    return new StreamObserver<>() {
      @Override
      public void onNext(RobotMessage message) {
        synchronized (FakeGateway.this) {
          switch (message.getMessageCase()) {
            case OPEN -> opened(message.getOpen(), responses);
            case CLOCK_PROBE -> {
              probes.incrementAndGet();
              if (mute) {
                return;
              }
              Timestamp received = timestamp(Instant.now());
              responses.onNext(GatewayMessage.newBuilder().setClockReply(ClockProbeReply.newBuilder()
                  .setProbeId(message.getClockProbe().getProbeId())
                  .setRobotSendTime(message.getClockProbe().getRobotSendTime())
                  .setGatewayReceiveTime(received).setGatewaySendTime(timestamp(Instant.now()))).build());
            }
            default -> { }
          }
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        synchronized (FakeGateway.this) {
          responses.onCompleted();
        }
      }
    };
  }

  private void opened(SessionOpen open, StreamObserver<GatewayMessage> responses) {
    opens.add(open);
    if (refuseWith != null) {
      responses.onError(refuseWith);
      return;
    }
    if (refuseResumesWith != null && !open.getResumeToken().isEmpty()) {
      responses.onError(refuseResumesWith.asRuntimeException());
      return;
    }
    robot = responses;
    // Tokens name the open and the message that carried them: "token-<open>-accepted", "-subgoal-1".
    responses.onNext(GatewayMessage.newBuilder().setAccepted(SessionAccepted.newBuilder()
        .setSessionId("s-" + opens.size()).setControlRateHz(500)
        .setResumeToken("token-" + opens.size() + "-accepted")).build());
    responses.onNext(GatewayMessage.newBuilder().setSubgoal(SubgoalEvent.newBuilder().setSubgoalId("1")
        .setStatus(SubgoalStatus.SUBGOAL_STATUS_STARTED).setAttempt(1)
        .setResumeToken("token-" + opens.size() + "-subgoal-1")).build());
    responses.onNext(GatewayMessage.newBuilder().setState(ExecutionState.newBuilder().setRobotId(
        open.getRobot().getRobotId()).setMode(ExecutionMode.EXECUTION_MODE_EXECUTING)).build());
  }

  /** Tells the robot to hold, as the gateway does when policy-service is down. */
  synchronized void hold(String reason) {
    hold(reason, "");
  }

  /** Tells the robot to hold with a fresh resume token, as a gateway that shuts down does. */
  synchronized void hold(String reason, String resumeToken) {
    robot.onNext(GatewayMessage.newBuilder().setHold(HoldNotice.newBuilder().setReason(reason)
        .setResumeToken(resumeToken)).build());
  }

  /** Hands the session over as a shutting-down gateway does: a hold with a fresh token, then UNAVAILABLE. */
  synchronized void handOver(String resumeToken) {
    hold("the gateway is shutting down", resumeToken);
    robot.onError(io.grpc.Status.UNAVAILABLE.withDescription("the gateway is shutting down").asRuntimeException());
  }

  /** Reports that the chunk of observation {@code sequence} went to the bridge (report_steps). */
  synchronized void stepForwarded(long sequence) {
    robot.onNext(GatewayMessage.newBuilder().setStepForwarded(StepForwarded.newBuilder()
        .setObservationSequence(sequence)).build());
  }

  /** Reports the bridge in {@code mode} for the robot. */
  synchronized void state(ExecutionMode mode) {
    robot.onNext(GatewayMessage.newBuilder().setState(ExecutionState.newBuilder().setMode(mode)).build());
  }

  /** Ends the open session with {@code outcome}, as the real gateway does: outcome, then OK. */
  synchronized void finish(Outcome outcome) {
    robot.onNext(GatewayMessage.newBuilder().setOutcome(SessionOutcome.newBuilder().setOutcome(outcome)
        .setReason("done").setSubgoalsCompleted(1)).build());
    robot.onCompleted();
  }

  private static Timestamp timestamp(Instant time) {
    return Timestamp.newBuilder().setSeconds(time.getEpochSecond()).setNanos(time.getNano()).build();
  }
}
