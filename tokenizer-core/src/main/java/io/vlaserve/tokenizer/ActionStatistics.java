package io.vlaserve.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code "action"} entry of one key of OpenVLA's {@code dataset_statistics.json}: per-dimension
 * mean, std, min, max, q01, q99 and the normalisation mask.
 */
public record ActionStatistics(
    double[] mean, double[] std, double[] min, double[] max, double[] q01, double[] q99, boolean[] mask) {

  /** Conventional names for 7-DoF end-effector deltas with a gripper, as OpenVLA datasets use them. */
  private static final List<String> EEF_NAMES = List.of("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper");

  public int dimensions() {
    return q01.length;
  }

  /**
   * An OpenVLA profile tokenizing with these statistics: q01/q99 as bounds, the mask as
   * normalisation flags, min == max marking constant dimensions.
   */
  public ActionProfile toOpenVlaProfile(String name, int bins, int vocabSize, String source) {
    List<ActionDimension> dims = new ArrayList<>(dimensions());
    for (int d = 0; d < dimensions(); d++) {
      String dimName = dimensions() == EEF_NAMES.size() ? EEF_NAMES.get(d) : "a" + d;
      boolean isConstant = min != null && max != null && min[d] == max[d];
      dims.add(new ActionDimension(dimName, q01[d], q99[d], mask[d], isConstant));
    }
    return new ActionProfile(name, Scheme.OPENVLA, bins, TokenLayout.SHARED, 0, vocabSize, dims, source);
  }
}
