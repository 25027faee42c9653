package io.vlaserve.policy.server;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.PolicyResult;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.stereotype.Service;

/**
 * Thin gRPC adapter over the policy core: validates and converts messages, runs inference, maps
 * errors to statuses through {@link PolicyStatus}. Thread-safe.
 */
@Service
public class PolicyGrpcService extends PolicyServiceGrpc.PolicyServiceImplBase {
  private final PolicyRuntime runtime;
  private final PolicyMetrics metrics;
  private final PolicyProperties properties;
  private final AtomicLong unaryChunkIds = new AtomicLong();

  public PolicyGrpcService(PolicyRuntime runtime, PolicyMetrics metrics, PolicyProperties properties) {
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
      InferResponse response = run(request.getObservation(), request.getInstruction(),
          PolicyMessages.sampling(request.getSampling()), request.getChunkLength(), unaryChunkIds.incrementAndGet(),
          received, received);
      responses.onNext(response);
      responses.onCompleted();
    } catch (RuntimeException e) {
      Status status = PolicyStatus.of(e);
      metrics.recordOutcome(status.getCode().name());
      responses.onError(status.asRuntimeException());
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

  /**
   * Runs one observation end to end.
   *
   * @param received when the request arrived (queue time is measured from it)
   * @param started when this observation's processing began
   */
  InferResponse run(Observation observation, String instruction, SamplingParams sampling, int chunkLength, long chunkId,
      long received, long started) {
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
    PolicyResult result = runtime.policy().infer(new PolicyRequest(pixels, instruction, proprio, steps, sampling));
    long finished = System.nanoTime();
    metrics.recordStage("queue", started - received);
    metrics.recordStage("preprocess", preprocessed - started);
    metrics.recordStage("prefill", result.prefillNanos());
    metrics.recordStage("decode", result.decodeNanos());
    metrics.recordStage("postprocess", result.postprocessNanos());
    metrics.recordStage("total", finished - received);
    metrics.recordOutcome("ok");
    return InferResponse.newBuilder()
        .setChunk(PolicyMessages.chunk(model, result, observation, chunkId))
        .setTiming(PolicyMessages.timing(started - received, preprocessed - started, result, finished - received))
        .setModelVersion(model.version())
        .build();
  }
}
