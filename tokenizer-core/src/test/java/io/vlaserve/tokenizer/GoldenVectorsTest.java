package io.vlaserve.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Compares the Java tokenizers bit for bit with vectors numpy computed from OpenVLA's and RT-2's
 * formulas ({@code src/test/python/make_golden_vectors.py}). {@code assertEquals(double, double)}
 * compares bit patterns, so -0.0 and 0.0 differ and no tolerance hides a rounding difference.
 */
class GoldenVectorsTest {
  private static JsonNode golden;

  @BeforeAll
  static void load() throws IOException {
    try (InputStream in = GoldenVectorsTest.class.getResourceAsStream("/golden/tokenizer-golden.json")) {
      golden = JsonMapper.builder().build().readTree(in);
    }
  }

  static double[] doubles(JsonNode array) {
    double[] out = new double[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).doubleValue();
    }
    return out;
  }

  static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).intValue();
    }
    return out;
  }

  static void assertBitEqual(double[] expected, double[] actual, String context) {
    assertEquals(expected.length, actual.length, context);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], context + " [" + i + "]");
    }
  }

  static OpenVlaActionTokenizer openVla(JsonNode stats) {
    String json = "{\"k\": {\"action\": " + stats + "}}";
    return (OpenVlaActionTokenizer) DatasetStatistics.parse(json, "golden").action("k")
        .toOpenVlaProfile("golden", 256, 32000, "golden").tokenizer();
  }

  @Nested
  class OpenVla {
    @Test
    void binEdgesAndCentresMatchNumpyLinspace() {
      OpenVlaActionTokenizer tokenizer = openVla(golden.at("/openvla/datasets/bridge_orig/stats"));
      assertBitEqual(doubles(golden.at("/openvla/bin_edges")), tokenizer.binEdges(), "edges");
      assertBitEqual(doubles(golden.at("/openvla/bin_centers")), tokenizer.binCentres(), "centres");
      assertEquals(1.0, tokenizer.binEdges()[255], "last edge is exactly stop");
    }

    @Test
    void digitizeMatchesNumpyOnAndOneUlpAroundEveryEdge() {
      OpenVlaActionTokenizer tokenizer = openVla(golden.at("/openvla/datasets/bridge_orig/stats"));
      JsonNode cases = golden.at("/openvla/digitize");
      assertEquals(256 * 3 - 2 + 1, cases.size(), "every edge, one ulp either side inside [-1, 1], and -0.0");
      for (JsonNode c : cases) {
        double x = c.get("x").doubleValue();
        assertEquals(c.get("digitized").intValue(), tokenizer.digitize(x), "digitize(" + x + ")");
      }
    }

    @Test
    void everyTokenDecodesLikeOpenVla() {
      OpenVlaActionTokenizer tokenizer = openVla(golden.at("/openvla/datasets/bridge_orig/stats"));
      JsonNode cases = golden.at("/openvla/decode_every_token_bridge");
      assertEquals(256, cases.size());
      for (JsonNode c : cases) {
        int token = c.get("token").intValue();
        int[] tokens = {token, token, token, token, token, token, token};
        assertBitEqual(doubles(c.get("decoded")), tokenizer.decode(tokens), "token " + token);
      }
    }

    @Test
    void bridgeActionsEncodeAndDecodeLikeOpenVla() {
      checkDataset("bridge_orig");
    }

    @Test
    void constantDimensionsNormaliseToZeroAndUnmaskedDimensionsPassThrough() {
      checkDataset("constant_dim");
    }

    @Test
    void builtinWidowxProfileIsTheBridgeStatistics() {
      ActionTokenizer builtin = ProfileRegistry.builtin("widowx-bridge").tokenizer();
      for (JsonNode c : golden.at("/openvla/datasets/bridge_orig/cases")) {
        assertArrayEquals(ints(c.get("tokens")), builtin.encode(doubles(c.get("action"))), c.toString());
      }
    }

    private void checkDataset(String name) {
      JsonNode dataset = golden.at("/openvla/datasets/" + name);
      ActionTokenizer tokenizer = openVla(dataset.get("stats"));
      int checked = 0;
      for (JsonNode c : dataset.get("cases")) {
        double[] action = doubles(c.get("action"));
        int[] tokens = tokenizer.encode(action);
        assertArrayEquals(ints(c.get("tokens")), tokens, () -> name + " encode " + c.get("action"));
        assertBitEqual(doubles(c.get("decoded")), tokenizer.decode(tokens), name + " decode " + c.get("tokens"));
        checked++;
      }
      assertEquals(dataset.get("cases").size(), checked);
    }
  }

  @Nested
  class Uniform {
    @Test
    void eefDelta7dofMatchesTheFormulaOnEdgesAndUlps() {
      check(ProfileRegistry.builtin("eef-delta-7dof").tokenizer(), golden.at("/uniform/eef-delta-7dof"));
    }

    @Test
    void oddBoundsWithASharedLayoutMatchTheFormula() {
      List<ActionDimension> dims = new ArrayList<>();
      dims.add(ActionDimension.uniform("a", -0.3, 0.7));
      dims.add(ActionDimension.uniform("b", 0.1, 0.30000000000000004));
      dims.add(ActionDimension.uniform("c", -2.5, 3.25));
      ActionProfile profile = new ActionProfile("odd", Scheme.UNIFORM, 100, TokenLayout.SHARED, 1000, 0, dims, "test");
      check(profile.tokenizer(), golden.at("/uniform/odd-bounds-shared"));
    }

    private void check(ActionTokenizer tokenizer, JsonNode cases) {
      for (JsonNode c : cases) {
        double[] action = doubles(c.get("action"));
        int[] tokens = tokenizer.encode(action);
        assertArrayEquals(ints(c.get("tokens")), tokens, () -> "encode " + c.get("action"));
        assertBitEqual(doubles(c.get("decoded")), tokenizer.decode(tokens), "decode " + c.get("tokens"));
      }
    }
  }
}
