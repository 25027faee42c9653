package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.common.v1.Observation;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Proprioception read from the robot state, as the model's manifest names it. */
class PolicyMessagesTest {
  private static final Path SHIPPED = Path.of("..", "models", "tiny-vla");

  @Test
  void aModelThatReadsNoProprioceptionNeedsNoRobotState(@TempDir Path directory) throws Exception {
    LocalService.copyShipped(directory);
    Path manifest = directory.resolve("model.json");
    String text = Files.readString(manifest);
    int start = text.indexOf("\"proprio_names\"");
    int end = text.indexOf(']', start) + 1;
    Files.writeString(manifest, text.substring(0, start) + "\"proprio_names\": []" + text.substring(end));
    ModelPackage withoutProprio = ModelPackage.load(directory);
    assertEquals(0, PolicyMessages.proprio(withoutProprio, Observation.newBuilder().setSequence(3).build()).length);

    IllegalArgumentException needed = assertThrows(IllegalArgumentException.class,
        () -> PolicyMessages.proprio(ModelPackage.load(SHIPPED), Observation.newBuilder().setSequence(3).build()));
    assertTrue(needed.getMessage().startsWith("observation 3: no robot state"), needed.getMessage());
  }
}
