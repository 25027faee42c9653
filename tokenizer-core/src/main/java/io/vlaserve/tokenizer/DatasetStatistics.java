package io.vlaserve.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * OpenVLA's dataset statistics ({@code dataset_statistics.json}, or a checkpoint's
 * {@code norm_stats}): {@code {KEY: {"action": {"mean","std","max","min","q01","q99","mask"},
 * "proprio": {...}, "num_transitions", "num_trajectories"}}}. Immutable.
 */
public final class DatasetStatistics {
  private static final JsonMapper MAPPER = JsonMapper.builder().build();

  private final Map<String, ActionStatistics> actionsByKey;
  private final String source;

  private DatasetStatistics(Map<String, ActionStatistics> actionsByKey, String source) {
    this.actionsByKey = Collections.unmodifiableMap(actionsByKey);
    this.source = source;
  }

  /** Reads a statistics file. */
  public static DatasetStatistics read(Path path) {
    try {
      return parse(Files.readString(path), path.toString());
    } catch (IOException e) {
      throw new InvalidProfileException("cannot read statistics file " + path + ": " + e.getMessage(), e);
    }
  }

  /** Parses statistics JSON; {@code source} names it in error messages. */
  public static DatasetStatistics parse(String json, String source) {
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JacksonException e) {
      throw new InvalidProfileException(source + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
    }
    if (root == null || !root.isObject() || root.isEmpty()) {
      throw new InvalidProfileException(source + ": expected a JSON object {KEY: {\"action\": {...}}}");
    }
    Map<String, ActionStatistics> byKey = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : root.properties()) {
      String at = source + ": " + entry.getKey();
      JsonNode action = entry.getValue().get("action");
      if (action == null || !action.isObject()) {
        throw new InvalidProfileException(at + ".action: missing (expected: an object with q01, q99, mask)");
      }
      byKey.put(entry.getKey(), parseAction(action, at + ".action"));
    }
    return new DatasetStatistics(byKey, source);
  }

  private static ActionStatistics parseAction(JsonNode node, String at) {
    double[] q01 = numbers(node, "q01", at, true);
    double[] q99 = numbers(node, "q99", at, true);
    int dims = q01.length;
    double[] min = numbers(node, "min", at, false);
    double[] max = numbers(node, "max", at, false);
    double[] mean = numbers(node, "mean", at, false);
    double[] std = numbers(node, "std", at, false);
    boolean[] mask = new boolean[dims];
    JsonNode maskNode = node.get("mask");
    if (maskNode == null) {
      java.util.Arrays.fill(mask, true); // OpenVLA's default when the key is absent
    } else {
      if (!maskNode.isArray() || maskNode.size() != dims) {
        throw new InvalidProfileException(at + ".mask: expected an array of " + dims + " booleans");
      }
      for (int d = 0; d < dims; d++) {
        if (!maskNode.get(d).isBoolean()) {
          throw new InvalidProfileException(at + ".mask[" + d + "]: " + maskNode.get(d) + " (expected: true or false)");
        }
        mask[d] = maskNode.get(d).booleanValue();
      }
    }
    for (Map.Entry<String, double[]> other : Map.of("q99", q99, "min", nonNull(min, dims), "max", nonNull(max, dims),
        "mean", nonNull(mean, dims), "std", nonNull(std, dims)).entrySet()) {
      if (other.getValue().length != dims) {
        throw new InvalidProfileException(at + "." + other.getKey() + ": " + other.getValue().length
            + " values (expected: " + dims + ", as many as q01)");
      }
    }
    for (int d = 0; d < dims; d++) {
      if (q99[d] < q01[d]) {
        throw new InvalidProfileException(at + ".q99[" + d + "]: " + q99[d] + " (expected: >= q01 " + q01[d] + ")");
      }
    }
    return new ActionStatistics(mean, std, min, max, q01, q99, mask);
  }

  private static double[] nonNull(double[] values, int dims) {
    return values == null ? new double[dims] : values;
  }

  private static double[] numbers(JsonNode node, String field, String at, boolean required) {
    JsonNode array = node.get(field);
    if (array == null) {
      if (required) {
        throw new InvalidProfileException(at + "." + field + ": missing (expected: an array of numbers)");
      }
      return null;
    }
    if (!array.isArray() || array.isEmpty()) {
      throw new InvalidProfileException(at + "." + field + ": " + array + " (expected: a non-empty array of numbers)");
    }
    double[] values = new double[array.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode value = array.get(i);
      if (!value.isNumber() || !Double.isFinite(value.doubleValue())) {
        throw new InvalidProfileException(at + "." + field + "[" + i + "]: " + value + " (expected: a finite number)");
      }
      values[i] = value.doubleValue();
    }
    return values;
  }

  /** The dataset keys, in file order. */
  public Set<String> keys() {
    return actionsByKey.keySet();
  }

  /** Where the statistics came from. */
  public String source() {
    return source;
  }

  /**
   * The action statistics of {@code unnormKey}. A null or empty key is accepted only when the file
   * holds exactly one dataset, as in OpenVLA.
   *
   * @throws UnknownProfileException listing the keys when the key is missing or ambiguous
   */
  public ActionStatistics action(String unnormKey) {
    return actionsByKey.get(resolveKey(unnormKey));
  }

  /** The key {@code unnormKey} selects (see {@link #action(String)}). */
  public String resolveKey(String unnormKey) {
    if (unnormKey == null || unnormKey.isEmpty()) {
      if (actionsByKey.size() == 1) {
        return actionsByKey.keySet().iterator().next();
      }
      throw new UnknownProfileException(source + " holds statistics for " + actionsByKey.size()
          + " datasets; choose one with --unnorm-key (known: " + String.join(", ", actionsByKey.keySet()) + ")");
    }
    if (!actionsByKey.containsKey(unnormKey)) {
      throw new UnknownProfileException("unnorm key", unnormKey, new ArrayList<>(actionsByKey.keySet()));
    }
    return unnormKey;
  }

  /** One OpenVLA profile per key, named {@code prefix + key}. */
  public List<ActionProfile> toOpenVlaProfiles(String prefix, int bins, int vocabSize) {
    List<ActionProfile> profiles = new ArrayList<>();
    for (Map.Entry<String, ActionStatistics> entry : actionsByKey.entrySet()) {
      profiles.add(entry.getValue().toOpenVlaProfile(prefix + entry.getKey(), bins, vocabSize,
          "stats:" + source + "#" + entry.getKey()));
    }
    return profiles;
  }
}
