package io.vlaserve.controller;

import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import java.time.Duration;

/**
 * How a stream's chunks are executed: the interpolation between waypoints and how each new chunk
 * blends into the executing motion.
 *
 * <p>Immutable and thread-safe.
 */
public record ExecutionSettings(Interpolation interpolation, Blending blending) {

  /** Minimum-jerk segments and a 100 ms crossfade: continuous acceleration everywhere. */
  public static final ExecutionSettings DEFAULT =
      new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.crossfade(Duration.ofMillis(100)));

  public ExecutionSettings {
    if (interpolation == null) {
      throw new IllegalArgumentException("interpolation: null (expected: LINEAR, CUBIC or MINIMUM_JERK)");
    }
    if (blending == null) {
      throw new IllegalArgumentException("blending: null (expected: NONE, EXPONENTIAL or LINEAR_CROSSFADE)");
    }
  }
}
