package io.vlaserve.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import java.util.List;

/** Properties that hold for every profile, value and token. */
class TokenizerProperties {
  private static final ActionTokenizer EEF = ProfileRegistry.builtin("eef-delta-7dof").tokenizer();
  private static final ActionTokenizer WIDOWX = ProfileRegistry.builtin("widowx-bridge").tokenizer();

  record Bounds(double low, double high, int bins) {}

  @Provide
  Arbitrary<Bounds> bounds() {
    Arbitrary<Double> low = Arbitraries.doubles().between(-1000, 1000).ofScale(6);
    Arbitrary<Double> width = Arbitraries.doubles().between(1e-6, 2000).ofScale(8);
    Arbitrary<Integer> bins = Arbitraries.integers().between(2, 4096);
    return Combinators.combine(low, width, bins).as((l, w, b) -> new Bounds(l, l + w, b));
  }

  @Property(tries = 2000)
  void uniformReconstructionErrorIsAtMostHalfABin(@ForAll("bounds") Bounds bounds,
      @ForAll @DoubleRange(min = 0, max = 1) double position) {
    ActionProfile profile = new ActionProfile("p", Scheme.UNIFORM, bounds.bins(), TokenLayout.SHARED, 0, 0,
        List.of(ActionDimension.uniform("x", bounds.low(), bounds.high())), "test");
    ActionTokenizer tokenizer = profile.tokenizer();
    double value = Math.min(bounds.high(), bounds.low() + position * (bounds.high() - bounds.low()));
    double decoded = tokenizer.decodeToken(0, tokenizer.encodeValue(0, value));
    double halfBin = (bounds.high() - bounds.low()) / (2.0 * bounds.bins());
    // A few ulps of slack for the rounding of the bin centre formula itself.
    double slack = 4 * Math.ulp(Math.max(Math.abs(bounds.low()), Math.abs(bounds.high())));
    assertTrue(Math.abs(decoded - value) <= halfBin + slack,
        () -> "value " + value + " decoded " + decoded + " half bin " + halfBin);
  }

  @Property(tries = 1000)
  void everyValidTokenRoundTripsThroughItsBinCentre(@ForAll @IntRange(min = 0, max = 6) int dimension,
      @ForAll @IntRange(min = 0, max = 255) int bin) {
    for (ActionTokenizer tokenizer : new ActionTokenizer[] {EEF, WIDOWX}) {
      int token = tokenizer.allowedTokens(dimension).first() + bin;
      double value = tokenizer.decodeToken(dimension, token);
      int again = tokenizer.encodeValue(dimension, value);
      if (tokenizer == WIDOWX && token == 31744) {
        // OpenVLA's first id (digitize == 256, only x == 1.0 exactly) decodes to the same centre as 31745.
        assertEquals(31745, again);
      } else {
        assertEquals(token, again, () -> tokenizer.profile().name() + " token " + token + " value " + value);
      }
    }
  }

  @Property(tries = 3000)
  void anyFiniteValueEncodesInsideItsDimensionsSlice(@ForAll @IntRange(min = 0, max = 6) int dimension,
      @ForAll double value) {
    if (!Double.isFinite(value)) {
      return;
    }
    for (ActionTokenizer tokenizer : new ActionTokenizer[] {EEF, WIDOWX}) {
      int token = tokenizer.encodeValue(dimension, value);
      assertTrue(tokenizer.allowedTokens(dimension).contains(token), () -> "value " + value + " token " + token);
    }
  }

  @Property(tries = 2000)
  void openVlaReconstructionIsWithinOneBinOfTheClippedValue(@ForAll @IntRange(min = 0, max = 5) int dimension,
      @ForAll @DoubleRange(min = 0, max = 1) double position) {
    ActionDimension dim = WIDOWX.profile().dimensions().get(dimension);
    double value = dim.low() + position * (dim.high() - dim.low());
    double decoded = WIDOWX.decodeToken(dimension, WIDOWX.encodeValue(dimension, value));
    // 255 bins over [-1, 1] map onto [q01, q99]; a centre is at most half a bin from any value in
    // its bin, plus the 1e-8 the normaliser adds to the denominator.
    double halfBin = (dim.high() - dim.low()) / 255.0 / 2.0;
    assertTrue(Math.abs(decoded - value) <= halfBin * (1 + 1e-6) + 1e-8,
        () -> "value " + value + " decoded " + decoded);
  }

