package io.vlaserve.policy.engine.tensorrt;

import io.vlaserve.policy.model.ModelPackage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;

/**
 * The graphs' tensor names (docs/model-package.md) and the optimization profile ranges the TensorRT
 * engine is built for: batch 1..maxBatch for every input, and for decode a cache of T0 up to
 * T0 + maxNewTokens - 1 positions read (so T0 + maxNewTokens written), in one packed input or one per
 * layer and key/value ({@link KvLayout}). TensorRT tunes its kernels for the {@code opt} shape:
 * batch 1 (one robot, lowest latency) and a cache half way through the action tokens.
 */
final class GraphShapes {
  static final String PREFILL = "prefill";
  static final String DECODE = "decode";

  static final String IMAGE = "image";
  static final String INSTRUCTION_IDS = "instruction_ids";
  static final String PROPRIO = "proprio";
  static final String TOKEN_IDS = "token_ids";
  static final String POSITION_IDS = "position_ids";
  static final String PAST_KV = "past_kv";
  static final String ATTENTION_MASK = "attention_mask";
  static final String LOGITS = "logits";
  static final String PRESENT_KV = "present_kv";
  /** Per-layer cache tensors ({@link KvLayout#PER_LAYER}): {@code past_key_values.{l}.key|value}. */
  static final String PAST_LAYER_PREFIX = "past_key_values.";
  /** Per-layer cache tensors ({@link KvLayout#PER_LAYER}): {@code present.{l}.key|value}. */
  static final String PRESENT_LAYER_PREFIX = "present.";

  private GraphShapes() {}

  /** The sizes of a model package's tensors. */
  record Dims(int imageHeight, int imageWidth, int instructionLength, int proprioLength, int vocabSize, int layers,
      int heads, int headDim, int promptLength) {

    static Dims of(ModelPackage model) {
      return new Dims(model.imageHeight(), model.imageWidth(), model.text().maxTokens(), model.proprioNames().size(),
          model.vocabSize(), model.layers(), model.heads(), model.headDim(), model.promptLength());
    }

    /** Floats in a {@code [N, 2, B, heads, T, head_dim]} cache, whichever {@link KvLayout} the graphs use. */
    long kvElements(int batch, int positions) {
      return (long) layers * 2 * batch * heads * positions * headDim;
    }

    long[] kvShape(int batch, int positions) {
      return new long[] {layers, 2, batch, heads, positions, headDim};
    }
  }

  /** One input's range in an optimization profile. */
  record Range(String name, long[] min, long[] opt, long[] max) {
    @Override
    public String toString() {
      return name + " min " + Arrays.toString(min) + " opt " + Arrays.toString(opt) + " max " + Arrays.toString(max);
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Range r && name.equals(r.name) && Arrays.equals(min, r.min) && Arrays.equals(opt, r.opt)
          && Arrays.equals(max, r.max);
    }

    @Override
    public int hashCode() {
      return name.hashCode() * 31 + Arrays.hashCode(max);
    }
  }

  static List<Range> prefill(Dims d, int maxBatch) {
    return List.of(
        batched(IMAGE, maxBatch, d.imageHeight(), d.imageWidth(), 3),
        batched(INSTRUCTION_IDS, maxBatch, d.instructionLength()),
        batched(PROPRIO, maxBatch, d.proprioLength()));
  }

  /**
   * @param maxNewTokens tokens a caller may generate; the last is sampled from the previous step's
   *     logits, so decode reads at most T0 + maxNewTokens - 1 cached positions
   */
  static List<Range> decode(Dims d, int maxBatch, int maxNewTokens, KvLayout layout) {
    int t0 = d.promptLength();
    int tMax = t0 + Math.max(0, maxNewTokens - 1);
    int tOpt = t0 + (tMax - t0) / 2;
    List<Range> ranges = new ArrayList<>();
    ranges.add(batched(TOKEN_IDS, maxBatch, 1));
    ranges.add(batched(POSITION_IDS, maxBatch, 1));
    for (String past : layout.pastNames(d.layers())) {
      ranges.add(new Range(past, layout.tensorShape(d, 1, t0), layout.tensorShape(d, 1, tOpt),
          layout.tensorShape(d, maxBatch, tMax)));
    }
    ranges.add(new Range(ATTENTION_MASK, new long[] {1, t0 + 1}, new long[] {1, tOpt + 1},
        new long[] {maxBatch, tMax + 1}));
    return List.copyOf(ranges);
  }

  private static Range batched(String name, int maxBatch, long... rest) {
    return new Range(name, withBatch(1, rest), withBatch(1, rest), withBatch(maxBatch, rest));
  }

  private static long[] withBatch(long batch, long[] rest) {
    long[] shape = new long[rest.length + 1];
    shape[0] = batch;
    System.arraycopy(rest, 0, shape, 1, rest.length);
    return shape;
  }

  /**
   * The most new tokens the model's position table allows after its prompt ({@code
   * architecture.max_positions} - T0 in model.json), or {@link Integer#MAX_VALUE} if the manifest
   * does not say. Decoding past it would index the position embedding out of range.
   */
  static int maxNewTokens(ModelPackage model) {
    JsonNode maxPositions = model.manifest() == null ? null : model.manifest().path("architecture").path("max_positions");
    if (maxPositions == null || !maxPositions.isIntegralNumber()) {
      return Integer.MAX_VALUE;
    }
    return maxPositions.intValue() - model.promptLength();
  }

  /** One line per input, for the plan cache key and messages. */
  static String describe(List<Range> ranges) {
    return ranges.stream().map(Range::toString).collect(Collectors.joining("; "));
  }

  /**
   * Checks a graph input's declared dimensions (-1 = dynamic) against the range the engine needs.
   *
   * @return null if they agree, else why not
   */
  static String mismatch(String graph, Range range, long[] declared) {
    if (declared.length != range.max().length) {
      return graph + ".onnx input " + range.name() + " has " + declared.length + " dimensions "
          + Arrays.toString(declared) + " (expected " + range.max().length + ": " + Arrays.toString(range.max())
          + "; see docs/model-package.md)";
    }
    for (int i = 0; i < declared.length; i++) {
      if (declared[i] >= 0 && (declared[i] != range.min()[i] || declared[i] != range.max()[i])) {
        return graph + ".onnx input " + range.name() + " declares dimension " + i + " as " + declared[i]
            + ", but the engine needs " + (range.min()[i] == range.max()[i] ? String.valueOf(range.max()[i])
            : range.min()[i] + ".." + range.max()[i])
            + (range.min()[i] == range.max()[i] ? " (model.json and the graph disagree)"
            : " (export the graph with this axis dynamic)");
      }
    }
    return null;
  }
}
