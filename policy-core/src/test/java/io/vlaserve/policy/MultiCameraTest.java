package io.vlaserve.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ModelCheck.Finding;
import io.vlaserve.policy.batching.BatchingListener;
import io.vlaserve.policy.batching.ContinuousBatchScheduler;
import io.vlaserve.policy.batching.SchedulerConfig;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.InvalidModelPackageException;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.model.PackageCopies;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Models that see several cameras (format /3 {@code images}), through real ONNX graphs: the
 * two-camera fixture (models/test-fixtures/two-camera: random weights, a third-person 64x64 and a
 * wrist 32x32 camera, parity from PyTorch).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultiCameraTest {
  static final Path FIXTURE = Path.of("..", "models", "test-fixtures", "two-camera").toAbsolutePath().normalize();

  private final LoadedModel loaded = LoadedModel.load(FIXTURE);
  private final ModelPackage model = loaded.model();
  private final VlaPolicy policy = loaded.policy();

  @AfterAll
  void close() {
    loaded.close();
  }

  /** Both cameras' frames back to back, third-person first, each filled with its own noise. */
  private PolicyRequest request(long seed, SamplingParams sampling) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] frames = new byte[model.imageBytes()];
    for (int i = 0; i < frames.length; i++) {
      frames[i] = (byte) random.nextInt(256);
    }
    float[] proprio = {0.5f, 0.0f, 0.2f, 0, 0, 0, 1, (float) (seed % 2)};
    return new PolicyRequest(frames, model.skills().get((int) (seed % model.skills().size())), proprio,
        model.chunkLength(), sampling);
  }

  @Test
  void theManifestNamesEachCameraWithItsSizeInGraphOrder() {
    assertEquals(List.of(new ModelPackage.CameraInput("third_person", 64, 64), new ModelPackage.CameraInput("wrist", 32,
        32)), model.cameras());
    assertEquals(64 * 64 * 3 + 32 * 32 * 3, model.imageBytes());
    assertEquals("image.wrist", model.imageInput(model.cameras().get(1)));
    UnsupportedOperationException single = assertThrows(UnsupportedOperationException.class, model::imageWidth);
    assertTrue(single.getMessage().contains("sees 2 cameras [third_person, wrist]"), single.getMessage());
  }

  @Test
  void everyCheckPassesParityIncludedSoEachCameraReachesItsGraphInput() {
    List<Finding> findings = ModelCheck.run(FIXTURE);
    for (Finding finding : findings) {
      assertEquals(ModelCheck.Status.OK, finding.status(), finding.toString());
    }
  }

  @Test
  void aBatchDecodesEachRequestAsAloneAndEachCameraMatters() {
    List<PolicyRequest> requests = List.of(request(1, SamplingParams.GREEDY), request(2, SamplingParams.GREEDY),
        request(3, new SamplingParams(0.9, 0, 0.9, 3)));
    List<PolicyResult> batched = policy.infer(requests);
    for (int r = 0; r < requests.size(); r++) {
      assertArrayEquals(policy.infer(requests.get(r)).tokens(), batched.get(r).tokens(), "request " + r);
    }
    // Another wrist frame, the same third-person frame: the chunk's logits move.
    PolicyRequest base = requests.get(0);
    byte[] otherWrist = base.image().clone();
    Arrays.fill(otherWrist, 64 * 64 * 3, otherWrist.length, (byte) 255);
    PolicyResult wristChanged = policy.infer(new PolicyRequest(otherWrist, base.instruction(), base.proprio(),
        base.chunkLength(), base.sampling()));
    assertFalse(Arrays.equals(policy.infer(base).logProbabilities(), wristChanged.logProbabilities()),
        "the wrist camera reaches the model");
  }

  @Test
  void theContinuousBatchingSchedulerGivesTheChunksTheyGetAlone() throws Exception {
    List<PolicyRequest> requests = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      requests.add(request(10 + i, i % 2 == 0 ? SamplingParams.GREEDY : new SamplingParams(0.8, 0, 0.95, i)));
    }
    try (var scheduler = new ContinuousBatchScheduler(policy,
        new SchedulerConfig(8, 8, Duration.ZERO, 64, 64, Duration.ofMillis(25)), System::nanoTime,
        BatchingListener.NONE)) {
      List<CompletableFuture<io.vlaserve.policy.batching.ScheduledResult>> futures = new ArrayList<>();
      for (int i = 0; i < requests.size(); i++) {
        futures.add(scheduler.submit("robot-" + i, null, requests.get(i), Long.MAX_VALUE));
      }
      for (int i = 0; i < requests.size(); i++) {
        assertArrayEquals(policy.infer(requests.get(i)).tokens(), futures.get(i).get(60, TimeUnit.SECONDS).result()
            .tokens(), "request " + i);
      }
    }
  }

  @Test
  void framesOfTheWrongTotalSizeAreRefusedNamingEachCamera() {
    PolicyRequest good = request(4, SamplingParams.GREEDY);
    PolicyRequest thirdPersonOnly = new PolicyRequest(Arrays.copyOf(good.image(), 64 * 64 * 3), good.instruction(),
        good.proprio(), good.chunkLength(), good.sampling());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> policy.check(thirdPersonOnly));
    assertTrue(e.getMessage().contains("image of 12288 bytes (expected: third_person 64x64 RGB + wrist 32x32 RGB = 15360"
        + " bytes)"), e.getMessage());
  }

  @Test
  void graphsWithoutTheCamerasInputsAreRefusedNamingThem(@TempDir Path directory) {
    // The shipped single-camera graphs under a manifest that says two cameras.
    ModelPackage twoCameraManifest = ModelPackage.load(PackageCopies.copy(directory, root -> {
      ArrayNode images = cameras(root);
      images.addObject().put("camera", "third_person").put("width", 64).put("height", 64);
      images.addObject().put("camera", "wrist").put("width", 32).put("height", 32);
    }));
    EngineException e = assertThrows(EngineException.class, () -> new OnnxRuntimeEngine(twoCameraManifest, 1));
    assertTrue(e.getMessage().contains("missing [image.third_person, image.wrist] unexpected [image]"), e.getMessage());
  }

  @Test
  void eachCameraDeclaresItsResizeModeAndCentreCrop(@TempDir Path directory) {
    ModelPackage declared = ModelPackage.load(PackageCopies.copy(directory, root -> {
      ArrayNode images = cameras(root);
      images.addObject().put("camera", "third_person").put("width", 64).put("height", 64).put("center_crop", 0.9);
      images.addObject().put("camera", "wrist").put("width", 32).put("height", 32).put("resize", "none");
    }));
    assertEquals(new ModelPackage.CameraInput("third_person", 64, 64, true, 0.9), declared.cameras().get(0));
    assertEquals(new ModelPackage.CameraInput("wrist", 32, 32, false, 1), declared.cameras().get(1));
    InvalidModelPackageException badMode = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.edit(directory,
            root -> ((ObjectNode) root.path("images").get(1)).put("resize", "lanczos"))));
    assertTrue(badMode.getMessage().contains("resize \"lanczos\" (expected: \"bilinear\""), badMode.getMessage());
    InvalidModelPackageException badCrop = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.edit(directory, root -> {
          ((ObjectNode) root.path("images").get(1)).put("resize", "none");
          ((ObjectNode) root.path("images").get(0)).put("center_crop", 1.5);
        })));
    assertTrue(badCrop.getMessage().contains("center_crop 1.5"), badCrop.getMessage());
  }

  @Test
  void aCameraTwiceOrImagesInFormatTwoAreRefused(@TempDir Path directory) {
    InvalidModelPackageException twice = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.copy(directory, root -> {
          ArrayNode images = cameras(root);
          images.addObject().put("camera", "wrist").put("width", 64).put("height", 64);
          images.addObject().put("camera", "wrist").put("width", 32).put("height", 32);
        })));
    assertTrue(twice.getMessage().contains("camera \"wrist\" twice"), twice.getMessage());
    InvalidModelPackageException formatTwo = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.copy(directory, root -> {
          ObjectNode only = JsonMapper.builder().build().createObjectNode().put("camera", "wrist").put("width", 64)
              .put("height", 64);
          root.remove("image");
          root.putArray("images").add(only);
        })));
    assertTrue(formatTwo.getMessage().contains("images needs format \"vla-serve-model/3\""), formatTwo.getMessage());
  }

  /** Makes the manifest a /3 one whose cameras are listed in the returned (empty) images array. */
  private static ArrayNode cameras(ObjectNode root) {
    root.put("format", ModelPackage.FORMAT);
    root.remove("image");
    return root.putArray("images");
  }
}
