package io.vlaserve.policy.server;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.Locale;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The json-numpy wire format OpenVLA's deploy.py speaks: an array is the object
 * {@code {"__numpy__": base64 of its C-order bytes, "dtype": numpy's dtype string, "shape": [...]}}.
 * Only what {@code POST /act} needs: uint8 images and float64 proprioception in, float64 actions out.
 * Every malformed field is refused with a message naming it. Stateless.
 */
final class JsonNumpy {
  static final String DATA = "__numpy__";
  // numpy spells uint8 "|u1" (byte order does not apply); other encoders write "<u1" or "uint8".
  private static final Set<String> UINT8 = Set.of("|u1", "<u1", ">u1", "=u1", "u1", "uint8", "B");
  private static final Set<String> FLOAT64 = Set.of("<f8", ">f8", "=f8", "f8", "float64", "d");

  private JsonNumpy() {}

  /** An RGB image, row-major, 3 bytes a pixel. */
  record Rgb(int width, int height, byte[] pixels) {}

  /**
   * Decodes {@code field} as a uint8 image of shape {@code [H, W, 3]}, {@code [H, W, 4]} (alpha dropped)
   * or {@code [H, W]} (grey), as PIL's {@code Image.fromarray(image).convert("RGB")} reads them.
   *
   * @throws IllegalArgumentException saying what was wrong and what was expected
   */
  static Rgb image(String field, JsonNode node) {
    if (node == null || !node.isObject() || !node.has(DATA)) {
      throw new IllegalArgumentException(field + ": " + describe(node)
          + " (expected: a json-numpy array {\"__numpy__\": base64, \"dtype\": \"|u1\", \"shape\": [H, W, 3]})");
    }
    String dtype = dtype(field, node);
    if (!UINT8.contains(dtype)) {
      throw new IllegalArgumentException(field + ": dtype \"" + abbreviate(dtype) + "\" (expected: uint8, \"|u1\")");
    }
    JsonNode shapeNode = node.path("shape");
    int[] shape = shape(field, shapeNode);
    int channels = shape.length == 2 ? 1 : shape.length == 3 ? shape[2] : -1;
    if ((channels != 1 && channels != 3 && channels != 4) || shape[0] < 1 || shape[1] < 1
        || (shape.length == 3 && channels == 1)) {
      throw new IllegalArgumentException(field + ": shape " + abbreviate(shapeNode.toString())
          + " (expected: [height, width, 3], [height, width, 4] or [height, width])");
    }
    byte[] data = data(field, node);
    long expected = (long) shape[0] * shape[1] * channels;
    if (data.length != expected) {
      throw new IllegalArgumentException(field + ": " + data.length + " bytes of data for shape " + abbreviate(shapeNode.toString())
          + " (expected: " + expected + ")");
    }
    int pixels = shape[0] * shape[1];
    byte[] rgb = channels == 3 ? data : new byte[pixels * 3];
    if (channels != 3) {
      for (int p = 0; p < pixels; p++) {
        for (int c = 0; c < 3; c++) {
          rgb[p * 3 + c] = data[p * channels + (channels == 1 ? 0 : c)];
        }
      }
    }
    return new Rgb(shape[1], shape[0], rgb);
  }

  /**
   * Decodes {@code field} as a float64 array ({@code "<f8"}, {@code ">f8"}) of shape {@code [length]}.
   *
   * @throws IllegalArgumentException saying what was wrong and what was expected
   */
  static double[] float64(String field, JsonNode node, int length) {
    String dtype = dtype(field, node);
    if (!FLOAT64.contains(dtype)) {
      throw new IllegalArgumentException(field + ": dtype \"" + abbreviate(dtype) + "\" (expected: float64, \"<f8\")");
    }
    if (node.has("shape")) {
      int[] shape = shape(field, node.get("shape"));
      if (shape.length != 1 || shape[0] != length) {
        throw new IllegalArgumentException(field + ": shape " + abbreviate(node.get("shape").toString())
            + " (expected: [" + length + "])");
      }
    }
    byte[] data = data(field, node);
    if (data.length != length * 8) {
      throw new IllegalArgumentException(field + ": " + data.length + " bytes of data (expected: " + length * 8
          + ", " + length + " float64 values)");
    }
    ByteBuffer bytes = ByteBuffer.wrap(data).order(dtype.startsWith(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    double[] values = new double[length];
    for (int i = 0; i < length; i++) {
      values[i] = bytes.getDouble();
    }
    return values;
  }

  private static String dtype(String field, JsonNode node) {
    JsonNode dtype = node.path("dtype");
    if (!dtype.isString()) {
      throw new IllegalArgumentException(field + ": dtype " + describe(dtype) + " (expected: a numpy dtype string)");
    }
    return dtype.asString();
  }

  /** The dimensions of a json-numpy shape: a list of non-negative integers. */
  private static int[] shape(String field, JsonNode shapeNode) {
    if (!shapeNode.isArray()) {
      throw new IllegalArgumentException(field + ": shape " + describe(shapeNode)
          + " (expected: a list of integers, e.g. [height, width, 3])");
    }
    int[] shape = new int[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode dimension = shapeNode.get(i);
      if (!dimension.isIntegralNumber() || !dimension.canConvertToInt() || dimension.asInt() < 0) {
        throw new IllegalArgumentException(field + ": shape[" + i + "] " + describe(dimension)
            + " (expected: a non-negative integer)");
      }
      shape[i] = dimension.asInt();
    }
    return shape;
  }

  private static byte[] data(String field, JsonNode node) {
    JsonNode data = node.path(DATA);
    if (!data.isString()) {
      throw new IllegalArgumentException(field + ": __numpy__ " + describe(data) + " (expected: a base64 string)");
    }
    try {
      return Base64.getDecoder().decode(data.asString());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + ": __numpy__ is not base64 (" + e.getMessage() + ")");
    }
  }

  /** Encodes {@code values} as a float64 array ({@code "<f8"}) of the given shape. */
  static ObjectNode float64(double[] values, int... shape) {
    ByteBuffer bytes = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (double value : values) {
      bytes.putDouble(value);
    }
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    node.put(DATA, Base64.getEncoder().encodeToString(bytes.array()));
    node.put("dtype", "<f8");
    var shapeNode = node.putArray("shape");
    for (int dimension : shape) {
      shapeNode.add(dimension);
    }
    return node;
  }

  /** A node as an error message shows it: its type, or its value abbreviated, never the whole of a large value. */
  static String describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "missing";
    }
    if (node.isObject()) {
      return node.has(DATA) ? "a json-numpy object" : "an object without \"__numpy__\"";
    }
    if (node.isArray()) {
      return "a list of " + node.size();
    }
    if (node.isString()) {
      return "\"" + abbreviate(node.asString()) + "\"";
    }
    return node.isValueNode() ? abbreviate(node.toString())
        : "a JSON " + node.getNodeType().name().toLowerCase(Locale.ROOT);
  }

  /** At most 64 characters of {@code text}, so that error messages never echo a large input. */
  static String abbreviate(String text) {
    return text.length() <= 64 ? text : text.substring(0, 64) + "... (" + text.length() + " characters)";
  }
}
