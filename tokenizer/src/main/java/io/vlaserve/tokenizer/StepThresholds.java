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
  /**
   * levels[k] = t[k] for k = 1..steps, with sentinels levels[0] = -inf and levels[steps + 1] = +inf,
   * so f(x) is the largest k with levels[k] <= x and every probe below stays in bounds.
   */
  private final double[] levels;
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
    levels = new double[steps + 2];
    levels[0] = Double.NEGATIVE_INFINITY;
    levels[steps + 1] = Double.POSITIVE_INFINITY;
    for (int k = 1; k <= steps; k++) {
      levels[k] = k <= base ? Double.NEGATIVE_INFINITY : smallestReaching(function, k);
    }
    // The finite thresholds are evenly spaced up to rounding: a linear guess lands within a level.
    int lo = Math.min(base + 1, steps);
    int hi = steps;
    while (hi > lo && levels[hi] == Double.POSITIVE_INFINITY) {
      hi--;
    }
    double span = levels[hi] - levels[lo];
    boolean spaced = hi > lo && Double.isFinite(span) && span > 0;
    // Without a finite, evenly spaced run (e.g. a constant dimension) the exact search alone decides.
    first = spaced ? levels[lo] : 0;
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
    // Fixed, branch-free corrections (conditional moves); the guess is almost always within them.
    k += levels[k + 1] <= x ? 1 : 0;
    k += levels[k + 1] <= x ? 1 : 0;
    k -= levels[k] > x ? 1 : 0;
    if (levels[k] > x || levels[k + 1] <= x) {
      return search(x, k);
    }
    return k;
  }

  private int search(double x, int k) {
    while (k < steps && levels[k + 1] <= x) {
      k++;
    }
    while (k > 0 && levels[k] > x) {
      k--;
    }
    return k;
  }
}
