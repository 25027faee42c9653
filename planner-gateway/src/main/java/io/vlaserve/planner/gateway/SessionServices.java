package io.vlaserve.planner.gateway;

import io.grpc.StatusRuntimeException;
import io.vlaserve.planner.Planner;
import io.vlaserve.planner.session.SessionSettings;
import io.vlaserve.policy.v1.PolicyMetadata;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;

/** What every robot session uses: channels, planner, executors, registry, metrics, settings, resume tokens, the policy's handshake. */
record SessionServices(
    GatewayConfiguration.ServiceChannels channels,
    Planner planner,
    ExecutorService planningExecutor,
    ScheduledExecutorService timer,
    SessionRegistry registry,
    GatewayMetrics metrics,
    GatewayProperties properties,
    io.vlaserve.service.tracing.VlaTracing tracing,
    GatewayResume resume,
    PolicyHandshake policyHandshake,
    GatewayRecording recording) {

  /**
   * The policy's handshake (skills, camera, step period), at most {@link PolicyHandshake#FRESH_FOR} old.
   *
   * @throws StatusRuntimeException UNAVAILABLE naming what policy-service answered
   */
  PolicyMetadata policyMetadata() {
    return policyHandshake.metadata();
  }

  /** How each session judges subgoals and waits for policy-service. */
  SessionSettings sessionSettings() {
    return new SessionSettings(properties.maxReplans(), properties.subgoalTimeFactor(),
        properties.policyFailoverTimeout(), properties.bridgeFailoverTimeout());
  }
}
