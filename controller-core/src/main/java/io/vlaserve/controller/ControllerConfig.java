package io.vlaserve.controller;

import java.time.Duration;

/**
 * Fixed parameters of one robot's controller.
 *
 * <p>Immutable and thread-safe.
 *
 * @param robotId the robot
 * @param tickPeriodNanos the control period; 1 ms at 1 kHz, 2 ms at 500 Hz
 * @param maxChunkSteps the longest chunk accepted (buffers are sized for it)
 * @param maxBlendLayers how many trajectories may be blended at once
 * @param maxObservationLeadNanos how far in the future an observation time may lie (clock skew
 *     between robot and bridge) before a chunk is rejected
 * @param eventCapacity safety events buffered between drains
 */
public record ControllerConfig(String robotId, long tickPeriodNanos, int maxChunkSteps, int maxBlendLayers,
    long maxObservationLeadNanos, int eventCapacity) {

  public ControllerConfig {
    if (robotId == null || robotId.isBlank()) {
      throw new IllegalArgumentException("robot_id: empty (expected: a stable robot name, e.g. sim-0)");
    }
    if (tickPeriodNanos < 100_000 || tickPeriodNanos > 100_000_000) {
      throw new IllegalArgumentException(
          "tick period: " + tickPeriodNanos + " ns (expected: 0.1..100 ms, i.e. 10..10000 Hz)");
    }
    if (maxChunkSteps < 1 || maxChunkSteps > 4096) {
      throw new IllegalArgumentException("maxChunkSteps: " + maxChunkSteps + " (expected: 1..4096)");
    }
    if (maxBlendLayers < 2 || maxBlendLayers > 256) {
      throw new IllegalArgumentException("maxBlendLayers: " + maxBlendLayers + " (expected: 2..256)");
    }
    if (maxObservationLeadNanos < 0) {
      throw new IllegalArgumentException("maxObservationLead: " + maxObservationLeadNanos + " ns (expected: >= 0)");
    }
  }

  /** A 1 kHz controller for {@code robotId} with defaults: 128 steps, 32 layers, 50 ms lead, 1024 events. */
  public static ControllerConfig of(String robotId) {
    return new ControllerConfig(robotId, 1_000_000, 128, 32, Duration.ofMillis(50).toNanos(), 1024);
  }

  /** Returns a copy with the given tick rate. */
  public ControllerConfig withRateHz(double rateHz) {
    return new ControllerConfig(robotId, Math.round(1e9 / rateHz), maxChunkSteps, maxBlendLayers,
        maxObservationLeadNanos, eventCapacity);
  }

  /** Returns the control period in seconds. */
  public double tickSeconds() {
    return tickPeriodNanos * 1e-9;
  }
}
