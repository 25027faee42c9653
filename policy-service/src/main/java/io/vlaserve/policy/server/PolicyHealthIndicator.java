package io.vlaserve.policy.server;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * UP only once the model is loaded and warm. Spring's gRPC health service derives its overall
 * status from actuator health, so gRPC health reports SERVING at the same moment.
 */
@Component("policy")
class PolicyHealthIndicator implements HealthIndicator {
  private final PolicyRuntime runtime;

  PolicyHealthIndicator(PolicyRuntime runtime) {
    this.runtime = runtime;
  }

  @Override
  public Health health() {
    Health.Builder builder = switch (runtime.state()) {
      case READY -> Health.up();
      case FAILED -> Health.down().withDetail("failure", runtime.failure());
      default -> Health.outOfService();
    };
    return builder.withDetail("state", runtime.state().name())
        .withDetail("model", runtime.model().name() + " " + runtime.model().version())
        .withDetail("engine", runtime.engine().name())
        .build();
  }
}
