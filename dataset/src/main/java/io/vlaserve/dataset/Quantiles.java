package io.vlaserve.dataset;

import java.util.Arrays;

/** Summary statistics of one column, computed the way NumPy does for OpenVLA's statistics files. */
final class Quantiles {
  private Quantiles() {}

  /**
   * {@code np.quantile(values, q)} with NumPy's default ("linear") method: the value at fractional
   * index {@code q * (n - 1)} of the sorted data, interpolated the way NumPy's {@code _lerp} does.
   */
  static double quantile(double[] sorted, double q) {
    double index = q * (sorted.length - 1);
    int below = (int) Math.floor(index);
    int above = Math.min(below + 1, sorted.length - 1);
    double t = index - below;
    double a = sorted[below];
    double b = sorted[above];
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  }

  /** mean, std (population, as np.std), min, max, q01, q99 of a column. */
  static double[] summarize(double[] column) {
    double[] sorted = column.clone();
    Arrays.sort(sorted);
    double sum = 0;
    for (double v : column) {
      sum += v;
    }
    double mean = sum / column.length;
    double squares = 0;
    for (double v : column) {
      squares += (v - mean) * (v - mean);
    }
    return new double[] {mean, Math.sqrt(squares / column.length), sorted[0], sorted[sorted.length - 1],
        quantile(sorted, 0.01), quantile(sorted, 0.99)};
  }
}
