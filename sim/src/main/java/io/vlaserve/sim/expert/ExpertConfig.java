package io.vlaserve.sim.expert;

/**
 * Tuning of the {@link ScriptedExpert}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param gain proportional gain: the fraction of the remaining error commanded per step before the
 *     per-step bounds apply, in (0, 1]
 * @param translationNoise standard deviation of the Gaussian noise added to dx, dy, dz, metres
 * @param rotationNoise standard deviation of the Gaussian noise added to droll, dpitch, dyaw,
 *     radians
 */
public record ExpertConfig(double gain, double translationNoise, double rotationNoise) {

  /** Gain 0.8, 2 mm translation noise, 0.005 rad rotation noise. */
  public static final ExpertConfig DEFAULT = new ExpertConfig(0.8, 0.002, 0.005);

  /** Gain 0.8 and no noise: fully deterministic demonstrations. */
  public static final ExpertConfig NOISELESS = new ExpertConfig(0.8, 0, 0);

  public ExpertConfig {
    if (!(gain > 0 && gain <= 1)) {
      throw new IllegalArgumentException("gain: " + gain + " (expected 0 < gain <= 1)");
    }
    if (!(translationNoise >= 0 && translationNoise <= 0.02)) {
      throw new IllegalArgumentException("translationNoise: " + translationNoise + " (expected 0..0.02 m)");
    }
    if (!(rotationNoise >= 0 && rotationNoise <= 0.2)) {
      throw new IllegalArgumentException("rotationNoise: " + rotationNoise + " (expected 0..0.2 rad)");
    }
  }
}
