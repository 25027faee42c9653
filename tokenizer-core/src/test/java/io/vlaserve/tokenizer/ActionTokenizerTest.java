package io.vlaserve.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class ActionTokenizerTest {
  private final ActionTokenizer eef = ProfileRegistry.builtin("eef-delta-7dof").tokenizer();
  private final ActionTokenizer widowx = ProfileRegistry.builtin("widowx-bridge").tokenizer();

  @Nested
  class BadInput {
    @Test
    void nanIsRejectedWithItsIndexAndValueInsteadOfLandingInABin() {
      double[] actions = {0, 0, 0, 0, 0, 0, 1, 0, 0, Double.NaN, 0, 0, 0, 1};
      InvalidActionException e = assertThrows(InvalidActionException.class,
          () -> widowx.encode(actions, 0, new int[14], 0, 2));
      assertEquals(1, e.actionIndex());
      assertEquals(2, e.dimension());
      assertEquals("action[1][2] (dz): NaN (expected: a finite number)", e.getMessage());
    }

    @Test
    void infinitiesAreRejectedByBothSchemes() {
      for (ActionTokenizer tokenizer : new ActionTokenizer[] {eef, widowx}) {
        InvalidActionException e = assertThrows(InvalidActionException.class,
            () -> tokenizer.encode(new double[] {0, 0, 0, 0, 0, Double.NEGATIVE_INFINITY, 1}));
        assertEquals(5, e.dimension());
        assertTrue(e.getMessage().contains("-Infinity"), e.getMessage());
      }
    }

    @Test
    void wrongDimensionCountSaysWhatWasExpected() {
      InvalidActionException e = assertThrows(InvalidActionException.class, () -> eef.encode(new double[6]));
      assertEquals("action[0]: 6 values (expected: 7, one per dimension)", e.getMessage());
      InvalidTokenException t = assertThrows(InvalidTokenException.class, () -> eef.decode(new int[8]));
      assertEquals("tokens[0]: 8 tokens (expected: 7, one per dimension)", t.getMessage());
    }

    @Test
    void tokensOutsideTheDimensionsSliceAreRejected() {
      int[] tokens = eef.encode(new double[7]);
      tokens[3] = eef.allowedTokens(2).last(); // a valid id, but dimension 2's
      InvalidTokenException e = assertThrows(InvalidTokenException.class, () -> eef.decode(tokens));
      assertEquals(3, e.position());
      assertEquals("tokens[0][3]: 32511 (expected: a token in [32512, 32767] for dimension 3)", e.getMessage());
    }

    @Test
    void openVlaRejectsTextTokensAndIdsPastTheVocabulary() {
      int[] tokens = widowx.encode(new double[7]);
      for (int bad : new int[] {31743, 32000, 0, -1, 29871}) {
        tokens[0] = bad;
        InvalidTokenException e = assertThrows(InvalidTokenException.class, () -> widowx.decode(tokens));
        assertTrue(e.getMessage().contains("[31744, 31999]"), e.getMessage());
      }
    }

    @Test
    void batchDecodeNamesTheSequence() {
      int[] tokens = new int[21];
      int[] good = eef.encode(new double[7]);
      for (int s = 0; s < 3; s++) {
        System.arraycopy(good, 0, tokens, s * 7, 7);
      }
      tokens[2 * 7 + 6] = 40000;
      InvalidTokenException e = assertThrows(InvalidTokenException.class,
          () -> eef.decode(tokens, 0, new double[21], 0, 3));
      assertEquals(2, e.sequenceIndex());
      assertEquals(6, e.position());
    }
  }

  @Nested
  class EdgeCases {
    @Test
    void exactQ01AndQ99MapToTheOuterOpenVlaTokens() {
      ActionProfile bridge = ProfileRegistry.builtin("widowx-bridge");
      double[] atQ01 = new double[7];
      double[] atQ99 = new double[7];
      for (int d = 0; d < 6; d++) {
        atQ01[d] = bridge.dimensions().get(d).low();
        atQ99[d] = bridge.dimensions().get(d).high();
      }
      atQ01[6] = -1.0;
      atQ99[6] = 1.0;
      // q01 normalises to exactly -1: digitize gives 1, token 31999. q99 normalises to just under 1
      // (the 1e-8 in the denominator), which lands in the second-to-last edge's bin: token 31745.
      assertArrayEquals(new int[] {31999, 31999, 31999, 31999, 31999, 31999, 31999}, widowx.encode(atQ01));
      assertArrayEquals(new int[] {31745, 31745, 31745, 31745, 31745, 31745, 31744}, widowx.encode(atQ99));
    }

    @Test
    void theGripperIsNotNormalisedButStillClippedToOne() {
      assertEquals(widowx.encodeValue(6, 1.0), widowx.encodeValue(6, 7.0));
      assertEquals(31744, widowx.encodeValue(6, 1.0));
      assertEquals(1.0 - 1.0 / 255, widowx.decodeToken(6, 31744), 1e-15);
    }

    @Test
    void farOutOfRangeValuesClipToTheOuterBins() {
      assertEquals(eef.allowedTokens(0).first(), eef.encodeValue(0, -1e300));
      assertEquals(eef.allowedTokens(0).last(), eef.encodeValue(0, 1e300));
      assertEquals(31999, widowx.encodeValue(0, -1e300));
      // Normalisation clips to exactly 1.0, which numpy digitizes past the last edge: token 31744.
      assertEquals(31744, widowx.encodeValue(0, 1e300));
    }

    @Test
    void negativeZeroEncodesLikeZero() {
      assertEquals(eef.encodeValue(1, 0.0), eef.encodeValue(1, -0.0));
      assertEquals(widowx.encodeValue(1, 0.0), widowx.encodeValue(1, -0.0));
    }

    @Test
    void perDimensionSlicesAreContiguousAndDisjoint() {
      for (int d = 0; d < 7; d++) {
        TokenRange range = eef.allowedTokens(d);
        assertEquals(31744 + d * 256, range.first());
        assertEquals(256, range.size());
      }
      assertEquals(33535, eef.allowedTokens(6).last());
    }

    @Test
    void openVlaDimensionsShareOneSlice() {
      for (int d = 0; d < 7; d++) {
        assertEquals(new TokenRange(31744, 31999), widowx.allowedTokens(d));
      }
    }

    @Test
    void validateAcceptsEncodedSequencesOnly() {
      int[] tokens = eef.encode(new double[] {0.01, -0.01, 0.02, 0.1, -0.1, 0.2, 1});
      eef.validate(tokens, 0, 7, 0);
      tokens[0] = 31743;
      assertThrows(InvalidTokenException.class, () -> eef.validate(tokens, 0, 7, 0));
    }
  }
}
