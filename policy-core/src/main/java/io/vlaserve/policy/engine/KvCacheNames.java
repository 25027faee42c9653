package io.vlaserve.policy.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The graphs' KV cache tensor names (docs/model-package.md): one tensor per layer and per key/value,
 * {@code past_key_values.{l}.key} in and {@code present.{l}.key} out, as Hugging Face Optimum names
 * them. Listed in the order of the engines' cache layout {@code [layers, 2 (key, value), B, heads, T,
 * headDim]}: tensor {@code i} is the i-th contiguous block of that buffer.
 */
public final class KvCacheNames {
  private static final String[] KINDS = {"key", "value"};

  private KvCacheNames() {}

  /** {@code past_key_values.0.key, past_key_values.0.value, past_key_values.1.key, ...} */
  public static List<String> past(int layers) {
    return names("past_key_values.", layers);
  }

  /** {@code present.0.key, present.0.value, present.1.key, ...} */
  public static List<String> present(int layers) {
    return names("present.", layers);
  }

  private static List<String> names(String prefix, int layers) {
    List<String> names = new ArrayList<>(layers * 2);
    for (int layer = 0; layer < layers; layer++) {
      for (String kind : KINDS) {
        names.add(prefix + layer + "." + kind);
      }
    }
    return names;
  }

  /**
   * Checks that a graph has exactly the expected cache tensors among its inputs or outputs.
   *
   * @param graph e.g. "decode.onnx"
   * @param direction "inputs" or "outputs"
   * @param expected the cache names it must have
   * @param actual all of the graph's names in that direction
   * @param others the non-cache names the graph has in that direction
   * @throws EngineException naming what is missing or unexpected, with a hint for packed graphs
   */
  public static void check(String graph, String direction, List<String> expected, Set<String> actual,
      Set<String> others) {
    Set<String> missing = new TreeSet<>(expected);
    missing.removeAll(actual);
    Set<String> unexpected = new TreeSet<>(actual);
    unexpected.removeAll(expected);
    unexpected.removeAll(others);
    if (missing.isEmpty() && unexpected.isEmpty()) {
      return;
    }
    boolean packed = actual.contains("past_kv") || actual.contains("present_kv");
    throw new EngineException(graph + " " + direction + " do not match the model package's per-layer KV cache"
        + (missing.isEmpty() ? "" : ": missing " + missing) + (unexpected.isEmpty() ? "" : ", unexpected " + unexpected)
        + (packed ? " (a packed past_kv/present_kv graph: convert the package with"
            + " `/usr/bin/python3 models/tiny-vla/tooling/kv_io.py <package>`)"
            : " (expected " + expected.size() / 2 + " layers' " + expected.get(0) + " ... "
                + expected.get(expected.size() - 1) + ")"));
  }
}
