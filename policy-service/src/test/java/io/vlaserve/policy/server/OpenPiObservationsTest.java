package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reading a model's cameras out of openpi observation dicts (LIBERO's keys by default). */
class OpenPiObservationsTest {
  private static final ModelPackage TWO_CAMERAS = ModelPackage.load(Path.of("..", "models", "test-fixtures",
      "two-camera"));

  private static MsgpackNumpy.NdArray image(int size, int value) {
    byte[] pixels = new byte[size * size * 3];
    java.util.Arrays.fill(pixels, (byte) value);
    return new MsgpackNumpy.NdArray("|u1", new int[] {size, size, 3}, pixels);
  }

  private static Map<String, Object> observation(Map<String, Object> images) {
    Map<String, Object> observation = new HashMap<>(images);
    observation.put("observation/state", List.of(0.5, 0.0, 0.2, 0, 0, 0, 1, 1));
    observation.put("prompt", "grasp the red block");
    return observation;
  }

  @Test
  void theSecondCameraIsReadFromLiberosWristKeyByDefaultInTheModelsOrder() {
    OpenPiObservations keys = new OpenPiObservations("observation/image", "observation/state", "prompt");
    OpenPiObservations.Inputs inputs = keys.read(observation(Map.of("observation/wrist_image", image(32, 2),
        "observation/image", image(64, 1))), TWO_CAMERAS);
    assertEquals(2, inputs.frames().size());
    assertEquals(64, inputs.frames().get(0).width());
    assertEquals(1, inputs.frames().get(0).data()[0]);
    assertEquals(32, inputs.frames().get(1).width());
    assertEquals(2, inputs.frames().get(1).data()[0]);
  }

  @Test
  void configuredCameraKeysAreFollowedAndAMissingCameraNamesItsSetting() {
    OpenPiObservations keys = new OpenPiObservations("observation/image", Map.of("wrist", "images/cam_wrist"),
        "observation/state", "prompt");
    Map<String, Object> images = new HashMap<>();
    images.put("observation/image", image(64, 1));
    images.put("images", Map.of("cam_wrist", image(32, 5)));
    assertArrayEquals(image(32, 5).data(), keys.read(observation(images), TWO_CAMERAS).frames().get(1).data());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> keys.read(observation(Map.of("observation/image", image(64, 1))), TWO_CAMERAS));
    assertTrue(missing.getMessage().contains("images/cam_wrist: missing") && missing.getMessage().contains(
        "camera wrist's image") && missing.getMessage().contains("vla.policy.openpi.camera-keys.wrist"),
        missing.getMessage());
  }
}
