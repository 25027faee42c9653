package io.vlaserve.planner.gateway;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * policy-service's metadata (skills, cameras, step period), asked for at most once per
 * {@link #FRESH_FOR}: every session open and every resume needs it, and a robot handed over from
 * a replica that is shutting down holds while its new replica asks. The metadata describes the
 * deployed model, which changes only with a rollout of policy-service; each session's own stream
 * is answered with the metadata of the replica it reaches regardless. Thread-safe.
 */
final class PolicyHandshake {
  /** How long an answer is used before policy-service is asked again. */
  static final Duration FRESH_FOR = Duration.ofSeconds(10);

  private final ManagedChannel policy;
  private final Duration callTimeout;
  private final LongSupplier nanoTime;
  private volatile Answer last;

  private record Answer(PolicyMetadata metadata, long atNanos) {}

  PolicyHandshake(ManagedChannel policy, Duration callTimeout, LongSupplier nanoTime) {
    this.policy = policy;
    this.callTimeout = callTimeout;
    this.nanoTime = nanoTime;
  }

  /**
   * The metadata, from an answer younger than {@link #FRESH_FOR} or asked for now, within the call
   * timeout.
   *
   * @throws StatusRuntimeException UNAVAILABLE naming what policy-service answered
   */
  PolicyMetadata metadata() {
    Answer answer = last;
    long now = nanoTime.getAsLong();
    if (answer != null && now - answer.atNanos() < FRESH_FOR.toNanos()) {
      return answer.metadata();
    }
    return ask(now);
  }

  /**
   * Asks policy-service now, however fresh the last answer: refreshed ahead, sessions never wait
   * for an answer that just went stale.
   *
   * @throws StatusRuntimeException UNAVAILABLE naming what policy-service answered
   */
  PolicyMetadata refresh() {
    return ask(nanoTime.getAsLong());
  }

  private PolicyMetadata ask(long now) {
    try {
      PolicyMetadata metadata = PolicyServiceGrpc.newBlockingStub(policy)
          .withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
          .getMetadata(GetMetadataRequest.getDefaultInstance());
      last = new Answer(metadata, now);
      return metadata;
    } catch (StatusRuntimeException e) {
      throw GatewayStatus.policyUnavailable(e.getStatus()).asRuntimeException();
    }
  }
}
