package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** openpi's msgpack + NumPy encoding, byte for byte, and every way a hostile message is refused. */
class MsgpackNumpyTest {
  /**
   * What {@code openpi_client.msgpack_numpy.Packer().pack({"prompt": "pick", "state":
   * np.array([1.0, 2.0], dtype=np.float32)})} writes, from the msgpack specification: a str-keyed
   * dict whose array is a map with bytes (bin) keys in pack_array's order.
   */
  static final String OPENPI_OBSERVATION = "82"
      + "a6" + hex("prompt") + "a4" + hex("pick")
      + "a5" + hex("state")
      + "84"
      + "c40b" + hex("__ndarray__") + "c3"
      + "c404" + hex("data") + "c408" + "0000803f" + "00000040"
      + "c405" + hex("dtype") + "a3" + hex("<f4")
      + "c405" + hex("shape") + "9102";

  private static String hex(String ascii) {
    return HexFormat.of().formatHex(ascii.getBytes(StandardCharsets.US_ASCII));
  }

  private static byte[] bytes(String hex) {
    return HexFormat.of().parseHex(hex);
  }

  @Test
  void readsWhatOpenpisPackerWrites() {
    Map<?, ?> observation = assertInstanceOf(Map.class, MsgpackNumpy.unpack(bytes(OPENPI_OBSERVATION)));
    assertEquals("pick", observation.get("prompt"));
    MsgpackNumpy.NdArray state = assertInstanceOf(MsgpackNumpy.NdArray.class, observation.get("state"));
    assertEquals("<f4", state.dtype());
    assertArrayEquals(new int[] {2}, state.shape());
    assertArrayEquals(new float[] {1f, 2f}, state.floats("state"));
  }

  @Test
  void writesWhatOpenpisPackerWritesForTheSameValues() {
    Map<String, Object> observation = new LinkedHashMap<>();
    observation.put("prompt", "pick");
    observation.put("state", MsgpackNumpy.NdArray.float32(new float[] {1f, 2f}, 2));
    assertEquals(OPENPI_OBSERVATION, HexFormat.of().formatHex(MsgpackNumpy.pack(observation)));
  }

  @Test
  void aReplyDecodesToTheSameValuesAndPythonsNumberFormats() {
    Map<String, Object> reply = new LinkedHashMap<>();
    reply.put("actions", MsgpackNumpy.NdArray.float32(new float[] {0.5f, -1f, 2f, 3f, 4f, 5f}, 3, 2));
    reply.put("server_timing", Map.of("infer_ms", 1.5));
    reply.put("count", 300L);
    reply.put("flag", false);
    reply.put("none", null);
    byte[] packed = MsgpackNumpy.pack(reply);
    String hex = HexFormat.of().formatHex(packed);
    assertTrue(hex.contains("a8" + hex("infer_ms") + "cb3ff8000000000000"), "a Python float is float64: " + hex);
    assertTrue(hex.contains("a5" + hex("count") + "cd012c"), "the smallest integer format, as Python's: " + hex);
    Map<?, ?> read = (Map<?, ?>) MsgpackNumpy.unpack(packed);
    MsgpackNumpy.NdArray actions = (MsgpackNumpy.NdArray) read.get("actions");
    assertArrayEquals(new int[] {3, 2}, actions.shape());
    assertArrayEquals(new float[] {0.5f, -1f, 2f, 3f, 4f, 5f}, actions.floats("actions"));
    assertEquals(1.5, ((Map<?, ?>) read.get("server_timing")).get("infer_ms"));
    assertEquals(300L, read.get("count"));
    assertEquals(false, read.get("flag"));
    assertTrue(read.containsKey("none") && read.get("none") == null);
  }

  @Test
  void arraysOfEveryNumericDtypeAndByteOrderReadAsFloats() {
    assertArrayEquals(new float[] {1f, 255f}, array("|u1", "01ff", 2).floats("x"));
    assertArrayEquals(new float[] {-1f, 2f}, array("<i8", "ffffffffffffffff0200000000000000", 2).floats("x"));
    assertArrayEquals(new float[] {1f}, array(">f8", "3ff0000000000000", 1).floats("x"));
    assertArrayEquals(new float[] {1f}, array("<f2", "003c", 1).floats("x"));
    assertArrayEquals(new float[] {65535f}, array("<u2", "ffff", 1).floats("x"));
  }

  private static MsgpackNumpy.NdArray array(String dtype, String data, int... shape) {
    return new MsgpackNumpy.NdArray(dtype, shape, bytes(data));
  }

