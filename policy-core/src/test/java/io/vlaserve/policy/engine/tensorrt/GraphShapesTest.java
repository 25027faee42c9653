package io.vlaserve.policy.engine.tensorrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.vlaserve.policy.ShippedModel;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The optimization profile ranges the engine builds with, for either KV cache layout, and the check
 * of a graph's declared inputs (against the shipped graphs too, read with ONNX Runtime: no GPU needed).
 */
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
    Map<String, GraphShapes.Range> ranges = byName(GraphShapes.decode(DIMS, 4, 28, KvLayout.PACKED));
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
  void perLayerDecodeProfilesEveryLayersKeyAndValueOverTheSamePositions() {
    List<GraphShapes.Range> ranges = GraphShapes.decode(DIMS, 4, 28, KvLayout.PER_LAYER);
    assertEquals(List.of("token_ids", "position_ids", "past_key_values.0.key", "past_key_values.0.value",
        "past_key_values.1.key", "past_key_values.1.value", "attention_mask"),
        ranges.stream().map(GraphShapes.Range::name).toList());
    for (GraphShapes.Range kv : ranges.subList(2, 6)) {
      assertArrayEquals(new long[] {1, 4, 21, 16}, kv.min(), kv.name());
      assertArrayEquals(new long[] {1, 4, 34, 16}, kv.opt(), kv.name());
      assertArrayEquals(new long[] {4, 4, 48, 16}, kv.max(), kv.name());
    }
    Map<String, GraphShapes.Range> packed = byName(GraphShapes.decode(DIMS, 4, 28, KvLayout.PACKED));
    Map<String, GraphShapes.Range> perLayer = byName(ranges);
    for (String shared : List.of("token_ids", "position_ids", "attention_mask")) {
      assertEquals(packed.get(shared), perLayer.get(shared), shared);
    }
  }

  @Test
  void describeIsStableSoThePlanKeyIs() {
    String a = GraphShapes.describe(GraphShapes.decode(DIMS, 8, 28, KvLayout.PACKED));
    assertEquals(a, GraphShapes.describe(GraphShapes.decode(DIMS, 8, 28, KvLayout.PACKED)));
    assertTrue(a.contains("past_kv min [2, 2, 1, 4, 21, 16] opt [2, 2, 1, 4, 34, 16] max [2, 2, 8, 4, 48, 16]"), a);
    assertTrue(!a.equals(GraphShapes.describe(GraphShapes.decode(DIMS, 8, 29, KvLayout.PACKED))));
  }

  @Test
  void theKvLayoutChangesTheDecodeDescriptionSoThePlanKey() {
    String packed = GraphShapes.describe(GraphShapes.decode(DIMS, 8, 28, KvLayout.PACKED));
    String perLayer = GraphShapes.describe(GraphShapes.decode(DIMS, 8, 28, KvLayout.PER_LAYER));
    assertNotEquals(packed, perLayer);
    assertTrue(perLayer.contains("past_key_values.1.value min [1, 4, 21, 16] opt [1, 4, 34, 16] max [8, 4, 48, 16]"),
        perLayer);
    assertFalse(perLayer.contains("past_kv"), perLayer);
  }

  @Test
  void declaredInputsMustLeaveTheProfiledAxesDynamic() {
    GraphShapes.Range kv = byName(GraphShapes.decode(DIMS, 8, 28, KvLayout.PACKED)).get("past_kv");
    assertNull(GraphShapes.mismatch("decode", kv, new long[] {2, 2, -1, 4, -1, 16}));
    String staticBatch = GraphShapes.mismatch("decode", kv, new long[] {2, 2, 1, 4, -1, 16});
    assertTrue(staticBatch.contains("dimension 2 as 1") && staticBatch.contains("1..8")
        && staticBatch.contains("dynamic"), staticBatch);
    String wrongHeads = GraphShapes.mismatch("decode", kv, new long[] {2, 2, -1, 8, -1, 16});
    assertTrue(wrongHeads.contains("dimension 3 as 8") && wrongHeads.contains("model.json"), wrongHeads);
    String rank = GraphShapes.mismatch("decode", kv, new long[] {2, -1, 4, -1, 16});
    assertTrue(rank.contains("5 dimensions"), rank);

    GraphShapes.Range layer = byName(GraphShapes.decode(DIMS, 8, 28, KvLayout.PER_LAYER)).get("past_key_values.1.key");
    assertNull(GraphShapes.mismatch("decode", layer, new long[] {-1, 4, -1, 16}));
    String staticPositions = GraphShapes.mismatch("decode", layer, new long[] {-1, 4, 21, 16});
    assertTrue(staticPositions.contains("past_key_values.1.key") && staticPositions.contains("dimension 2 as 21")
        && staticPositions.contains("21..48"), staticPositions);
    String packedShape = GraphShapes.mismatch("decode", layer, new long[] {2, 2, -1, 4, -1, 16});
    assertTrue(packedShape.contains("6 dimensions") && packedShape.contains("expected 4"), packedShape);
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
    GraphShapes.Range mask = byName(GraphShapes.decode(dims, 8, defaultNewTokens, KvLayout.PER_LAYER))
        .get("attention_mask");
    assertTrue(mask.max()[1] <= model.promptLength() + allowed);
  }

  @Test
  void theShippedGraphsDeclareTheInputsTheProfileFeeds() throws Exception {
    ModelPackage model = ShippedModel.load();
    GraphShapes.Dims dims = GraphShapes.Dims.of(model);
    int newTokens = model.chunkLength() * model.actionDimensions();
    KvLayout prefill = checkAgainstProfile(GraphShapes.PREFILL, model.prefillGraph(), model.layers(),
        layout -> GraphShapes.prefill(dims, 8));
    KvLayout decode = checkAgainstProfile(GraphShapes.DECODE, model.decodeGraph(), model.layers(),
        layout -> GraphShapes.decode(dims, 8, newTokens, layout));
    System.out.println("shipped graphs' KV cache I/O: prefill " + prefill + ", decode " + decode);
  }

  /**
   * What the engine does with a parsed network, with ONNX Runtime's view of the graph: detects its
   * layout, and checks the graph's inputs are exactly the profile's with compatible declared shapes.
   */
  private static KvLayout checkAgainstProfile(String graph, Path onnx, int layers,
      Function<KvLayout, List<GraphShapes.Range>> rangesFor) throws Exception {
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = OrtEnvironment.getEnvironment().createSession(onnx.toString(), options)) {
      List<String> ioNames = new ArrayList<>(session.getInputNames());
      ioNames.addAll(session.getOutputNames());
      KvLayout layout = KvLayout.detect(graph, ioNames, layers);
      Map<String, GraphShapes.Range> ranges = byName(rangesFor.apply(layout));
      assertEquals(ranges.keySet(), session.getInputNames(), graph + " inputs");
      Set<String> outputs = new HashSet<>(layout.presentNames(layers));
      outputs.add(GraphShapes.LOGITS);
      assertEquals(outputs, session.getOutputNames(), graph + " outputs");
      for (Map.Entry<String, NodeInfo> input : session.getInputInfo().entrySet()) {
        long[] declared = ((TensorInfo) input.getValue().getInfo()).getShape();
        assertNull(GraphShapes.mismatch(graph, ranges.get(input.getKey()), declared));
      }
      return layout;
    }
  }

  private static Map<String, GraphShapes.Range> byName(List<GraphShapes.Range> ranges) {
    return ranges.stream().collect(Collectors.toMap(GraphShapes.Range::name, r -> r));
  }
}
