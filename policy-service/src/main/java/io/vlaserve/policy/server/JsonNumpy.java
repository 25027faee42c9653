package io.vlaserve.policy.server;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The json-numpy wire format OpenVLA's deploy.py speaks: an array is the object
 * {@code {"__numpy__": base64 of its C-order bytes, "dtype": numpy's dtype string, "shape": [...]}}.
 * Only what {@code POST /act} needs: uint8 images in, float64 actions out. Stateless.
 */
final class JsonNumpy {
  static final String DATA = "__numpy__";
  // numpy spells uint8 "|u1" (byte order does not apply); other encoders write "<u1" or "uint8".
  private static final Set<String> UINT8 = Set.of("|u1", "<u1", ">u1", "=u1", "u1", "uint8", "B");

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
    String dtype = node.path("dtype").asString("");
    if (!UINT8.contains(dtype)) {
      throw new IllegalArgumentException(field + ": dtype \"" + dtype + "\" (expected: uint8, \"|u1\")");
    }
    JsonNode shapeNode = node.path("shape");
    int[] shape = new int[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = shapeNode.get(i).asInt(-1);
    }
    int channels = shape.length == 2 ? 1 : shape.length == 3 ? shape[2] : -1;
    if (!shapeNode.isArray() || (channels != 1 && channels != 3 && channels != 4) || shape[0] < 1 || shape[1] < 1
        || (shape.length == 3 && channels == 1)) {
      throw new IllegalArgumentException(field + ": shape " + shapeNode
          + " (expected: [height, width, 3], [height, width, 4] or [height, width])");
    }
    byte[] data;
    try {
      data = Base64.getDecoder().decode(node.path(DATA).asString(""));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + ": __numpy__ is not base64 (" + e.getMessage() + ")");
    }
    long expected = (long) shape[0] * shape[1] * channels;
    if (data.length != expected) {
      throw new IllegalArgumentException(field + ": " + data.length + " bytes of data for shape " + shapeNode
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

  private static String describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "missing";
    }
    return node.isObject() ? "an object without \"__numpy__\"" : "a JSON " + node.getNodeType().name().toLowerCase();
  }
}
