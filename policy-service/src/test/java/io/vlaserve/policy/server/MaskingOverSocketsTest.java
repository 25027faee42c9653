package io.vlaserve.policy.server;

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
import io.vlaserve.policy.engine.ForwardingVlaEngine;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.v1.InferRequest;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * The constrained-decoding guarantee end to end: the real service on a real port, its engine's
 * logits tampered with between the engine and the decoder.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {"spring.grpc.server.port=0", "spring.grpc.server.address=127.0.0.1",
        "vla.policy.model=../models/tiny-vla", "vla.policy.warmup-runs=1"})
class MaskingOverSocketsTest extends LocalService {
  enum Tamper { NONE, TEXT_TOKEN_WINS, ACTIONS_MASKED }

  static final AtomicReference<Tamper> TAMPER = new AtomicReference<>(Tamper.NONE);

  @TestConfiguration
  static class Tampering {
    @Bean
    VlaEngineDecorator tamperingDecorator() {
      return engine -> new ForwardingVlaEngine(engine) {
        @Override
        public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
          KvCache cache = super.prefill(batch, logits, maxNewTokens);
          tamper(logits);
          return cache;
        }

        @Override
        public void decode(KvCache cache, long[] tokenIds, long[] positionIds, float[] attentionMask, float[] logits) {
          super.decode(cache, tokenIds, positionIds, attentionMask, logits);
          tamper(logits);
        }
      };
    }

    private static void tamper(float[] logits) {
      int vocab = 320;
      for (int row = 0; row < logits.length / vocab; row++) {
        switch (TAMPER.get()) {
          case TEXT_TOKEN_WINS -> logits[row * vocab + 7] = 1e4f; // "grasp": far above every action token
          case ACTIONS_MASKED -> Arrays.fill(logits, row * vocab + 64, row * vocab + vocab, Float.NEGATIVE_INFINITY);
          case NONE -> { }
        }
      }
    }
  }

  @org.junit.jupiter.api.AfterAll
  void untamper() {
    TAMPER.set(Tamper.NONE);
  }

  private InferRequest request() {
    byte[] frame = new byte[64 * 64 * 3];
    Arrays.fill(frame, (byte) 120);
    return InferRequest.newBuilder().setInstruction("move to the red block")
        .setObservation(Observation.newBuilder().setSequence(1)
            .addImages(Image.newBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8).setWidth(64).setHeight(64)
                .setData(ByteString.copyFrom(frame)))
            .setState(RobotState.newBuilder().setGripper(1).setEndEffector(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(0.5).setZ(0.2))
                .setOrientation(Quaternion.newBuilder().setW(1)))))
        .build();
  }

  @Test
  void aTextTokenThatWinsUnmaskedStillYieldsTheSameValidActionTokens() {
    TAMPER.set(Tamper.NONE);
    List<Integer> clean = policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request()).getChunk().getTokensList();
    TAMPER.set(Tamper.TEXT_TOKEN_WINS);
    List<Integer> tampered = policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request()).getChunk().getTokensList();
    assertEquals(clean, tampered, "logits outside the action slice never influence the choice");
    tampered.forEach(token -> assertTrue(token >= 64 && token <= 319, "action token " + token));
  }

  @Test
  void anAllMaskedSliceIsFailedPreconditionNotAnInventedAction() {
    TAMPER.set(Tamper.ACTIONS_MASKED);
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> policy.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request()));
      assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription().contains("no valid action token"), e.getStatus().getDescription());
    } finally {
      TAMPER.set(Tamper.NONE);
    }
  }
}