  @Property(tries = 500)
  void batchEncodingEqualsOneAtATime(@ForAll @IntRange(min = 1, max = 32) int count,
      @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int seed) {
    java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
    double[] actions = new double[count * 7];
    for (int i = 0; i < actions.length; i++) {
      actions[i] = random.nextDouble(-0.1, 1.1);
    }
    for (ActionTokenizer tokenizer : new ActionTokenizer[] {EEF, WIDOWX}) {
      int[] batch = new int[actions.length];
      tokenizer.encode(actions, 0, batch, 0, count);
      double[] decoded = new double[actions.length];
      tokenizer.decode(batch, 0, decoded, 0, count);
      for (int a = 0; a < count; a++) {
        double[] one = java.util.Arrays.copyOfRange(actions, a * 7, a * 7 + 7);
        int[] tokens = tokenizer.encode(one);
        assertEquals(java.util.Arrays.toString(tokens),
            java.util.Arrays.toString(java.util.Arrays.copyOfRange(batch, a * 7, a * 7 + 7)));
        assertEquals(java.util.Arrays.toString(tokenizer.decode(tokens)),
            java.util.Arrays.toString(java.util.Arrays.copyOfRange(decoded, a * 7, a * 7 + 7)));
      }
    }
  }

  @Provide
  Arbitrary<Double> anyFinite() {
    // Raw bit patterns cover every exponent, plus values near the bins and ulp neighbours of them.
    Arbitrary<Double> bits = Arbitraries.longs().map(Double::longBitsToDouble).filter(Double::isFinite);
    Arbitrary<Double> near = Arbitraries.doubles().between(-1.5, 1.5).ofScale(12);
    Arbitrary<Double> ulpAround = near.map(x -> Math.nextUp(x));
    return Arbitraries.oneOf(bits, near, ulpAround, Arbitraries.of(0.0, -0.0, Double.MAX_VALUE, -Double.MAX_VALUE,
        Double.MIN_VALUE, 1.0, -1.0));
  }

  @Property(tries = 5000)
  void thresholdEncodingEqualsTheFormulaForEveryFiniteValue(@ForAll("anyFinite") double value,
      @ForAll @IntRange(min = 0, max = 6) int dimension) {
    OpenVlaActionTokenizer openVla = (OpenVlaActionTokenizer) WIDOWX;
    assertEquals(32000 - openVla.digitizeReference(dimension, value), openVla.encodeValue(dimension, value),
        () -> "openvla dim " + dimension + " value " + value);
  }

  @Property(tries = 300)
  void openVlaThresholdEncodingEqualsTheFormulaForAnyStatistics(@ForAll("bounds") Bounds bounds,
      @ForAll("anyFinite") double value, @ForAll @DoubleRange(min = 0, max = 1) double position) {
    double inside = bounds.low() + position * (bounds.high() - bounds.low());
    ActionProfile openVlaProfile = new ActionProfile("o", Scheme.OPENVLA, Math.min(bounds.bins(), 1024) + 1,
        TokenLayout.SHARED, 0, 40000, List.of(new ActionDimension("x", bounds.low(), bounds.high(), true, false)), "test");
    OpenVlaActionTokenizer openVla = (OpenVlaActionTokenizer) openVlaProfile.tokenizer();
    for (double x : new double[] {value, inside, Math.nextUp(inside), Math.nextDown(inside)}) {
      assertEquals(40000 - openVla.digitizeReference(0, x), openVla.encodeValue(0, x), () -> "openvla " + bounds + " value " + x);
    }
  }
}