  @Test
  void aNumpyScalarBecomesItsValue() {
    String scalar = "83" + "c40d" + hex("__npgeneric__") + "c3" + "c404" + hex("data") + "cb4004000000000000"
        + "c405" + hex("dtype") + "a3" + hex("<f8");
    assertEquals(2.5, MsgpackNumpy.unpack(bytes(scalar)));
  }

  @Test
  void everyMalformedMessageIsRefusedSayingWhere() {
    refused("", "ends early");
    refused("c1", "not msgpack"); // the one byte msgpack never uses
    refused("82a6" + hex("prompt"), "truncated");
    refused("81a1" + hex("k") + "dd7fffffff", "declares 2147483647 elements"); // an array of 2^31-1, no bytes
    refused("81a1" + hex("k") + "c67fffff00", "truncated or corrupt"); // a 2 GB bin in 9 bytes
    refused("81a1" + hex("k") + "db7fffffff", "truncated or corrupt"); // a 2 GB str
    refused("81a1" + hex("k") + "df7fffffff", "truncated or corrupt"); // a map of 2^31-1 entries
    refused("81" + "01" + "02", "a map key of type integer (expected str or bytes)");
    refused("81a1" + hex("k") + "a2c328", "not UTF-8");
    refused("81a1" + hex("k") + "d40100", "extension type");
    refused("81a1" + hex("k") + "cfffffffffffffffff", "expected at most");
    refused("c0c0", "after the first msgpack value");
    refused("91".repeat(MsgpackNumpy.MAX_DEPTH + 1) + "c0", "nested deeper than 16 levels");
    // Arrays: data that does not fill the shape, an unknown dtype, an object dtype, a bad shape.
    String image = "81" + "a5" + hex("image") + "84" + "c40b" + hex("__ndarray__") + "c3" + "c404" + hex("data");
    refused(image + "c40300ff00" + "c405" + hex("dtype") + "a3" + hex("|u1") + "c405" + hex("shape") + "920202",
        "image: array data: 3 bytes for shape [2, 2] of |u1 (expected 4)");
    refused(image + "c401ff" + "c405" + hex("dtype") + "a3" + hex("|O8") + "c405" + hex("shape") + "9101",
        "image: array dtype \"|O8\"");
    refused(image + "c401ff" + "c405" + hex("dtype") + "a3" + hex("|u1") + "c405" + hex("shape") + "91ff",
        "image: array shape [-1]");
    refused(image + "c401ff" + "c405" + hex("dtype") + "a3" + hex("|u1") + "c405" + hex("shape") + "a3" + hex("abc"),
        "image: an array without a shape list");
  }

  private static void refused(String hex, String expected) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MsgpackNumpy.unpack(bytes(hex)));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void randomBytesAreRefusedOrReadButNeverThrowAnythingElse() {
    Random random = new Random(7);
    for (int i = 0; i < 20_000; i++) {
      byte[] noise = new byte[1 + random.nextInt(64)];
      random.nextBytes(noise);
      try {
        MsgpackNumpy.unpack(noise);
      } catch (IllegalArgumentException expected) {
        // refused, with a message
      }
    }
    // Every truncation and every bit flip of a real observation, too.
    byte[] real = bytes(OPENPI_OBSERVATION);
    for (int length = 0; length < real.length; length++) {
      byte[] cut = java.util.Arrays.copyOf(real, length);
      assertThrows(IllegalArgumentException.class, () -> MsgpackNumpy.unpack(cut), "cut at " + length);
    }
    for (int bit = 0; bit < real.length * 8; bit++) {
      byte[] flipped = real.clone();
      flipped[bit / 8] ^= (byte) (1 << (bit % 8));
      try {
        MsgpackNumpy.unpack(flipped);
      } catch (IllegalArgumentException expected) {
        // refused, with a message
      }
    }
  }

  @Test
  void aLargeImageRoundTrips() {
    byte[] pixels = new byte[224 * 224 * 3];
    new Random(1).nextBytes(pixels);
    Map<String, Object> observation = Map.of("observation/image", new MsgpackNumpy.NdArray("|u1",
        new int[] {224, 224, 3}, pixels), "prompt", "x".repeat(300), "list", List.of(1L, 2.5, "three"));
    Map<?, ?> read = (Map<?, ?>) MsgpackNumpy.unpack(MsgpackNumpy.pack(observation));
    assertArrayEquals(pixels, ((MsgpackNumpy.NdArray) read.get("observation/image")).data());
    assertEquals("x".repeat(300), read.get("prompt"));
    assertEquals(List.of(1L, 2.5, "three"), read.get("list"));
  }
}
