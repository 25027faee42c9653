package io.vlaserve.policy;

import io.vlaserve.policy.decode.SamplingParams;

/**
 * One observation to act on, already at the model's input format.
 *
 * <p>A committed prefix (real-time chunking) holds the actions the robot will execute while this
 * request is computed: their tokens are forced as the chunk's first steps, so the steps decoded
 * after them are conditioned on them, and the result holds only those later steps.
 *
 * @param image RGB bytes of every camera's frame at its input size ({@code height * width * 3} each), back to
 *     back in the model's camera order
 * @param instruction the subgoal, in the model's skill language
 * @param proprio raw proprioception in the model's order
 * @param chunkLength the chunk's steps, committed prefix included: 1..the model's chunk length
 * @param sampling how tokens are chosen
 * @param committedPrefix d actions (raw units, the model's action space, D values each) forced as the
 *     chunk's first d steps, fewer than {@code chunkLength}; empty for none
 */
public record PolicyRequest(byte[] image, String instruction, float[] proprio, int chunkLength, SamplingParams sampling,
    double[][] committedPrefix) {

  private static final double[][] NONE = new double[0][];

  public PolicyRequest {
    if (committedPrefix == null) {
      committedPrefix = NONE;
    }
  }

  /** A request without a committed prefix. */
  public PolicyRequest(byte[] image, String instruction, float[] proprio, int chunkLength, SamplingParams sampling) {
    this(image, instruction, proprio, chunkLength, sampling, NONE);
  }

  /** Steps of the committed prefix, d. */
  public int prefixSteps() {
    return committedPrefix.length;
  }

  /** Steps the result holds: the chunk after the committed prefix. */
  public int resultSteps() {
    return chunkLength - committedPrefix.length;
  }
}
