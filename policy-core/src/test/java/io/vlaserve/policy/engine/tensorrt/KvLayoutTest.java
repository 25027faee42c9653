package io.vlaserve.policy.engine.tensorrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.engine.EngineException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * The two KV cache layouts: which one a graph's names show (and the errors when they show neither,
 * both, or the wrong layers), the tensor names in buffer order, and the per-layer tensors as slices
 * of the packed cache (on host memory: JavaCPP's own native library only, no CUDA needed).
 */
class KvLayoutTest {
  // N = 2 layers, 4 heads of 16, T0 = 21
  private static final GraphShapes.Dims DIMS = new GraphShapes.Dims(64, 64, 12, 8, 300, 2, 4, 16, 21);
  private static final List<String> DECODE_INPUTS = List.of("token_ids", "position_ids", "attention_mask");

  @Test
  void namesAreInBufferOrderLayerThenKeyAndValue() {
    assertEquals(List.of("past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key",
        "past_key_values.1.value"), KvLayout.PER_LAYER.pastNames(2));
    assertEquals(List.of("present.0.key", "present.0.value", "present.1.key", "present.1.value"),
        KvLayout.PER_LAYER.presentNames(2));
    assertEquals(List.of("past_kv"), KvLayout.PACKED.pastNames(2));
    assertEquals(List.of("present_kv"), KvLayout.PACKED.presentNames(2));
    assertEquals(4, KvLayout.PER_LAYER.tensors(2));
    assertEquals(1, KvLayout.PACKED.tensors(2));
    assertEquals("per-layer", KvLayout.PER_LAYER.toString());
  }

  @Test
  void perLayerTensorsAreConsecutiveSlicesOfThePackedBuffer() {
    // 3 sequences of 25 positions: each layer's key (or value) is 3 * 4 * 25 * 16 floats
    long slice = 3L * 4 * 25 * 16;
    assertEquals(slice, KvLayout.PER_LAYER.tensorElements(DIMS, 3, 25));
    assertArrayEquals(new long[] {3, 4, 25, 16}, KvLayout.PER_LAYER.tensorShape(DIMS, 3, 25));
    for (int layer = 0; layer < 2; layer++) {
      for (int kv = 0; kv < 2; kv++) {
        assertEquals(4 * (layer * 2 + kv) * slice, KvLayout.PER_LAYER.byteOffset(DIMS, layer * 2 + kv, 3, 25));
      }
    }
    assertEquals(4 * DIMS.kvElements(3, 25), KvLayout.PER_LAYER.byteOffset(DIMS, 4, 3, 25), "the last slice ends the buffer");
    assertEquals(DIMS.kvElements(3, 25), KvLayout.PACKED.tensorElements(DIMS, 3, 25));
    assertArrayEquals(new long[] {2, 2, 3, 4, 25, 16}, KvLayout.PACKED.tensorShape(DIMS, 3, 25));
    assertEquals(0, KvLayout.PACKED.byteOffset(DIMS, 0, 3, 25));
  }

  @Test
  void slicesBoundThroughMovableAddressesReadThePackedCachesSubBlocks() {
    int b = 2;
    int t = 3;
    int heads = DIMS.heads();
    int headDim = DIMS.headDim();
    long elements = DIMS.kvElements(b, t);
    try (FloatPointer packed = new FloatPointer(elements)) {
      for (long i = 0; i < elements; i++) {
        packed.put(i, i);
      }
      TensorRtEngine.SliceAddress address = new TensorRtEngine.SliceAddress(); // reused, as the engine does
      for (int layer = 0; layer < DIMS.layers(); layer++) {
        for (int kv = 0; kv < 2; kv++) {
          int index = layer * 2 + kv;
          address.at(packed, KvLayout.PER_LAYER.byteOffset(DIMS, index, b, t));
          assertEquals(packed.address() + 4L * index * b * heads * t * headDim, address.address());
          FloatPointer tensor = new FloatPointer(address);
          // element [s, h, p, d] of the per-layer tensor is packed[layer, kv, s, h, p, d]
          for (int s = 0; s < b; s++) {
            for (int h = 0; h < heads; h++) {
              for (int p = 0; p < t; p++) {
                for (int d = 0; d < headDim; d++) {
                  long inTensor = ((long) (s * heads + h) * t + p) * headDim + d;
                  long inPacked = ((((long) layer * 2 + kv) * b + s) * heads * t + h * t + p) * headDim + d;
                  assertEquals(inPacked, (long) tensor.get(inTensor), "layer " + layer + " kv " + kv);
                }
              }
            }
          }
        }
      }
    }
  }

  @Test
  void detectsPackedGraphs() {
    assertEquals(KvLayout.PACKED, KvLayout.detect("decode", decodeNames(KvLayout.PACKED, 2), 2));
    assertEquals(KvLayout.PACKED, KvLayout.detect("prefill", List.of("image", "logits", "present_kv"), 2));
  }

  @Test
  void detectsPerLayerGraphsInAnyOrder() {
    List<String> names = new ArrayList<>(decodeNames(KvLayout.PER_LAYER, 2));
    Collections.shuffle(names, new Random(5));
    assertEquals(KvLayout.PER_LAYER, KvLayout.detect("decode", names, 2));
    List<String> prefill = new ArrayList<>(List.of("image", "instruction_ids", "proprio", "logits"));
    prefill.addAll(KvLayout.PER_LAYER.presentNames(2));
    assertEquals(KvLayout.PER_LAYER, KvLayout.detect("prefill", prefill, 2));
  }

  @Test
  void aMixOfLayoutsIsRefused() {
    List<String> names = new ArrayList<>(DECODE_INPUTS);
    names.add("past_kv");
    names.addAll(KvLayout.PER_LAYER.presentNames(2));
    String message = assertThrows(EngineException.class, () -> KvLayout.detect("decode", names, 2)).getMessage();
    assertTrue(message.startsWith("decode.onnx mixes the packed KV cache tensors [past_kv] with per-layer ones"
        + " present.0.key"), message);
  }

  @Test
  void aGraphWithoutCacheTensorsSaysWhatWasExpectedAndFound() {
    String message = assertThrows(EngineException.class,
        () -> KvLayout.detect("decode", List.of("token_ids", "logits", "kv"), 2)).getMessage();
    assertTrue(message.contains("no KV cache tensors") && message.contains("past_kv and present_kv")
        && message.contains("past_key_values.{l}.key|value and present.{l}.key|value for l = 0..1")
        && message.contains("found [kv, logits, token_ids]"), message);
    String prefill = assertThrows(EngineException.class,
        () -> KvLayout.detect("prefill", List.of("image", "logits"), 2)).getMessage();
    assertTrue(prefill.contains("expected: present_kv, or present.{l}.key|value"), prefill);
    assertFalse(prefill.contains("past"), prefill);
  }

  @Test
  void aMissingLayerOrKeyIsNamed() {
    List<String> names = new ArrayList<>(decodeNames(KvLayout.PER_LAYER, 2));
    names.remove("past_key_values.1.value");
    String message = assertThrows(EngineException.class, () -> KvLayout.detect("decode", names, 2)).getMessage();
    assertTrue(message.contains("do not match the 2 layers of model.json") && message.contains("l = 0..1")
        && message.endsWith(": lacks past_key_values.1.value (see docs/model-package.md)"), message);
  }

  @Test
  void layersModelJsonDoesNotHaveAreNamed() {
    String message = assertThrows(EngineException.class,
        () -> KvLayout.detect("decode", decodeNames(KvLayout.PER_LAYER, 3), 2)).getMessage();
    assertTrue(message.contains(": unexpected past_key_values.2.key, past_key_values.2.value, present.2.key,"
        + " present.2.value (see"), message);
    String prefillWithPast = assertThrows(EngineException.class,
        () -> KvLayout.detect("prefill", decodeNames(KvLayout.PER_LAYER, 2), 2)).getMessage();
    assertTrue(prefillWithPast.contains("unexpected past_key_values.0.key"), prefillWithPast);
  }

  @Test
  void longListsAreInLayerOrderAndShortened() {
    List<String> names = new ArrayList<>(decodeNames(KvLayout.PER_LAYER, 32));
    names.removeIf(name -> name.startsWith("present.") && Integer.parseInt(name.split("\\.")[1]) >= 9);
    String message = assertThrows(EngineException.class, () -> KvLayout.detect("decode", names, 32)).getMessage();
    assertTrue(message.contains("lacks present.9.key, present.9.value, present.10.key, present.10.value,"
        + " present.11.key, present.11.value and 40 more"), message);
  }

  private static List<String> decodeNames(KvLayout layout, int layers) {
    List<String> names = new ArrayList<>(DECODE_INPUTS);
    names.addAll(layout.pastNames(layers));
    names.add("logits");
    names.addAll(layout.presentNames(layers));
    return names;
  }
}
