package io.vlaserve.controller;

import java.time.Duration;
import java.util.Locale;

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
 * @param maxBlendNanos the longest crossfade a stream may ask for: while it lasts, older
 *     trajectories still steer the robot past their own end
 * @param maxOpenLoopNanos the longest chunk horizon (steps times step period) accepted: a chunk
 *     runs blind to the world, so its horizon bounds how long the robot moves on one observation
 */
public record ControllerConfig(String robotId, long tickPeriodNanos, int maxChunkSteps, int maxBlendLayers,
    long maxObservationLeadNanos, int eventCapacity, long maxBlendNanos, long maxOpenLoopNanos) {

  /** Default {@link #maxBlendNanos}: 500 ms, five times the default crossfade. */
  public static final long DEFAULT_MAX_BLEND_NANOS = Duration.ofMillis(500).toNanos();
  /** Default {@link #maxOpenLoopNanos}: 2 s (production VLAs replan every 0.1-0.2 s). */
  public static final long DEFAULT_MAX_OPEN_LOOP_NANOS = Duration.ofSeconds(2).toNanos();

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
    if (maxBlendNanos < 0 || maxBlendNanos > 10_000_000_000L) {
      throw new IllegalArgumentException("maxBlend: " + maxBlendNanos + " ns (expected: 0..10 s)");
    }
    if (maxOpenLoopNanos <= 0 || maxOpenLoopNanos > 60_000_000_000L) {
      throw new IllegalArgumentException("maxOpenLoop: " + maxOpenLoopNanos + " ns (expected: > 0 and <= 60 s)");
    }
  }

  /**
   * Checks a stream's execution settings against {@link #maxBlendNanos}.
   *
   * @throws IllegalArgumentException naming {@code blend_time} and the maximum
   */
  public void checkSettings(ExecutionSettings settings) {
    long blend = settings.blending().blendTimeNanos();
    if (settings.blending().mode() == io.vlaserve.controller.trajectory.Blending.Mode.LINEAR_CROSSFADE
        && blend > maxBlendNanos) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "blend_time: %.3f s (expected: at most %.3f s,"
          + " the bridge's max-blend-time: while a crossfade lasts, older chunks still steer the robot)",
          blend * 1e-9, maxBlendNanos * 1e-9));
    }
  }

  /**
   * A 1 kHz controller for {@code robotId} with defaults: 128 steps, 32 layers, 50 ms lead, 1024
   * events, 500 ms longest crossfade, 2 s longest chunk horizon.
   */
  public static ControllerConfig of(String robotId) {
    return new ControllerConfig(robotId, 1_000_000, 128, 32, Duration.ofMillis(50).toNanos(), 1024,
        DEFAULT_MAX_BLEND_NANOS, DEFAULT_MAX_OPEN_LOOP_NANOS);
  }

  /** Returns a copy with the given tick rate. */
  public ControllerConfig withRateHz(double rateHz) {
    return new ControllerConfig(robotId, Math.round(1e9 / rateHz), maxChunkSteps, maxBlendLayers,
        maxObservationLeadNanos, eventCapacity, maxBlendNanos, maxOpenLoopNanos);
  }

  /** Returns the control period in seconds. */
  public double tickSeconds() {
    return tickPeriodNanos * 1e-9;
  }
}
