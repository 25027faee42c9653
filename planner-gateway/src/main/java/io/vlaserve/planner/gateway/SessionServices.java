package io.vlaserve.planner.gateway;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vlaserve.planner.Planner;
import io.vlaserve.planner.PlanningException;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;

/** What every robot session uses: channels, planner, executors, registry, metrics, settings. */
record SessionServices(
    GatewayConfiguration.ServiceChannels channels,
    Planner planner,
    ExecutorService planningExecutor,
    ScheduledExecutorService timer,
    SessionRegistry registry,
    GatewayMetrics metrics,
    GatewayProperties properties,
    io.vlaserve.service.tracing.VlaTracing tracing) {

  /**
   * The policy's handshake (skills, camera, step period), within the call timeout.
   *
   * @throws StatusRuntimeException UNAVAILABLE naming what policy-service answered
   */
  PolicyMetadata policyMetadata() {
    try {
      return PolicyServiceGrpc.newBlockingStub(channels.policy())
          .withDeadlineAfter(properties.callTimeout().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
          .getMetadata(GetMetadataRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw Status.UNAVAILABLE.withDescription("policy-service is not available (" + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription() + "); retry shortly").asRuntimeException();
    }
  }

  /** The status a caller gets when no plan could be made. */
  /** The retry hint of a refusal because the planner was busy. */
  static final java.time.Duration PLANNER_BUSY_RETRY = java.time.Duration.ofSeconds(1);

  static Status planningStatus(PlanningException e) {
    return switch (e.kind()) {
      case UNSUPPORTED_TASK -> Status.INVALID_ARGUMENT.withDescription(e.getMessage());
      case TIMEOUT -> Status.DEADLINE_EXCEEDED.withDescription("the planner did not answer in time: " + e.getMessage());
      case UNAVAILABLE -> Status.UNAVAILABLE.withDescription("the planner is unavailable: " + e.getMessage());
      case INVALID_REPLY -> Status.UNAVAILABLE.withDescription("the planner gave no valid plan: " + e.getMessage());
      case BUSY -> Status.RESOURCE_EXHAUSTED.withDescription("the planner is busy: " + e.getMessage()
          + "; retry in " + PLANNER_BUSY_RETRY.toMillis() + " ms");
    };
  }
}
