package io.vlaserve.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Reads and writes profile JSON files:
 * <pre>
 * {"name": "my-robot", "scheme": "uniform" | "openvla", "bins": 256,
 *  "token_layout": "shared" | "per_dimension", "vocab_base": 31744,   (uniform)
 *  "vocab_size": 32000,                                              (openvla)
 *  "dimensions": [{"name": "dx", "low": -0.05, "high": 0.05}, ...]}
 * </pre>
 * OpenVLA dimensions take {@code low}/{@code high} as q01/q99 and may add {@code "normalized": false}
 * (the statistics' mask) and {@code "constant": true} (min == max). Unknown fields are errors, so a
 * typo never silently falls back to a default.
 */
public final class ProfileFiles {
  private static final JsonMapper MAPPER = JsonMapper.builder().build();
  private static final Set<String> PROFILE_FIELDS =
      Set.of("name", "scheme", "bins", "token_layout", "vocab_base", "vocab_size", "dimensions", "description");
  private static final Set<String> DIMENSION_FIELDS = Set.of("name", "low", "high", "normalized", "constant", "unit");

  private ProfileFiles() {}

  public static ActionProfile read(Path path) {
    try {
      return parse(Files.readString(path), path.toString());
    } catch (IOException e) {
      throw new InvalidProfileException("cannot read profile " + path + ": " + e.getMessage(), e);
    }
  }

  static ActionProfile readResource(String resource) {
    try (InputStream in = ProfileFiles.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing built-in profile resource " + resource);
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "builtin");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read built-in profile " + resource, e);
    }
  }

  /** Parses one profile; {@code source} is recorded in the profile and used in error messages. */
  public static ActionProfile parse(String json, String source) {
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JacksonException e) {
      throw new InvalidProfileException(source + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
    }
    if (root == null || !root.isObject()) {
      throw new InvalidProfileException(source + ": expected a JSON object");
    }
    rejectUnknown(root, PROFILE_FIELDS, source);
    Scheme scheme = Scheme.fromJsonName(text(root, "scheme", source, null));
    int bins = integer(root, "bins", source, 256);
    TokenLayout layout = scheme == Scheme.OPENVLA
        ? TokenLayout.SHARED
        : TokenLayout.fromJsonName(text(root, "token_layout", source, "shared"));
    int vocabBase = integer(root, "vocab_base", source, 0);
    int vocabSize = integer(root, "vocab_size", source, scheme == Scheme.OPENVLA ? 32000 : 0);
    JsonNode dimsNode = root.get("dimensions");
    if (dimsNode == null || !dimsNode.isArray()) {
      throw new InvalidProfileException(source + ": dimensions: missing (expected: an array of {name, low, high})");
    }
    List<ActionDimension> dims = new ArrayList<>();
    for (int d = 0; d < dimsNode.size(); d++) {
      JsonNode dim = dimsNode.get(d);
      String at = source + ": dimensions[" + d + "]";
      if (!dim.isObject()) {
        throw new InvalidProfileException(at + ": " + dim + " (expected: an object {name, low, high})");
      }
      rejectUnknown(dim, DIMENSION_FIELDS, at);
      dims.add(new ActionDimension(
          text(dim, "name", at, null),
          number(dim, "low", at),
          number(dim, "high", at),
          bool(dim, "normalized", at, true),
          bool(dim, "constant", at, false)));
    }
    try {
      return new ActionProfile(text(root, "name", source, null), scheme, bins, layout, vocabBase, vocabSize, dims, source);
    } catch (InvalidProfileException e) {
      throw new InvalidProfileException(source + ": " + e.getMessage(), e);
    }
  }

  /** The JSON form of a profile, readable by {@link #parse}. */
  public static String toJson(ActionProfile profile) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("name", profile.name());
    root.put("scheme", profile.scheme().jsonName());
    root.put("bins", profile.bins());
    if (profile.scheme() == Scheme.OPENVLA) {
      root.put("vocab_size", profile.vocabSize());
    } else {
      root.put("token_layout", profile.tokenLayout().jsonName());
      root.put("vocab_base", profile.vocabBase());
    }
    ArrayNode dims = root.putArray("dimensions");
    for (ActionDimension dim : profile.dimensions()) {
      ObjectNode node = dims.addObject();
      node.put("name", dim.name());
      node.put("low", dim.low());
      node.put("high", dim.high());
      if (profile.scheme() == Scheme.OPENVLA) {
        node.put("normalized", dim.normalized());
        node.put("constant", dim.constant());
      }
    }
    return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root);
  }

  private static void rejectUnknown(JsonNode node, Set<String> known, String at) {
    for (Map.Entry<String, JsonNode> field : node.properties()) {
      if (!known.contains(field.getKey())) {
        throw new InvalidProfileException(at + ": unknown field \"" + field.getKey() + "\" (expected one of: "
            + String.join(", ", known.stream().sorted().toList()) + ")");
      }
    }
  }

  private static String text(JsonNode node, String field, String at, String fallback) {
    JsonNode value = node.get(field);
    if (value == null) {
      if (fallback != null) {
        return fallback;
      }
      throw new InvalidProfileException(at + ": " + field + ": missing (expected: a string)");
    }
    if (!value.isString()) {
      throw new InvalidProfileException(at + ": " + field + ": " + value + " (expected: a string)");
    }
    return value.stringValue();
  }

  private static int integer(JsonNode node, String field, String at, int fallback) {
    JsonNode value = node.get(field);
    if (value == null) {
      return fallback;
    }
    if (!value.isIntegralNumber() || !value.canConvertToInt()) {
      throw new InvalidProfileException(at + ": " + field + ": " + value + " (expected: an integer)");
    }
    return value.intValue();
  }

  private static double number(JsonNode node, String field, String at) {
    JsonNode value = node.get(field);
    if (value == null || !value.isNumber()) {
      throw new InvalidProfileException(at + "." + field + ": " + value + " (expected: a number)");
    }
    return value.doubleValue();
  }

  private static boolean bool(JsonNode node, String field, String at, boolean fallback) {
    JsonNode value = node.get(field);
    if (value == null) {
      return fallback;
    }
    if (!value.isBoolean()) {
      throw new InvalidProfileException(at + "." + field + ": " + value + " (expected: true or false)");
    }
    return value.booleanValue();
  }
}
