package io.vlaserve.controller.server;

import io.vlaserve.controller.loop.ControlLoop;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * UP while every control loop runs; DOWN before they start, after they stop, or if a loop thread
 * died. gRPC health follows the overall actuator health, so it reports SERVING only once the loops
 * run. Thread-safe.
 */
@Component("controlLoops")
public class ControlLoopsHealthIndicator implements HealthIndicator {
  private final RobotFleet fleet;
  private final ControllerMetrics metrics;

  public ControlLoopsHealthIndicator(RobotFleet fleet, ControllerMetrics metrics) {
    this.fleet = fleet;
    this.metrics = metrics;
  }

  @Override
  public Health health() {
    boolean allRunning = true;
    Health.Builder health = Health.up();
    for (ControlLoop loop : fleet.loops()) {
      var stats = metrics.loopStatistics(loop);
      allRunning &= loop.isRunning();
      health.withDetail("loop-" + loop.name(), (loop.isRunning() ? "running" : "stopped") + ", " + loop.scheduling() + ", " + stats.ticks()
          + " ticks, " + stats.missedDeadlines() + " missed deadlines");
    }
    health.withDetail("robots", fleet.robots().stream().map(Robot::id).toList());
    return allRunning ? health.build() : health.down().build();
  }
}
