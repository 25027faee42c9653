package io.vlaserve.planner.gateway;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.StepForwarded;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.proto.ProtoTimes;
import io.vlaserve.service.tracing.VlaTracing;
import io.vlaserve.service.warmup.WarmUpTask;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import org.springframework.stereotype.Component;

/**
 * Warms a control step's path through the gateway before it reports SERVING, on made-up messages
 * and without calling any other service: a robot's observation parsed as gRPC parses it, the
 * policy request built and serialised with its trace context, a chunk reply parsed, the execute
 * request and the step report built and serialised. These protobuf and tracing paths are most of
 * the gateway's work per step.
 */
@Component
class GatewayWarmUp implements WarmUpTask {
  private static final int STEPS_PER_ROUND = 100;
  private static final io.opentelemetry.api.trace.SpanContext STEP = io.opentelemetry.api.trace.SpanContext.create(
      "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", io.opentelemetry.api.trace.TraceFlags.getSampled(),
      io.opentelemetry.api.trace.TraceState.getDefault());

  private final VlaTracing tracing;
  private final byte[] robotMessage;
  private final byte[] policyReply;

  GatewayWarmUp(VlaTracing tracing) {
    this.tracing = tracing;
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    Observation observation = Observation.newBuilder().setSequence(1).setCaptureTime(ProtoTimes.timestamp(now))
        .addImages(Image.newBuilder().setCamera("third_person").setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8)
            .setWidth(64).setHeight(64).setData(ByteString.copyFrom(new byte[64 * 64 * 3])))
        .setState(RobotState.newBuilder().setTime(ProtoTimes.timestamp(now)).setEndEffector(Pose.newBuilder()
            .setPosition(Vector3.newBuilder().setX(0.5).setZ(0.2)).setOrientation(Quaternion.newBuilder().setW(1)))
            .setGripper(1))
        .build();
    robotMessage = RobotMessage.newBuilder().setObservation(RobotObservation.newBuilder().setObservation(observation))
        .build().toByteArray();
    ActionChunk.Builder chunk = ActionChunk.newBuilder().setChunkId(1).setActionProfile("eef-delta-7dof")
        .setStepPeriod(ProtoTimes.duration(Duration.ofMillis(100))).setObservationTime(ProtoTimes.timestamp(now));
    for (int s = 0; s < 8; s++) {
      ActionVector.Builder step = ActionVector.newBuilder();
      for (int d = 0; d < 7; d++) {
        step.addValues(0.001 * d);
      }
      chunk.addSteps(step);
    }
    policyReply = SessionResponse.newBuilder().setChunk(InferResponse.newBuilder().setChunk(chunk)).build().toByteArray();
  }

  @Override
  public String name() {
    return "control step";
  }

  @Override
  public void runOnce() {
    long bytes = 0;
    for (int i = 0; i < STEPS_PER_ROUND; i++) {
      try {
        Observation observation = RobotMessage.parseFrom(robotMessage).getObservation().getObservation();
        // A valid but non-recording span: its context propagates as a real step's does, and no
        // exporter ever sees a warm-up span.
        Span step = Span.wrap(STEP);
        bytes += SessionRequest.newBuilder().setObservation(observation)
            .putAllTraceContext(tracing.inject(Context.root().with(step))).build().toByteArray().length;
        SessionResponse reply = SessionResponse.parseFrom(policyReply);
        bytes += ExecuteRequest.newBuilder().setChunk(reply.getChunk().getChunk())
            .putAllTraceContext(tracing.inject(Context.root().with(step))).build().toByteArray().length;
        bytes += GatewayMessage.newBuilder().setStepForwarded(StepForwarded.newBuilder()
            .setObservationSequence(observation.getSequence()).setGatewayLatency(ProtoTimes.duration(
                Duration.ofNanos(i)))).build().toByteArray().length;
      } catch (InvalidProtocolBufferException e) {
        throw new UncheckedIOException(e);
      }
    }
    if (bytes == 0) {
      throw new IllegalStateException("warm-up serialised nothing");
    }
  }
}
