package io.vlaserve.tokenizer;

import java.util.List;

/**
 * One robot's action space and how it is tokenized. Immutable and validated on construction:
 * every message names the offending field and what was expected.
 *
 * @param name unique name, e.g. {@code "eef-delta-7dof"}
 * @param scheme uniform (RT-2) or OpenVLA binning
 * @param bins UNIFORM: bins per dimension. OPENVLA: bin edges ({@code linspace(-1, 1, bins)}), so
 *     {@code bins - 1} bin centres
 * @param tokenLayout UNIFORM only; OPENVLA is always {@link TokenLayout#SHARED}
 * @param vocabBase UNIFORM: first token id of the action slice. OPENVLA: {@code vocabSize - bins}
 * @param vocabSize OPENVLA: the language model's vocabulary size (32000 for Llama 2). UNIFORM: 0
 * @param dimensions the action dimensions, in order
 * @param source where the profile came from ("builtin", a path, "stats:KEY")
 */
public record ActionProfile(
    String name,
    Scheme scheme,
    int bins,
    TokenLayout tokenLayout,
    int vocabBase,
    int vocabSize,
    List<ActionDimension> dimensions,
    String source) {

  public ActionProfile {
    require(name != null && !name.isBlank(), "name: \"" + name + "\" (expected: a non-empty name)");
    require(scheme != null, "scheme: missing (expected: \"uniform\" or \"openvla\")");
    require(bins > 1, "bins: " + bins + " (expected: > 1)");
    require(dimensions != null && !dimensions.isEmpty(), "dimensions: empty (expected: at least one)");
    dimensions = List.copyOf(dimensions);
    source = source == null ? "" : source;
    if (scheme == Scheme.OPENVLA) {
      require(tokenLayout == null || tokenLayout == TokenLayout.SHARED,
          "token_layout: " + tokenLayout + " (expected: \"shared\" for scheme openvla)");
      tokenLayout = TokenLayout.SHARED;
      require(vocabSize > bins, "vocab_size: " + vocabSize + " (expected: > bins " + bins + ")");
      vocabBase = vocabSize - bins;
    } else {
      require(tokenLayout != null, "token_layout: missing (expected: \"shared\" or \"per_dimension\")");
      require(vocabBase >= 0, "vocab_base: " + vocabBase + " (expected: >= 0)");
      long slots = tokenLayout == TokenLayout.PER_DIMENSION ? (long) bins * dimensions.size() : bins;
      require(vocabBase + slots - 1 <= Integer.MAX_VALUE,
          "vocab_base: " + vocabBase + " (expected: the last token id to fit in a 32-bit int)");
      vocabSize = 0;
    }
    for (int d = 0; d < dimensions.size(); d++) {
      ActionDimension dim = dimensions.get(d);
      String at = "dimensions[" + d + "]";
      require(dim != null, at + ": missing");
      require(dim.name() != null && !dim.name().isBlank(), at + ".name: empty (expected: a name)");
      require(Double.isFinite(dim.low()), at + ".low: " + dim.low() + " (expected: a finite number)");
      require(Double.isFinite(dim.high()), at + ".high: " + dim.high() + " (expected: a finite number)");
      if (scheme == Scheme.UNIFORM) {
        require(dim.low() < dim.high(),
            at + ".high: " + dim.high() + " (expected: > low " + dim.low() + ")");
      } else {
        require(dim.low() <= dim.high(),
            at + ".high (q99): " + dim.high() + " (expected: >= low (q01) " + dim.low() + ")");
      }
    }
  }

  /** Number of action dimensions. */
  public int dimensionCount() {
    return dimensions.size();
  }

  /** The tokenizer this profile describes. */
  public ActionTokenizer tokenizer() {
    return scheme == Scheme.OPENVLA ? new OpenVlaActionTokenizer(this) : new UniformActionTokenizer(this);
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new InvalidProfileException(message);
    }
  }
}
