package io.vlaserve.tokenizer;

import java.util.function.DoubleToIntFunction;

/**
 * A non-decreasing step function {@code f: double -> 0..steps} evaluated by comparisons instead of
 * arithmetic. At construction, for every level {@code k} the smallest double {@code t[k]} with
 * {@code f(t[k]) >= k} is found by bisection over the ordered doubles, calling the reference
 * formula itself; afterwards {@code f(x)} is the number of thresholds {@code <= x}.
 *
 * <p>Why: the tokenizers' formulas divide per value (and must stay bit-exact with numpy), which
 * dominates encode time. Comparing against thresholds computed from the very same formula gives
 * identical results for every finite input, because IEEE rounding keeps the formula monotone.
 * Immutable and thread-safe.
 */
final class StepThresholds {
  private final double[] thresholds; // thresholds[k - 1] is t[k], k = 1..steps
  private final int steps;
  private final int base;
  private final double first;
  private final double inverseSpacing;

  /**
   * @param function the reference step function, non-decreasing on finite doubles
   * @param steps its largest value
   */
  StepThresholds(DoubleToIntFunction function, int steps) {
    this.steps = steps;
    this.base = function.applyAsInt(-Double.MAX_VALUE);
    thresholds = new double[steps];
    for (int k = 1; k <= steps; k++) {
      thresholds[k - 1] = k <= base ? Double.NEGATIVE_INFINITY : smallestReaching(function, k);
    }
    // Thresholds are roughly evenly spaced: a linear guess lands within a step or two of the answer.
    int lo = Math.min(base, steps - 1);
    int hi = steps - 1;
    while (hi > lo && thresholds[hi] == Double.POSITIVE_INFINITY) {
      hi--;
    }
    double span = thresholds[hi] - thresholds[lo];
    boolean spaced = hi > lo && Double.isFinite(span) && span > 0;
    // Without a finite, evenly spaced run (e.g. a constant dimension) the comparisons alone decide.
    first = spaced ? thresholds[lo] : 0;
    inverseSpacing = spaced ? (hi - lo) / span : 0;
  }

  private static double smallestReaching(DoubleToIntFunction function, int level) {
    long lo = ordered(-Double.MAX_VALUE);
    long hi = ordered(Double.MAX_VALUE);
    if (function.applyAsInt(Double.MAX_VALUE) < level) {
      return Double.POSITIVE_INFINITY;
    }
    while (lo < hi) {
      long mid = (lo & hi) + ((lo ^ hi) >> 1); // floor average; hi - lo would overflow
      if (function.applyAsInt(fromOrdered(mid)) >= level) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return fromOrdered(lo);
  }

  /** Maps doubles to longs with the same order (negative values mirrored). */
  private static long ordered(double x) {
    long bits = Double.doubleToRawLongBits(x);
    return bits ^ ((bits >> 63) & Long.MAX_VALUE);
  }

  private static double fromOrdered(long ordered) {
    return Double.longBitsToDouble(ordered ^ ((ordered >> 63) & Long.MAX_VALUE));
  }

  /** {@code f(x)} for a finite {@code x}. */
  int apply(double x) {
    double guess = (x - first) * inverseSpacing;
    int k = base + (guess <= 0 ? 0 : guess >= steps ? steps : (int) guess);
    if (k > steps) {
      k = steps;
    }
    while (k < steps && x >= thresholds[k]) {
      k++;
    }
    while (k > base && x < thresholds[k - 1]) {
      k--;
    }
    return k;
  }
}
