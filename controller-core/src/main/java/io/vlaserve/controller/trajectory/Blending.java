package io.vlaserve.controller.trajectory;

import java.time.Duration;

/**
 * How a new chunk takes over from the trajectories already executing.
 *
 * <p>The output is a normalised weighted blend of the active trajectories, each weight the product
 * of a base weight and smooth ramps (the minimum-jerk profile {@code 10u^3 - 15u^4 + 6u^5}, whose
 * first and second derivatives vanish at both ends). A new trajectory ramps in from weight zero, so
 * the blend is continuous in position, velocity and acceleration at the seam whenever the executing
 * blend is; {@link Mode#NONE} has no ramp and is continuous in position only, because the new chunk
 * is anchored at the commanded pose.
 *
 * <p>Immutable and thread-safe.
 *
 * @param mode the weighting
 * @param decay {@link Mode#EXPONENTIAL}: an older prediction's weight relative to the newest is
 *     {@code exp(-decay * age_in_steps)}, age being how many step periods older its observation is;
 *     0 averages all overlapping predictions equally
 * @param blendTimeNanos {@link Mode#LINEAR_CROSSFADE}: how long the crossfade takes
 */
public record Blending(Mode mode, double decay, long blendTimeNanos) {

  /** The weighting of old against new. */
  public enum Mode {
    /** The new chunk replaces the executing one at once. */
    NONE,
    /**
     * Temporal ensembling as in ACT: every chunk whose horizon covers the current time contributes,
     * weighted by {@code exp(-decay * age_in_steps)}. A new chunk ramps in over one step period and a
     * superseded one ramps out over the last step period of its horizon.
     */
    EXPONENTIAL,
    /**
     * The executing trajectories fade out and the new one fades in over {@code blendTime}: a linear
     * combination of old and new whose weight follows the minimum-jerk profile in time. (A weight
     * linear in time would leave a velocity step of {@code (new - old) / blendTime} at the end of
     * the fade, where old and new have drifted apart.)
     */
    LINEAR_CROSSFADE
  }

  /** Replace at once. */
  public static final Blending NONE = new Blending(Mode.NONE, 0, 0);

  public Blending {
    if (mode == null) {
      throw new IllegalArgumentException("blending: null (expected: NONE, EXPONENTIAL or LINEAR_CROSSFADE)");
    }
    if (mode == Mode.EXPONENTIAL && !(decay >= 0 && Double.isFinite(decay))) {
      throw new IllegalArgumentException("blend_decay: " + decay + " (expected: a finite number >= 0)");
    }
    if (mode == Mode.LINEAR_CROSSFADE && blendTimeNanos <= 0) {
      throw new IllegalArgumentException(
          "blend_time: " + blendTimeNanos + " ns (expected: > 0 for LINEAR_CROSSFADE, e.g. 100 ms)");
    }
  }

  /** Temporal ensembling with the given decay per step of age. */
  public static Blending exponential(double decay) {
    return new Blending(Mode.EXPONENTIAL, decay, 0);
  }

  /** A crossfade over {@code blendTime}. */
  public static Blending crossfade(Duration blendTime) {
    return new Blending(Mode.LINEAR_CROSSFADE, 0, blendTime.toNanos());
  }
}
