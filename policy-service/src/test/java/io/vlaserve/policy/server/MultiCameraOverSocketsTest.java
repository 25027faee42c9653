package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.v1.CameraSpec;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.PolicyMetadata;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * A model that sees two cameras (the test fixture models/test-fixtures/two-camera: third_person
 * 64x64 and wrist 32x32, random weights), served by the real service on a real port: each frame is
 * found by its camera's name, and a missing, repeated or unknown camera is INVALID_ARGUMENT.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {"spring.grpc.server.port=0", "spring.grpc.server.address=127.0.0.1",
        "vla.policy.model=../models/test-fixtures/two-camera", "vla.policy.warmup-runs=1",
        "vla.policy.recording.directory=target/policy-recordings-two-camera",
        "vla.policy.recording.full-robots=two-camera-arm"})
class MultiCameraOverSocketsTest extends LocalService {
  @Autowired PolicyRecording recording;
  private static Image frame(String camera, int size, long seed) {
    byte[] pixels = new byte[size * size * 3];
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = (byte) random.nextInt(256);
    }
    return Image.newBuilder().setCamera(camera).setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8).setWidth(size)
        .setHeight(size).setData(ByteString.copyFrom(pixels)).build();
  }

  private static InferRequest request(List<Image> frames) {
    return InferRequest.newBuilder().setInstruction("grasp the red block")
        .setObservation(Observation.newBuilder().setSequence(1).addAllImages(frames)
            .setState(RobotState.newBuilder().setGripper(1).setEndEffector(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(0.5).setZ(0.2))
                .setOrientation(Quaternion.newBuilder().setW(1)))))
        .build();
  }

  private StatusRuntimeException refused(List<Image> frames) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request(frames)));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
    return e;
  }

  @Test
  void theMetadataListsEveryCameraWithItsSize() {
    PolicyMetadata metadata = policy.withDeadlineAfter(30, TimeUnit.SECONDS).getMetadata(GetMetadataRequest.getDefaultInstance());
    Map<String, String> cameras = new LinkedHashMap<>();
    for (CameraSpec camera : metadata.getCamerasList()) {
      cameras.put(camera.getName(), camera.getWidth() + "x" + camera.getHeight());
    }
    assertEquals(Map.of("third_person", "64x64", "wrist", "32x32"), cameras);
    assertEquals(List.of("third_person", "wrist"), List.copyOf(cameras.keySet()), "in the model's order");
  }

  @Test
  void framesAreMatchedByCameraNameInAnyOrder() {
    Image third = frame("third_person", 64, 1);
    Image wrist = frame("wrist", 32, 2);
    List<Integer> inOrder = policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request(List.of(third, wrist)))
        .getChunk().getTokensList();
    List<Integer> reversed = policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request(List.of(wrist, third)))
        .getChunk().getTokensList();
    assertEquals(inOrder, reversed);
    // The same answer as the model in-process, with the frames laid out third-person first.
    ModelPackage model = runtime.model();
    byte[] frames = new byte[model.imageBytes()];
    third.getData().copyTo(frames, 0);
    wrist.getData().copyTo(frames, 64 * 64 * 3);
    assertArrayEquals(inOrder.stream().mapToInt(Integer::intValue).toArray(), runtime.policy().infer(
        new io.vlaserve.policy.PolicyRequest(frames, "grasp the red block", new float[] {0.5f, 0, 0.2f, 0, 0, 0, 1, 1},
            model.chunkLength(), io.vlaserve.policy.decode.SamplingParams.GREEDY.forObservation(1))).tokens());
  }

  @Test
  void aMissingRepeatedOrUnknownCameraIsInvalidArgumentNamingTheCameras() {
    Image third = frame("third_person", 64, 3);
    Image wrist = frame("wrist", 32, 4);
    assertTrue(refused(List.of(third)).getStatus().getDescription().contains("no frame from camera \"wrist\" (expected"
        + " one frame from each of [third_person, wrist])"));
    assertTrue(refused(List.of(third, wrist, frame("wrist", 32, 5))).getStatus().getDescription()
        .contains("two frames from camera \"wrist\""));
    assertTrue(refused(List.of(third, wrist, frame("overhead", 32, 6))).getStatus().getDescription()
        .contains("a frame from camera \"overhead\", which the model does not see"));
    // The lenient single-frame rule is for one-camera models only.
    assertTrue(refused(List.of(frame("", 64, 7))).getStatus().getDescription().contains("camera \"\""));
  }

  @Test
  void aWristFrameOfTheThirdPersonSizeIsRefusedOrResizedForThatCamera() {
    Image third = frame("third_person", 64, 8);
    Image bigWrist = frame("wrist", 64, 9);
    if (runtime.images(1).resizeAllowed()) {
      assertEquals(4 * 7, policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request(List.of(third, bigWrist)))
          .getChunk().getTokensCount());
    } else {
      assertTrue(refused(List.of(third, bigWrist)).getStatus().getDescription().contains("camera wrist: "));
    }
  }

  @Test
  void aRecordedInferenceHoldsEveryCamerasInputAndRunsAgainToTheSameTokens() throws Exception {
    InferRequest sent = request(List.of(frame("wrist", 32, 10), frame("third_person", 64, 11))).toBuilder()
        .setRobot(io.vlaserve.common.v1.RobotIdentity.newBuilder().setRobotId("two-camera-arm")).build();
    List<Integer> answered = policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(sent).getChunk().getTokensList();
    recording.recorder().recordFully("two-camera-arm", false).get(60, TimeUnit.SECONDS);
    java.nio.file.Path written = recording.recorder().files().stream()
        .filter(f -> f.getFileName().toString().startsWith("policy-service-two-camera-arm-")).findFirst().orElseThrow();
    io.vlaserve.recorder.mcap.McapReader read = io.vlaserve.recorder.mcap.McapReader.read(written);
    List<String> cameraTopics = new java.util.ArrayList<>();
    io.vlaserve.recorder.v1.PolicyInference inference = null;
    for (var message : read.messages()) {
      String topic = read.channels().get(message.channelId()).topic();
      if (topic.equals("/policy/inferences")) {
        inference = io.vlaserve.recorder.v1.PolicyInference.parseFrom(message.data());
      } else {
        cameraTopics.add(topic);
      }
    }
    assertEquals(List.of("/camera/third_person", "/camera/wrist"), cameraTopics.stream().sorted().toList());
    assertEquals(List.of("third_person", "wrist"), inference.getCamerasList().stream()
        .map(io.vlaserve.recorder.v1.CameraInput::getCamera).toList());
    assertEquals(32, inference.getCameras(1).getWidth());
    assertEquals(frame("wrist", 32, 10).getData(), inference.getCameras(1).getRgb8());
    assertTrue(inference.getImageRgb8().isEmpty(), "several cameras: the inputs are in cameras");
    assertEquals(answered, inference.getChunk().getTokensList());
  }
}
