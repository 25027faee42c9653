package io.vlaserve.benchmarks;

import java.util.Arrays;

/**
 * The baseline: a line-by-line port of OpenVLA's numpy code as one would first write it in Java,
 * allocating fresh arrays per call (as numpy does) and searching the edges with a binary search.
 * Only for comparison in the same benchmark run; it accepts NaN like numpy does.
 */
final class NaiveOpenVlaTokenizer {
  private final double[] q01;
  private final double[] q99;
  private final boolean[] mask;
  private final double[] bins;
  private final double[] centres;
  private final int vocabSize;

  NaiveOpenVlaTokenizer(double[] q01, double[] q99, boolean[] mask, int nBins, int vocabSize) {
    this.q01 = q01;
    this.q99 = q99;
    this.mask = mask;
    this.vocabSize = vocabSize;
    bins = new double[nBins];
    double step = 2.0 / (nBins - 1);
    for (int i = 0; i < nBins; i++) {
      bins[i] = i * step - 1.0;
    }
    bins[nBins - 1] = 1.0;
    centres = new double[nBins - 1];
    for (int i = 0; i < centres.length; i++) {
      centres[i] = (bins[i] + bins[i + 1]) / 2.0;
    }
  }

  int[] encode(double[] action) {
    double[] normalized = new double[action.length];
    for (int d = 0; d < action.length; d++) {
      double n = mask[d] ? 2 * (action[d] - q01[d]) / (q99[d] - q01[d] + 1e-8) - 1 : action[d];
      normalized[d] = Math.max(-1, Math.min(1, n));
    }
    int[] tokens = new int[action.length];
    for (int d = 0; d < action.length; d++) {
      int index = Arrays.binarySearch(bins, normalized[d]);
      int digitized = index >= 0 ? index + 1 : -index - 1; // number of edges <= x
      tokens[d] = vocabSize - digitized;
    }
    return tokens;
  }

  double[] decode(int[] tokens) {
    double[] action = new double[tokens.length];
    for (int d = 0; d < tokens.length; d++) {
      int index = Math.max(0, Math.min(centres.length - 1, vocabSize - tokens[d] - 1));
      double n = centres[index];
      action[d] = mask[d] ? 0.5 * (n + 1) * (q99[d] - q01[d]) + q01[d] : n;
    }
    return action;
  }
}
