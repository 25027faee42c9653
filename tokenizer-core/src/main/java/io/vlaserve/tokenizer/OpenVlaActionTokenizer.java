package io.vlaserve.tokenizer;

/**
 * Bit-exact port of openvla/openvla's {@code ActionTokenizer} together with its BOUNDS_Q99
 * normalisation, so tokens produced here are the ids an OpenVLA checkpoint emits and consumes.
 *
 * <p>Encoding, per dimension with statistics q01, q99, mask and min/max:
 * <pre>
 *   n     = clip(2 * (x - q01) / (q99 - q01 + 1e-8) - 1, -1, 1)   where mask is true, else x
 *   n     = 0                                                    where min == max ("constant")
 *   edges = linspace(-1, 1, bins)         numpy: edges[i] = i * (2 / (bins - 1)) + -1, last = 1.0
 *   i     = digitize(clip(n, -1, 1), edges)   numpy: number of edges <= n, so 1 .. bins
 *   token = vocab_size - i                    ids vocab_size - bins .. vocab_size - 1
 * </pre>
 * Decoding:
 * <pre>
 *   centres = (edges[:-1] + edges[1:]) / 2                       bins - 1 centres
 *   n       = centres[clip(vocab_size - token - 1, 0, bins - 2)]
 *   x       = 0.5 * (n + 1) * (q99 - q01) + q01                  where mask is true, else n
 * </pre>
 * Unlike OpenVLA, NaN and infinities are rejected (numpy's digitize puts NaN in the last bin).
 * Thread-safe and immutable.
 */
public final class OpenVlaActionTokenizer implements ActionTokenizer {
  private final ActionProfile profile;
  private final double[] edges;
  private final double[] centres;
  private final double[] q01;
  private final double[] q99;
  private final boolean[] mask;
  private final boolean[] constant;
  private final int vocabSize;
  private final TokenRange range;
  /** decoded[d][centreIndex]: the un-normalised value, evaluated once with the formula above. */
  private final double[][] decoded;
  /** digitized[d]: the whole encode formula of dimension d as exact thresholds in raw units. */
  private final StepThresholds[] digitized;

  OpenVlaActionTokenizer(ActionProfile profile) {
    if (profile.scheme() != Scheme.OPENVLA) {
      throw new InvalidProfileException("scheme: " + profile.scheme() + " (expected: openvla)");
    }
    this.profile = profile;
    this.vocabSize = profile.vocabSize();
    this.edges = linspace(-1.0, 1.0, profile.bins());
    this.centres = new double[edges.length - 1];
    for (int i = 0; i < centres.length; i++) {
      centres[i] = (edges[i] + edges[i + 1]) / 2.0;
    }
    this.range = new TokenRange(vocabSize - profile.bins(), vocabSize - 1);
    int dims = profile.dimensionCount();
    q01 = new double[dims];
    q99 = new double[dims];
    mask = new boolean[dims];
    constant = new boolean[dims];
    decoded = new double[dims][centres.length];
    digitized = new StepThresholds[dims];
    for (int d = 0; d < dims; d++) {
      ActionDimension dim = profile.dimensions().get(d);
      q01[d] = dim.low();
      q99[d] = dim.high();
      mask[d] = dim.normalized();
      constant[d] = dim.constant();
      for (int c = 0; c < centres.length; c++) {
        decoded[d][c] = mask[d] ? 0.5 * (centres[c] + 1) * (q99[d] - q01[d]) + q01[d] : centres[c];
      }
      int dimension = d;
      digitized[d] = new StepThresholds(x -> digitizeReference(dimension, x), edges.length);
    }
  }

  /** numpy's {@code linspace(start, stop, num)}: {@code i * step + start}, the last point exactly {@code stop}. */
  static double[] linspace(double start, double stop, int num) {
    double[] y = new double[num];
    double step = (stop - start) / (num - 1);
    for (int i = 0; i < num; i++) {
      y[i] = i * step + start;
    }
    y[num - 1] = stop;
    return y;
  }

  /** A copy of the bin edges (numpy {@code linspace(-1, 1, bins)}). */
  public double[] binEdges() {
    return edges.clone();
  }

  /** A copy of the bin centres. */
  public double[] binCentres() {
    return centres.clone();
  }

  @Override
  public ActionProfile profile() {
    return profile;
  }

  @Override
  public TokenRange allowedTokens(int dimension) {
    return range;
  }

  /** BOUNDS_Q99 normalisation of one finite raw value (before the tokenizer's own clip). */
  public double normalize(int dimension, double value) {
    if (constant[dimension]) {
      return 0.0;
    }
    if (!mask[dimension]) {
      return value;
    }
    double n = 2 * (value - q01[dimension]) / (q99[dimension] - q01[dimension] + 1e-8) - 1;
    return n < -1 ? -1 : (n > 1 ? 1 : n);
  }

  /** numpy {@code digitize(x, edges)} for increasing edges: the number of edges {@code <= x}. */
  int digitize(double x) {
    int n = edges.length;
    // Guess from the uniform spacing, then settle on the exact edge comparison numpy makes.
    int i = (int) ((x + 1.0) / (2.0 / (n - 1))) + 1;
    if (i < 0) {
      i = 0;
    } else if (i > n) {
      i = n;
    }
    while (i < n && edges[i] <= x) {
      i++;
    }
    while (i > 0 && edges[i - 1] > x) {
      i--;
    }
    return i;
  }

  /** The encode formula as written: digitize(clip(normalize(x), -1, 1)). */
  int digitizeReference(int dimension, double value) {
    double n = normalize(dimension, value);
    double clipped = n < -1.0 ? -1.0 : (n > 1.0 ? 1.0 : n);
    return digitize(clipped);
  }

  @Override
  public int encodeValue(int dimension, double value) {
    if (!Double.isFinite(value)) {
      throw InvalidActionException.nonFinite(0, dimension, profile.dimensions().get(dimension).name(), value);
    }
    return vocabSize - digitized[dimension].apply(value);
  }

  @Override
  public void encode(double[] actions, int actionOffset, int[] tokens, int tokenOffset, int count) {
    int dims = digitized.length;
    for (int a = 0, i = 0; a < count; a++) {
      for (int d = 0; d < dims; d++, i++) {
        double value = actions[actionOffset + i];
        if (!Double.isFinite(value)) {
          throw InvalidActionException.nonFinite(a, d, profile.dimensions().get(d).name(), value);
        }
        tokens[tokenOffset + i] = vocabSize - digitized[d].apply(value);
      }
    }
  }

  @Override
  public void decode(int[] tokens, int tokenOffset, double[] actions, int actionOffset, int count) {
    int dims = decoded.length;
    int last = centres.length - 1;
    for (int s = 0, i = 0; s < count; s++) {
      for (int d = 0; d < dims; d++, i++) {
        int token = tokens[tokenOffset + i];
        if (token < range.first() || token > range.last()) {
          throw InvalidTokenException.outOfRange(s, d, token, range);
        }
        int index = vocabSize - token - 1;
        actions[actionOffset + i] = decoded[d][index > last ? last : index];
      }
    }
  }

  @Override
  public double decodeToken(int dimension, int token) {
    if (!range.contains(token)) {
      throw InvalidTokenException.outOfRange(0, dimension, token, range);
    }
    int index = vocabSize - token - 1;
    if (index > centres.length - 1) {
      index = centres.length - 1;
    }
    return decoded[dimension][index];
  }
}
