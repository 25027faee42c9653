package io.vlaserve.policy.engine.tensorrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.BytePointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plan cache key, file names and file I/O (JavaCPP's own native library only: no CUDA needed). */
class PlanCacheTest {
  private static final PlanCache.Key KEY = new PlanCache.Key("tiny-vla", "decode", "10.15.1.29", "NVIDIA L4", "8.9",
      "ab".repeat(32), "fp16", "past_kv min [2, 2, 1, 4, 21, 16] ...");

  @Test
  void everyPartOfTheKeySelectsAnotherFile() {
    List<PlanCache.Key> variants = List.of(
        new PlanCache.Key("tiny-vla", "prefill", "10.15.1.29", "NVIDIA L4", "8.9", "ab".repeat(32), "fp16", KEY.profile()),
        new PlanCache.Key("tiny-vla", "decode", "10.15.2.1", "NVIDIA L4", "8.9", "ab".repeat(32), "fp16", KEY.profile()),
        new PlanCache.Key("tiny-vla", "decode", "10.15.1.29", "NVIDIA A10G", "8.6", "ab".repeat(32), "fp16", KEY.profile()),
        new PlanCache.Key("tiny-vla", "decode", "10.15.1.29", "NVIDIA L4", "8.9", "cd".repeat(32), "fp16", KEY.profile()),
        new PlanCache.Key("tiny-vla", "decode", "10.15.1.29", "NVIDIA L4", "8.9", "ab".repeat(32), "fp32", KEY.profile()),
        new PlanCache.Key("tiny-vla", "decode", "10.15.1.29", "NVIDIA L4", "8.9", "ab".repeat(32), "fp16", "other bounds"));
    for (PlanCache.Key variant : variants) {
      assertNotEquals(KEY.fileName(), variant.fileName(), variant.toString());
    }
    assertEquals(KEY.fileName(), new PlanCache.Key(KEY.modelName(), KEY.graph(), KEY.tensorRtVersion(), KEY.deviceName(),
        KEY.computeCapability(), KEY.onnxSha256(), KEY.precision(), KEY.profile()).fileName());
    assertTrue(KEY.fileName().matches("tiny-vla-decode-fp16-sm89-[0-9a-f]{16}\\.plan"), KEY.fileName());
    assertTrue(KEY.text().contains("tensorrt=10.15.1.29\n") && KEY.text().contains("compute_capability=8.9\n"));
  }

  @Test
  void theKvLayoutSelectsAnotherDecodePlan() {
    GraphShapes.Dims dims = new GraphShapes.Dims(64, 64, 12, 8, 300, 2, 4, 16, 21);
    String packed = GraphShapes.describe(GraphShapes.decode(dims, 8, 28, KvLayout.PACKED));
    String perLayer = GraphShapes.describe(GraphShapes.decode(dims, 8, 28, KvLayout.PER_LAYER));
    assertNotEquals(key(packed).fileName(), key(perLayer).fileName());
    assertTrue(key(perLayer).text().contains("profile=token_ids min [1, 1] opt [1, 1] max [8, 1]; position_ids"
        + " min [1, 1] opt [1, 1] max [8, 1]; past_key_values.0.key min [1, 4, 21, 16]"), key(perLayer).text());
  }

  private static PlanCache.Key key(String profile) {
    return new PlanCache.Key(KEY.modelName(), KEY.graph(), KEY.tensorRtVersion(), KEY.deviceName(),
        KEY.computeCapability(), KEY.onnxSha256(), KEY.precision(), profile);
  }

  @Test
  void onnxDigestCoversExternalDataFiles(@TempDir Path dir) throws Exception {
    Path graph = Files.write(dir.resolve("decode.onnx"), new byte[] {1, 2, 3});
    Files.write(dir.resolve("prefill.onnx"), new byte[] {9});
    String alone = PlanCache.onnxDigest(graph);
    Files.write(dir.resolve("prefill.onnx.data"), new byte[] {7}); // another graph's data: irrelevant
    assertEquals(alone, PlanCache.onnxDigest(graph));
    Files.write(dir.resolve("decode.onnx.data"), new byte[] {4, 5});
    String withData = PlanCache.onnxDigest(graph);
    assertNotEquals(alone, withData);
    Files.write(dir.resolve("decode.onnx.data"), new byte[] {4, 6});
    assertNotEquals(withData, PlanCache.onnxDigest(graph));
  }

  @Test
  void plansRoundTripThroughNativeMemoryInChunks(@TempDir Path dir) throws Exception {
    byte[] bytes = new byte[10_007];
    new Random(3).nextBytes(bytes);
    Path file = dir.resolve("cache").resolve(KEY.fileName());
    try (BytePointer data = new BytePointer(bytes.length)) {
      data.put(bytes, 0, bytes.length);
      PlanCache.write(file, data, bytes.length, KEY.text(), 1000);
    }
    assertArrayEquals(bytes, Files.readAllBytes(file));
    assertEquals(KEY.text(), Files.readString(PlanCache.keyFile(file)));
    try (Stream leftovers = new Stream(dir.resolve("cache"))) {
      assertEquals(2, leftovers.count(), "only the plan and its key, no .partial file");
    }
    for (int chunk : new int[] {999, 4096, 1 << 20}) {
      try (BytePointer read = PlanCache.read(file, chunk)) {
        assertEquals(bytes.length, read.capacity());
        assertEquals(0, read.position(), "deserializeCudaEngine reads from the pointer's position");
        byte[] back = new byte[bytes.length];
        read.get(back, 0, back.length);
        assertArrayEquals(bytes, back, "chunk " + chunk);
      }
    }
    assertNull(PlanCache.read(dir.resolve("missing.plan")));
  }

  /** Files in a folder. */
  private record Stream(Path dir) implements AutoCloseable {
    long count() throws Exception {
      try (var files = Files.list(dir)) {
        return files.count();
      }
    }

    @Override
    public void close() {}
  }
}
