package io.vlaserve.planner.gateway;

import io.grpc.StatusRuntimeException;
import io.vlaserve.planner.Planner;
import io.vlaserve.planner.session.SessionSettings;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;

/** What every robot session uses: channels, planner, executors, registry, metrics, settings, resume tokens. */
record SessionServices(
    GatewayConfiguration.ServiceChannels channels,
    Planner planner,
    ExecutorService planningExecutor,
    ScheduledExecutorService timer,
    SessionRegistry registry,
    GatewayMetrics metrics,
    GatewayProperties properties,
    io.vlaserve.service.tracing.VlaTracing tracing,
    GatewayResume resume) {

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
      throw GatewayStatus.policyUnavailable(e.getStatus()).asRuntimeException();
    }
  }

  /** How each session judges subgoals and waits for policy-service. */
  SessionSettings sessionSettings() {
    return new SessionSettings(properties.maxReplans(), properties.subgoalTimeFactor(),
        properties.policyFailoverTimeout());
  }
}
