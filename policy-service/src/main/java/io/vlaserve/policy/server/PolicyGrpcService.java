package io.vlaserve.policy.server;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.service.tracing.VlaTracing;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import io.vlaserve.service.auth.Principal;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.stereotype.Service;

/**
 * Thin gRPC adapter over the policy core: validates and converts messages, queues inference with
 * the continuous-batching scheduler, maps errors to statuses through {@link PolicyStatus}. No call
 * thread waits for compute: answers are sent when the scheduler completes. Calls run on the
 * transport's event loop, so nothing here blocks: frames that need decoding are preprocessed on a
 * worker ({@link PolicyFrontDoor#submit(PolicyFrontDoor.Observation, InlineOrOffload)}). Thread-safe.
 */
@Service
public class PolicyGrpcService extends PolicyServiceGrpc.PolicyServiceImplBase {
  private final PolicyFrontDoor door;
  private final PolicyRuntime runtime;
  private final PolicyMetrics metrics;
  private final PolicyProperties properties;
  private final AtomicLong unaryChunkIds = new AtomicLong();
  private final AtomicLong anonymousCalls = new AtomicLong();

  private final VlaTracing tracing;

  public PolicyGrpcService(PolicyFrontDoor door, PolicyRuntime runtime, PolicyMetrics metrics,
      PolicyProperties properties, VlaTracing tracing) {
    this.tracing = tracing;
    this.door = door;
    this.runtime = runtime;
    this.metrics = metrics;
    this.properties = properties;
  }

  @Override
  public void getMetadata(GetMetadataRequest request, StreamObserver<PolicyMetadata> responses) {
    if (!door.ready()) {
      responses.onError(PolicyStatus.of(door.notReady()).asRuntimeException());
      return;
    }
    responses.onNext(PolicyMessages.metadata(runtime));
    responses.onCompleted();
  }

  @Override
  public void infer(InferRequest request, StreamObserver<InferResponse> responses) {
    long received = System.nanoTime();
    try {
      if (!door.ready()) {
        throw door.notReady();
      }
      Deadline deadline = Context.current().getDeadline();
      if (deadline != null && deadline.isExpired()) {
        throw new PolicyStatus.ExpiredException("the call's deadline passed before inference started; nothing was computed");
      }
      long deadlineNanos = received + (deadline != null ? deadline.timeRemaining(TimeUnit.NANOSECONDS)
          : properties.observationDeadline().toNanos());
      String robot = PolicyFrontDoor.queueAs(request.getRobot().getRobotId(), Principal.current(),
          () -> "call-" + anonymousCalls.incrementAndGet());
      PolicyFrontDoor.Observation observation = PolicyMessages.observation(door.model(), robot, null,
          request.getObservation(), request.getInstruction(), PolicyMessages.sampling(request.getSampling()),
          request.getChunkLength(), received, deadlineNanos, request.getCommittedPrefix());
      CompletableFuture<PolicyFrontDoor.Answer> answered = door.submit(observation, door.newOrder());
      if (responses instanceof ServerCallStreamObserver<InferResponse> call) {
        // A caller that gives up takes its request out of the queue: nothing is computed for it.
        call.setOnCancelHandler(() -> answered.cancel(false));
      }
      answered.whenComplete((answer, failure) -> {
        if (failure == null) {
          metrics.recordInference(answer, received);
          responses.onNext(PolicyMessages.response(door.model(), answer, request.getObservation(),
              unaryChunkIds.incrementAndGet(), received, observation.committedPrefix().length));
          responses.onCompleted();
        } else {
          responses.onError(metrics.failed(failure));
        }
      });
    } catch (RuntimeException e) {
      responses.onError(metrics.failed(e));
    }
  }

  @Override
  public StreamObserver<SessionRequest> session(StreamObserver<SessionResponse> responses) {
    return new PolicySession(door, metrics, tracing, responses, properties.observationDeadline());
  }

}
