package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.v1.InferRequest;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * The OpenVLA-conventions package (models/test-fixtures/openvla-conventions: tokenizer.json and
 * OpenVLA's prompt, last-256 action tokens, logits padded to 640, two cameras) served by the real
 * service on a real port: robots send words and frames, the service builds the prompt.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {"spring.grpc.server.port=0", "spring.grpc.server.address=127.0.0.1",
        "vla.policy.model=../models/test-fixtures/openvla-conventions", "vla.policy.warmup-runs=1"})
class OpenVlaConventionsOverSocketsTest extends LocalService {
  private static Image frame(String camera, int size, int value) {
    byte[] pixels = new byte[size * size * 3];
    Arrays.fill(pixels, (byte) value);
    return Image.newBuilder().setCamera(camera).setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8).setWidth(size)
        .setHeight(size).setData(ByteString.copyFrom(pixels)).build();
  }

  @Test
  void anInstructionInWordsBecomesOpenVlasPromptAndTheChunkIsTheInProcessOne() {
    Image third = frame("third_person", 64, 90);
    Image wrist = frame("wrist", 32, 200);
    InferRequest request = InferRequest.newBuilder().setInstruction("Grasp the red block")
        .setObservation(Observation.newBuilder().setSequence(1).addImages(wrist).addImages(third)
            .setState(RobotState.newBuilder().setGripper(1).setEndEffector(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(0.5).setZ(0.2))
                .setOrientation(Quaternion.newBuilder().setW(1)))))
        .build();
    ActionChunk chunk = policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request).getChunk();
    assertEquals(4 * 7, chunk.getTokensCount());
    chunk.getTokensList().forEach(token -> assertTrue(token >= 364 && token <= 619, "token " + token));
    byte[] frames = new byte[runtime.model().imageBytes()];
    third.getData().copyTo(frames, 0);
    wrist.getData().copyTo(frames, 64 * 64 * 3);
    int[] inProcess = runtime.policy().infer(new PolicyRequest(frames, "Grasp the red block",
        new float[] {0.5f, 0, 0.2f, 0, 0, 0, 1, 1}, 4, SamplingParams.GREEDY.forObservation(1))).tokens();
    assertArrayEquals(inProcess, chunk.getTokensList().stream().mapToInt(Integer::intValue).toArray());
  }
}
