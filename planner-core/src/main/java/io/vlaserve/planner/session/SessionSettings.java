package io.vlaserve.planner.session;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link SessionMachine} judges subgoals and waits for policy-service and the bridge.
 *
 * @param maxReplans replans allowed per session before a failing subgoal fails the session; >= 0
 * @param subgoalTimeFactor a subgoal's time budget is its step budget x the policy's step period x this; > 0
 * @param policyFailoverTimeout how long the session waits for a lost policy-service to come back
 *     (the robot holds meanwhile) before it fails
 * @param bridgeFailoverTimeout how long the session waits for the robot's controller bridge to come
 *     back, or the robot to turn up at another, after the bridge went away (the robot holds)
 */
public record SessionSettings(int maxReplans, double subgoalTimeFactor, Duration policyFailoverTimeout,
    Duration bridgeFailoverTimeout) {
  /** The same failover time for policy-service and the bridge. */
  public SessionSettings(int maxReplans, double subgoalTimeFactor, Duration failoverTimeout) {
    this(maxReplans, subgoalTimeFactor, failoverTimeout, failoverTimeout);
  }

  public SessionSettings {
    if (maxReplans < 0) {
      throw new IllegalArgumentException("maxReplans: " + maxReplans + " (expected >= 0)");
    }
    if (!(subgoalTimeFactor > 0)) {
      throw new IllegalArgumentException("subgoalTimeFactor: " + subgoalTimeFactor + " (expected > 0)");
    }
    Objects.requireNonNull(policyFailoverTimeout, "policyFailoverTimeout");
    Objects.requireNonNull(bridgeFailoverTimeout, "bridgeFailoverTimeout");
  }
}
