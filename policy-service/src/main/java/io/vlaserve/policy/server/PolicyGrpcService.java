package io.vlaserve.policy.server;

import io.vlaserve.service.tracing.VlaTracing;
import com.google.protobuf.util.Durations;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.PolicyResult;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.v1.BatchingInfo;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.springframework.stereotype.Service;

/**
 * Thin gRPC adapter over the policy core: validates and converts messages, queues inference with
 * the continuous-batching scheduler, maps errors to statuses through {@link PolicyStatus}. No call
 * thread waits for compute: answers are sent when the scheduler completes. Thread-safe.
 */
@Service
public class PolicyGrpcService extends PolicyServiceGrpc.PolicyServiceImplBase {
  private final PolicyRuntime runtime;
  private final PolicyMetrics metrics;
  private final PolicyProperties properties;
  private final AtomicLong unaryChunkIds = new AtomicLong();
  private final AtomicLong anonymousCalls = new AtomicLong();

  private final VlaTracing tracing;

  /** Spans of traced control steps. */
  VlaTracing tracing() {
    return tracing;
  }

  public PolicyGrpcService(PolicyRuntime runtime, PolicyMetrics metrics, PolicyProperties properties,
      VlaTracing tracing) {
    this.tracing = tracing;
    this.runtime = runtime;
    this.metrics = metrics;
    this.properties = properties;
  }

  @Override
  public void getMetadata(GetMetadataRequest request, StreamObserver<PolicyMetadata> responses) {
    if (!runtime.ready()) {
      responses.onError(PolicyStatus.of(notReady()).asRuntimeException());
      return;
    }
    responses.onNext(PolicyMessages.metadata(runtime));
    responses.onCompleted();
  }

  @Override
  public void infer(InferRequest request, StreamObserver<InferResponse> responses) {
    long received = System.nanoTime();
    try {
      Deadline deadline = Context.current().getDeadline();
      if (deadline != null && deadline.isExpired()) {
        throw new PolicyStatus.ExpiredException("the call's deadline passed before inference started; nothing was computed");
      }
      long deadlineNanos = received + (deadline != null ? deadline.timeRemaining(TimeUnit.NANOSECONDS)
          : properties.observationDeadline().toNanos());
      // Calls without a robot id queue as robots of their own: fairness needs the id.
      String robot = request.getRobot().getRobotId().isEmpty() ? "call-" + anonymousCalls.incrementAndGet()
          : request.getRobot().getRobotId();
      submit(robot, null, request.getObservation(), request.getInstruction(),
          PolicyMessages.sampling(request.getSampling()), request.getChunkLength(), received, deadlineNanos,
          unaryChunkIds::incrementAndGet)
          .whenComplete((response, failure) -> {
            if (failure == null) {
              responses.onNext(response);
              responses.onCompleted();
            } else {
              responses.onError(failed(failure));
            }
          });
    } catch (RuntimeException e) {
      responses.onError(failed(e));
    }
  }

  @Override
  public StreamObserver<SessionRequest> session(StreamObserver<SessionResponse> responses) {
    return new PolicySession(this, responses, properties.observationDeadline());
  }

  PolicyRuntime runtime() {
    return runtime;
  }

  PolicyMetrics metrics() {
    return metrics;
  }

  PolicyStatus.NotReadyException notReady() {
    return new PolicyStatus.NotReadyException("model " + runtime.model().name() + " is " + runtime.state()
        + (runtime.failure().isEmpty() ? "" : " (" + runtime.failure() + ")") + "; retry when health reports SERVING");
  }

  /** Counts a failure by status code and turns it into the exception to answer with. */
  StatusRuntimeException failed(Throwable failure) {
    StatusRuntimeException exception = PolicyStatus.exception(failure);
    metrics.recordOutcome(exception.getStatus().getCode().name());
    return exception;
  }

  /**
   * Checks and preprocesses one observation and queues it with the scheduler.
   *
   * @param sampling the call's or the session's parameters; the request samples with the seed derived
   *     from their seed and the observation's sequence ({@link SamplingParams#forObservation(long)})
   * @param received when the request arrived (queue and total time are measured from it)
   * @param deadlineNanos on {@link System#nanoTime()}: dropped with DEADLINE_EXCEEDED if still queued then
   * @throws RuntimeException for a request refused before queueing (bad input, overload, not ready)
   */
  CompletableFuture<InferResponse> submit(String robot, Object session, Observation observation, String instruction,
      SamplingParams sampling, int chunkLength, long received, long deadlineNanos, LongSupplier chunkIds) {
    if (!runtime.ready()) {
      throw notReady();
    }
    ModelPackage model = runtime.model();
    Image frame = PolicyMessages.frame(observation, model.camera());
    byte[] pixels = runtime.images().toModelInput(PolicyMessages.format(frame.getEncoding()), frame.getData().toByteArray(),
        frame.getWidth(), frame.getHeight());
    float[] proprio = PolicyMessages.proprio(model, observation);
    int steps = chunkLength == 0 ? model.chunkLength() : chunkLength;
    long preprocessed = System.nanoTime();
    // The one place a stream's seed becomes an observation's: every observation of a session (and
    // every unary call) draws its own noise, reproducible from (seed, sequence) alone or batched.
    SamplingParams observationSampling = sampling.forObservation(observation.getSequence());
    return runtime.submit(robot, session, new PolicyRequest(pixels, instruction, proprio, steps, observationSampling),
            deadlineNanos)
        .thenApply(scheduled -> {
          long finished = System.nanoTime();
          PolicyResult result = scheduled.result();
          metrics.recordStage("queue", scheduled.queueNanos());
          metrics.recordStage("preprocess", preprocessed - received);
          metrics.recordStage("prefill", result.prefillNanos());
          metrics.recordStage("decode", result.decodeNanos());
          metrics.recordStage("postprocess", result.postprocessNanos());
          metrics.recordStage("total", finished - received);
          metrics.recordOutcome("ok");
          return InferResponse.newBuilder()
              .setChunk(PolicyMessages.chunk(model, result, observation, chunkIds.getAsLong()))
              .setTiming(PolicyMessages.timing(scheduled.queueNanos(), preprocessed - received, result, finished - received))
              .setBatching(BatchingInfo.newBuilder()
                  .setEngine(Durations.fromNanos(scheduled.engineNanos()))
                  .setLargestBatch(scheduled.largestBatch()))
              .setModelVersion(model.version())
              .build();
        });
  }
}
