package io.vlaserve.tokenizer;

/**
 * One dimension of a robot's action space.
 *
 * @param name e.g. {@code "dx"} or {@code "gripper"}
 * @param low UNIFORM: lower binning bound. OPENVLA: the statistics' q01.
 * @param high UNIFORM: upper binning bound. OPENVLA: the statistics' q99.
 * @param normalized OPENVLA only: the statistics' mask; unmasked dimensions pass through raw
 * @param constant OPENVLA only: the dataset never varied this dimension (min == max), so it
 *     normalises to 0.0 as in OpenVLA
 */
public record ActionDimension(String name, double low, double high, boolean normalized, boolean constant) {

  /** A dimension of a uniform profile. */
  public static ActionDimension uniform(String name, double low, double high) {
    return new ActionDimension(name, low, high, true, false);
  }
}
