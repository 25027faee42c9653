package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.CommittedPrefix;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.policy.v1.InferRequest;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;

/** The parallel-decoding tiny VLA (models/tiny-vla-parallel) served by the real service on a real port. */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {"spring.grpc.server.port=0", "spring.grpc.server.address=127.0.0.1",
        "vla.policy.model=../models/tiny-vla-parallel", "vla.policy.warmup-runs=1"})
class ParallelDecodingOverSocketsTest extends LocalService {
  private static InferRequest.Builder request() {
    byte[] pixels = new byte[64 * 64 * 3];
    SplittableRandom random = new SplittableRandom(9);
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = (byte) (100 + random.nextInt(50));
    }
    return InferRequest.newBuilder().setInstruction("move to the blue block")
        .setObservation(Observation.newBuilder().setSequence(1)
            .addImages(Image.newBuilder().setCamera("third_person").setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8)
                .setWidth(64).setHeight(64).setData(ByteString.copyFrom(pixels)))
            .setState(RobotState.newBuilder().setGripper(1).setEndEffector(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(0.5).setZ(0.2))
                .setOrientation(Quaternion.newBuilder().setW(1)))));
  }

  @Test
  void aChunkComesFromOnePassWithTheSameTokensAsInProcess() {
    ActionChunk chunk = policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request().build()).getChunk();
    assertEquals(4, chunk.getStepsCount());
    assertEquals(28, chunk.getTokensCount());
    var again = policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request().build()).getChunk();
    assertEquals(chunk.getTokensList(), again.getTokensList(), "greedy: the same chunk every time");
  }

  @Test
  void theMetadataSaysSoGatewaysBlendInsteadOfSendingPrefixes() {
    assertEquals(io.vlaserve.policy.v1.Decoding.DECODING_PARALLEL, policy.withDeadlineAfter(30, TimeUnit.SECONDS)
        .getMetadata(io.vlaserve.policy.v1.GetMetadataRequest.getDefaultInstance()).getDecoding());
  }

  @Test
  void aCommittedPrefixIsInvalidArgumentSayingWhy() {
    ActionChunk chunk = policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request().build()).getChunk();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request()
            .setCommittedPrefix(CommittedPrefix.newBuilder().addSteps(chunk.getSteps(0))).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("cannot continue a prefix"), e.getStatus().getDescription());
  }
}
