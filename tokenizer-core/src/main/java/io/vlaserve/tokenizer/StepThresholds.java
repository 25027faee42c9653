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
  /** First finite level (t[lo]); the half-level-biased guess is measured from it. */
  private final int lo;
  /** True when the biased guess provably lands on f(x) - 1 or f(x) for every x (checked once). */
  private final boolean oneStep;

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
    this.lo = lo;
    this.oneStep = spaced && hi == steps && guessLandsWithinOneLevelBelow();
  }

  /**
   * The biased guess is monotone in x, so checking both ends of every level's interval proves it
   * lies in {k - 1, k} for every x of level k.
   */
  private boolean guessLandsWithinOneLevelBelow() {
    for (int k = lo; k < steps; k++) {
      int atStart = biasedGuess(levels[k]);
      int atEnd = biasedGuess(Math.nextDown(levels[k + 1]));
      if (atStart < k - 1 || atStart > k || atEnd < k - 1 || atEnd > k) {
        return false;
      }
    }
    return true;
  }

  /** {@code floor(position - 0.5)}: half a level low, clamped to [base, steps - 1]. */
  private int biasedGuess(double x) {
    double position = (x - first) * inverseSpacing - 0.5;
    if (position >= steps) {
      return steps - 1; // clamp before converting: (int) saturates and lo + it would wrap
    }
    int k = lo + (position <= -1 ? -1 : (int) Math.floor(position));
    return k < base ? base : (k > steps - 1 ? steps - 1 : k);
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
    if (oneStep) {
      int k = biasedGuess(x);
      return k + (levels[k + 1] <= x ? 1 : 0);
    }
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
