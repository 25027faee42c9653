package io.vlaserve.policy.engine;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ShippedModel;
import io.vlaserve.policy.model.ModelPackage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KvCacheNamesTest {
  private static final Set<String> DECODE_OTHERS = Set.of("token_ids", "position_ids", "attention_mask");

  @Test
  void namesFollowTheCacheLayoutLayerMajorKeyBeforeValue() {
    assertEquals(List.of("past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key",
        "past_key_values.1.value"), KvCacheNames.past(2));
    assertEquals(List.of("present.0.key", "present.0.value"), KvCacheNames.present(1));
  }

  @Test
  void exactNamesPass() {
    Set<String> inputs = new HashSet<>(KvCacheNames.past(4));
    inputs.addAll(DECODE_OTHERS);
    assertDoesNotThrow(() -> KvCacheNames.check("decode.onnx", "inputs", KvCacheNames.past(4), inputs, DECODE_OTHERS));
  }

  @Test
  void packedGraphGetsTheConversionHint() {
    Set<String> inputs = new HashSet<>(DECODE_OTHERS);
    inputs.add("past_kv");
    EngineException e = assertThrows(EngineException.class,
        () -> KvCacheNames.check("decode.onnx", "inputs", KvCacheNames.past(2), inputs, DECODE_OTHERS));
    assertTrue(e.getMessage().contains("missing [past_key_values.0.key"), e.getMessage());
    assertTrue(e.getMessage().contains("unexpected [past_kv]"), e.getMessage());
    assertTrue(e.getMessage().contains("kv_io.py"), e.getMessage());
  }

  @Test
  void aLayerMoreThanTheManifestSaysIsNamed() {
    Set<String> outputs = new HashSet<>(KvCacheNames.present(3));
    outputs.add("logits");
    EngineException e = assertThrows(EngineException.class,
        () -> KvCacheNames.check("prefill.onnx", "outputs", KvCacheNames.present(2), outputs, Set.of("logits")));
    assertTrue(e.getMessage().contains("unexpected [present.2.key, present.2.value]"), e.getMessage());
    assertTrue(e.getMessage().contains("expected 2 layers' present.0.key ... present.1.value"), e.getMessage());
  }

  @Test
  void engineRefusesAGraphWithoutTheCacheTensors(@TempDir Path directory) throws IOException {
    try (var files = Files.list(ShippedModel.DIRECTORY)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Files.copy(file, directory.resolve(file.getFileName()));
      }
    }
    // A prefill graph where the decode graph should be: no past_key_values inputs at all.
    Files.copy(directory.resolve("prefill.onnx"), directory.resolve("decode.onnx"), StandardCopyOption.REPLACE_EXISTING);
    ModelPackage model = ModelPackage.load(directory);
    EngineException e = assertThrows(EngineException.class, () -> new OnnxRuntimeEngine(model, 1).close());
    assertTrue(e.getMessage().startsWith("decode.onnx inputs do not match"), e.getMessage());
    assertTrue(e.getMessage().contains("missing [past_key_values.0.key"), e.getMessage());
  }
}
