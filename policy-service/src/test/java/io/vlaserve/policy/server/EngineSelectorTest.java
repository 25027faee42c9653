package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.VlaEngine;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The service refuses, at start, a package whose graphs disagree with its manifest. */
class EngineSelectorTest {
  private static final Path SHIPPED = Path.of("..", "models", "tiny-vla");

  @Test
  void theShippedPackageStarts() {
    try (VlaEngine engine = EngineSelector.select("onnxruntime", ModelPackage.load(SHIPPED), 1, false, -1)) {
      assertEquals("onnxruntime-cpu", engine.name());
    }
  }

  @Test
  void aVocabularySizeThatIsNotTheLogitsWidthIsRefusedAtStartNamingIt(@TempDir Path directory) throws Exception {
    LocalService.copyShipped(directory);
    Path manifest = directory.resolve("model.json");
    Files.writeString(manifest, Files.readString(manifest).replace("\n \"vocab_size\": 320", "\n \"vocab_size\": 384"));
    ModelPackage padded = ModelPackage.load(directory);
    for (String choice : new String[] {"onnxruntime", "auto"}) {
      EngineException e = assertThrows(EngineException.class, () -> EngineSelector.select(choice, padded, 1, false, -1));
      assertTrue(e.getMessage().contains("disagrees with its graphs") && e.getMessage().contains("logits")
          && e.getMessage().contains("vla model check"), e.getMessage());
    }
  }
}
