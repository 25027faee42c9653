package io.vlaserve.tokenizer;

/**
 * RT-2 style uniform binning.
 *
 * <pre>
 *   bin    = clip(floor((a - low) / (high - low) * K), 0, K - 1)
 *   value  = low + (bin + 0.5) * (high - low) / K           (the bin centre)
 *   token  = vocab_base + bin                 (shared layout)
 *          = vocab_base + d * K + bin         (per-dimension layout)
 * </pre>
 *
 * For {@code low <= a <= high} the reconstruction error is at most half a bin width,
 * {@code (high - low) / (2K)}; values outside the bounds are clipped to the first or last bin.
 * Thread-safe and immutable.
 */
public final class UniformActionTokenizer implements ActionTokenizer {
  private final ActionProfile profile;
  private final int bins;
  private final double[] low;
  private final double[] high;
  private final int[] firstToken;
  private final TokenRange[] ranges;
  /** centres[d][bin], evaluated once with the formula above so decode is a table lookup. */
  private final double[][] centres;

  UniformActionTokenizer(ActionProfile profile) {
    if (profile.scheme() != Scheme.UNIFORM) {
      throw new InvalidProfileException("scheme: " + profile.scheme() + " (expected: uniform)");
    }
    this.profile = profile;
    this.bins = profile.bins();
    int dims = profile.dimensionCount();
    low = new double[dims];
    high = new double[dims];
    firstToken = new int[dims];
    ranges = new TokenRange[dims];
    centres = new double[dims][bins];
    for (int d = 0; d < dims; d++) {
      ActionDimension dim = profile.dimensions().get(d);
      low[d] = dim.low();
      high[d] = dim.high();
      firstToken[d] = profile.vocabBase() + (profile.tokenLayout() == TokenLayout.PER_DIMENSION ? d * bins : 0);
      ranges[d] = new TokenRange(firstToken[d], firstToken[d] + bins - 1);
      for (int b = 0; b < bins; b++) {
        centres[d][b] = low[d] + (b + 0.5) * (high[d] - low[d]) / bins;
      }
    }
  }

  @Override
  public ActionProfile profile() {
    return profile;
  }

  @Override
  public TokenRange allowedTokens(int dimension) {
    return ranges[dimension];
  }

  /** The bin formula as written: {@code clip(floor((a - low) / (high - low) * K), 0, K - 1)}. */
  int bin(int dimension, double value) {
    double scaled = Math.floor((value - low[dimension]) / (high[dimension] - low[dimension]) * bins);
    if (scaled < 0) {
      return 0;
    }
    return scaled > bins - 1 ? bins - 1 : (int) scaled;
  }

  @Override
  public int encodeValue(int dimension, double value) {
    if (!Double.isFinite(value)) {
      throw InvalidActionException.nonFinite(0, dimension, profile.dimensions().get(dimension).name(), value);
    }
    return firstToken[dimension] + bin(dimension, value);
  }

  @Override
  public void encode(double[] actions, int actionOffset, int[] tokens, int tokenOffset, int count) {
    int dims = low.length;
    for (int a = 0, i = 0; a < count; a++) {
      for (int d = 0; d < dims; d++, i++) {
        double value = actions[actionOffset + i];
        if (!Double.isFinite(value)) {
          throw InvalidActionException.nonFinite(a, d, profile.dimensions().get(d).name(), value);
        }
        // The formula is cheap and branch-free here (unlike OpenVLA's), so it is evaluated directly.
        tokens[tokenOffset + i] = firstToken[d] + bin(d, value);
      }
    }
  }

  @Override
  public void decode(int[] tokens, int tokenOffset, double[] actions, int actionOffset, int count) {
    int dims = low.length;
    for (int s = 0, i = 0; s < count; s++) {
      for (int d = 0; d < dims; d++, i++) {
        int b = tokens[tokenOffset + i] - firstToken[d];
        if (b < 0 || b >= bins) {
          throw InvalidTokenException.outOfRange(s, d, tokens[tokenOffset + i], ranges[d]);
        }
        actions[actionOffset + i] = centres[d][b];
      }
    }
  }

  @Override
  public double decodeToken(int dimension, int token) {
    if (!ranges[dimension].contains(token)) {
      throw InvalidTokenException.outOfRange(0, dimension, token, ranges[dimension]);
    }
    return centres[dimension][token - firstToken[dimension]];
  }
}
