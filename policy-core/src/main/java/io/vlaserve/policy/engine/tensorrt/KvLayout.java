package io.vlaserve.policy.engine.tensorrt;

import static io.vlaserve.policy.engine.tensorrt.GraphShapes.DECODE;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.PAST_KV;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.PAST_LAYER_PREFIX;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.PRESENT_KV;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.PRESENT_LAYER_PREFIX;

import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.KvCacheNames;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * How a graph passes the KV cache (docs/model-package.md): as one packed tensor {@code past_kv} /
 * {@code present_kv} of {@code [N, 2, B, heads, T, head_dim]}, or as one {@code [B, heads, T,
 * head_dim]} tensor per layer and per key/value ({@code past_key_values.{l}.key}, {@code
 * present.{l}.value}, ...). The engine's cache buffer is {@code [N, 2, B, heads, T, head_dim]} either
 * way: the per-layer tensor of layer l and kv k (0 key, 1 value) is its contiguous slice number
 * {@code l * 2 + k}, so both layouts bind the same buffer, the per-layer one in 2N equal slices.
 */
enum KvLayout {
  PACKED("packed"),
  PER_LAYER("per-layer");

  private static final int NAMES_SHOWN = 6;

  private final String label;

  KvLayout(String label) {
    this.label = label;
  }

  /** "packed" or "per-layer", for logs. */
  @Override
  public String toString() {
    return label;
  }

  /** Decode's cache inputs, in buffer order. */
  List<String> pastNames(int layers) {
    return this == PACKED ? List.of(PAST_KV) : KvCacheNames.past(layers);
  }

  /** The cache outputs of either graph, in buffer order. */
  List<String> presentNames(int layers) {
    return this == PACKED ? List.of(PRESENT_KV) : KvCacheNames.present(layers);
  }

  /** Tensors a cache buffer is split into: 1, or 2N. */
  int tensors(int layers) {
    return this == PACKED ? 1 : 2 * layers;
  }

  /** The shape of each cache tensor for {@code batch} sequences of {@code positions} positions. */
  long[] tensorShape(GraphShapes.Dims d, int batch, int positions) {
    return this == PACKED ? d.kvShape(batch, positions) : new long[] {batch, d.heads(), positions, d.headDim()};
  }

  /** Floats in each cache tensor for {@code batch} sequences of {@code positions} positions. */
  long tensorElements(GraphShapes.Dims d, int batch, int positions) {
    return d.kvElements(batch, positions) / tensors(d.layers());
  }

  /**
   * Where cache tensor {@code index} (in {@link #pastNames}/{@link #presentNames} order, so {@code
   * layer * 2 + kv} per layer) starts in a float32 buffer of {@code batch} sequences of {@code
   * positions} positions.
   */
  long byteOffset(GraphShapes.Dims d, int index, int batch, int positions) {
    return 4L * index * tensorElements(d, batch, positions);
  }

  /**
   * The layout of a graph, from its input and output names: packed if it has {@code past_kv} or
   * {@code present_kv}, per-layer if it has {@code past_key_values.*} or {@code present.*} names, and
   * then exactly those of {@code layers} layers (decode: past and present; prefill: present only).
   *
   * @param graph {@link GraphShapes#PREFILL} or {@link GraphShapes#DECODE}
   * @throws EngineException if the graph has both kinds of names, neither, or per-layer names that
   *     do not match {@code layers} layers; the message says what was expected and found
   */
  static KvLayout detect(String graph, Collection<String> ioNames, int layers) {
    boolean decode = DECODE.equals(graph);
    Set<String> packed = new TreeSet<>();
    Set<String> perLayer = new TreeSet<>(KvLayout::byLayer);
    for (String name : ioNames) {
      if (name.equals(PAST_KV) || name.equals(PRESENT_KV)) {
        packed.add(name);
      } else if (name.startsWith(PAST_LAYER_PREFIX) || name.startsWith(PRESENT_LAYER_PREFIX)) {
        perLayer.add(name);
      }
    }
    if (!packed.isEmpty() && !perLayer.isEmpty()) {
      throw new EngineException(graph + ".onnx mixes the packed KV cache tensors " + packed + " with per-layer ones "
          + shown(perLayer) + " (expected one layout or the other; see docs/model-package.md)");
    }
    if (!packed.isEmpty()) {
      return PACKED;
    }
    if (perLayer.isEmpty()) {
      String expected = decode
          ? PAST_KV + " and " + PRESENT_KV + ", or " + PAST_LAYER_PREFIX + "{l}.key|value and " + PRESENT_LAYER_PREFIX
              + "{l}.key|value"
          : PRESENT_KV + ", or " + PRESENT_LAYER_PREFIX + "{l}.key|value";
      throw new EngineException(graph + ".onnx has no KV cache tensors (expected: " + expected + " for l = 0.."
          + (layers - 1) + "; found " + new TreeSet<>(ioNames) + "; see docs/model-package.md)");
    }
    Set<String> expected = new LinkedHashSet<>();
    if (decode) {
      expected.addAll(PER_LAYER.pastNames(layers));
    }
    expected.addAll(PER_LAYER.presentNames(layers));
    Set<String> missing = new TreeSet<>(KvLayout::byLayer);
    missing.addAll(expected);
    missing.removeAll(perLayer);
    Set<String> unexpected = new TreeSet<>(KvLayout::byLayer);
    unexpected.addAll(perLayer);
    unexpected.removeAll(expected);
    if (!missing.isEmpty() || !unexpected.isEmpty()) {
      throw new EngineException(graph + ".onnx has per-layer KV cache tensors that do not match the " + layers
          + " layers of model.json (expected " + (decode ? PAST_LAYER_PREFIX + "{l}.key|value and " : "")
          + PRESENT_LAYER_PREFIX + "{l}.key|value for l = 0.." + (layers - 1) + ")"
          + (missing.isEmpty() ? "" : ": lacks " + shown(missing))
          + (unexpected.isEmpty() ? "" : (missing.isEmpty() ? ": " : "; ") + "unexpected " + shown(unexpected))
          + " (see docs/model-package.md)");
    }
    return PER_LAYER;
  }

  /** Orders "present.10.key" after "present.9.value", so messages list layers in order. */
  private static int byLayer(String a, String b) {
    String[] x = a.split("\\.");
    String[] y = b.split("\\.");
    for (int i = 0; i < Math.min(x.length, y.length); i++) {
      int order = isNumber(x[i]) && isNumber(y[i]) && x[i].length() != y[i].length()
          ? Integer.compare(x[i].length(), y[i].length())
          : x[i].compareTo(y[i]);
      if (order != 0) {
        return order;
      }
    }
    return Integer.compare(x.length, y.length) != 0 ? Integer.compare(x.length, y.length) : a.compareTo(b);
  }

  private static boolean isNumber(String part) {
    return !part.isEmpty() && part.chars().allMatch(Character::isDigit);
  }

  /** The first few names and how many more, so 64-layer graphs give readable messages. */
  private static String shown(Set<String> names) {
    List<String> first = names.stream().limit(NAMES_SHOWN).toList();
    return String.join(", ", first) + (names.size() > first.size() ? " and " + (names.size() - first.size())
        + " more" : "");
  }
}
