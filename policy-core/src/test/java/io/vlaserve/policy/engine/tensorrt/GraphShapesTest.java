package io.vlaserve.policy.engine.tensorrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ShippedModel;
import io.vlaserve.policy.model.ModelPackage;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The optimization profile ranges the engine builds with, and the check of a graph's declared inputs. */
class GraphShapesTest {
  // 64x64 images, L = 12, P = 8, V = 300, N = 2 layers, 4 heads of 16, T0 = 21
  private static final GraphShapes.Dims DIMS = new GraphShapes.Dims(64, 64, 12, 8, 300, 2, 4, 16, 21);

  @Test
  void prefillCoversBatchOneToMax() {
    Map<String, GraphShapes.Range> ranges = byName(GraphShapes.prefill(DIMS, 8));
    assertEquals(List.of("image", "instruction_ids", "proprio"), GraphShapes.prefill(DIMS, 8).stream()
        .map(GraphShapes.Range::name).toList());
    assertArrayEquals(new long[] {1, 64, 64, 3}, ranges.get("image").min());
    assertArrayEquals(new long[] {1, 64, 64, 3}, ranges.get("image").opt());
    assertArrayEquals(new long[] {8, 64, 64, 3}, ranges.get("image").max());
    assertArrayEquals(new long[] {8, 12}, ranges.get("instruction_ids").max());
    assertArrayEquals(new long[] {1, 8}, ranges.get("proprio").min());
  }

  @Test
  void decodeReadsPromptUpToPromptPlusNewTokensMinusOne() {
    // 7 steps x 4 dims = 28 new tokens: decode reads T = 21..48 and writes up to 49 positions
    Map<String, GraphShapes.Range> ranges = byName(GraphShapes.decode(DIMS, 4, 28));
    GraphShapes.Range kv = ranges.get("past_kv");
    assertArrayEquals(new long[] {2, 2, 1, 4, 21, 16}, kv.min());
    assertArrayEquals(new long[] {2, 2, 1, 4, 34, 16}, kv.opt());
    assertArrayEquals(new long[] {2, 2, 4, 4, 48, 16}, kv.max());
    GraphShapes.Range mask = ranges.get("attention_mask");
    assertArrayEquals(new long[] {1, 22}, mask.min());
    assertArrayEquals(new long[] {1, 35}, mask.opt());
    assertArrayEquals(new long[] {4, 49}, mask.max());
    assertArrayEquals(new long[] {4, 1}, ranges.get("token_ids").max());
    assertArrayEquals(new long[] {1, 1}, ranges.get("position_ids").min());
    assertEquals(2L * 2 * 3 * 4 * 49 * 16, DIMS.kvElements(3, 49));
  }

  @Test
  void describeIsStableSoThePlanKeyIs() {
    String a = GraphShapes.describe(GraphShapes.decode(DIMS, 8, 28));
    assertEquals(a, GraphShapes.describe(GraphShapes.decode(DIMS, 8, 28)));
    assertTrue(a.contains("past_kv min [2, 2, 1, 4, 21, 16] opt [2, 2, 1, 4, 34, 16] max [2, 2, 8, 4, 48, 16]"), a);
    assertTrue(!a.equals(GraphShapes.describe(GraphShapes.decode(DIMS, 8, 29))));
  }

  @Test
  void declaredInputsMustLeaveTheProfiledAxesDynamic() {
    GraphShapes.Range kv = byName(GraphShapes.decode(DIMS, 8, 28)).get("past_kv");
    assertNull(GraphShapes.mismatch("decode", kv, new long[] {2, 2, -1, 4, -1, 16}));
    String staticBatch = GraphShapes.mismatch("decode", kv, new long[] {2, 2, 1, 4, -1, 16});
    assertTrue(staticBatch.contains("dimension 2 as 1") && staticBatch.contains("1..8")
        && staticBatch.contains("dynamic"), staticBatch);
    String wrongHeads = GraphShapes.mismatch("decode", kv, new long[] {2, 2, -1, 8, -1, 16});
    assertTrue(wrongHeads.contains("dimension 3 as 8") && wrongHeads.contains("model.json"), wrongHeads);
    String rank = GraphShapes.mismatch("decode", kv, new long[] {2, -1, 4, -1, 16});
    assertTrue(rank.contains("5 dimensions"), rank);
  }

  @Test
  void theShippedModelsDefaultProfileFitsItsPositionTable() {
    ModelPackage model = ShippedModel.load();
    GraphShapes.Dims dims = GraphShapes.Dims.of(model);
    assertEquals(model.promptLength(), dims.promptLength());
    assertEquals(model.text().maxTokens(), dims.instructionLength());
    int defaultNewTokens = model.chunkLength() * model.actionDimensions(); // TensorRtEngine(model, fp16)
    int allowed = GraphShapes.maxNewTokens(model);
    assertEquals(model.manifest().path("architecture").path("max_positions").intValue() - model.promptLength(), allowed);
    assertTrue(defaultNewTokens <= allowed, defaultNewTokens + " new tokens > " + allowed);
    GraphShapes.Range mask = byName(GraphShapes.decode(dims, 8, defaultNewTokens)).get("attention_mask");
    assertTrue(mask.max()[1] <= model.promptLength() + allowed);
  }

  private static Map<String, GraphShapes.Range> byName(List<GraphShapes.Range> ranges) {
    return ranges.stream().collect(Collectors.toMap(GraphShapes.Range::name, r -> r));
  }
}
