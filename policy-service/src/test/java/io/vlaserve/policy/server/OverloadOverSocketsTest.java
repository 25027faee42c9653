package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.rpc.RetryInfo;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.service.GrpcServerPort;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Overload end to end: the real service on real ports with a queue of one, its engine held busy by
 * a gate (no timing involved), refuses with RESOURCE_EXHAUSTED and a retry hint over gRPC, and with
 * 429 and Retry-After over {@code POST /act}; a decode waiting for the pixel budget holds up nothing
 * else on its connection (gRPC calls run on the transport's event loop; decoding does not).
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"spring.grpc.server.port=0", "spring.grpc.server.address=127.0.0.1",
        "vla.policy.model=../models/tiny-vla", "vla.policy.warmup-runs=1",
        "vla.policy.batching.max-batch-size=1", "vla.policy.batching.max-queued=1",
        "vla.policy.batching.min-retry-after=40ms", "vla.policy.decode-wait=60s"})
@org.springframework.context.annotation.Import(PrefillGate.Config.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OverloadOverSocketsTest {
  private static final PrefillGate GATE = PrefillGate.INSTANCE;

  @Autowired GrpcServerPort grpcPort;
  @Autowired PolicyRuntime runtime;
  @LocalServerPort int httpPort;
  private ManagedChannel channel;

  @BeforeAll
  void connect() throws InterruptedException {
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort.await(60), InsecureChannelCredentials.create()).build();
    for (int i = 0; i < 600 && !runtime.ready(); i++) {
      Thread.sleep(100);
    }
    assertTrue(runtime.ready(), "warmed up");
  }

  @AfterAll
  void disconnect() throws InterruptedException {
    GATE.open();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private InferRequest request(String robot) {
    byte[] frame = new byte[64 * 64 * 3];
    Arrays.fill(frame, (byte) 120);
    return InferRequest.newBuilder().setInstruction("move to the red block")
        .setRobot(RobotIdentity.newBuilder().setRobotId(robot))
        .setObservation(Observation.newBuilder().setSequence(1)
            .addImages(Image.newBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8).setWidth(64).setHeight(64)
                .setData(ByteString.copyFrom(frame)))
            .setState(RobotState.newBuilder().setGripper(1).setEndEffector(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(0.5).setZ(0.2))
                .setOrientation(Quaternion.newBuilder().setW(1)))))
        .build();
  }

  @Test
  void aDecodeWaitingForThePixelBudgetHoldsUpNothingElseOnItsConnection() throws Exception {
    var budget = runtime.images().budget();
    BufferedImage image = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    ImageIO.write(image, "png", png);
    InferRequest pngRequest = request("robot-png").toBuilder().setObservation(request("robot-png").getObservation()
        .toBuilder().setImages(0, Image.newBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_PNG)
            .setData(ByteString.copyFrom(png.toByteArray())))).build();
    var held = budget.acquire(budget.maxPixels(), "decodes in progress"); // the PNG's decode waits (up to 60 s)
    var decoded = PolicyServiceGrpc.newFutureStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS).infer(pngRequest);
    try {
      for (int i = 0; i < 3000 && budget.waiting() < 1; i++) {
        Thread.sleep(10);
      }
      assertEquals(1, budget.waiting(), "the PNG waits for the budget");
      // The same channel, so the same connection and event loop as the waiting decode.
      InferResponse raw = PolicyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
          .infer(request("robot-raw"));
      assertEquals(28, raw.getChunk().getTokensCount());
      assertFalse(decoded.isDone(), "the PNG still waits for the budget");
    } finally {
      held.close();
    }
    assertEquals(28, decoded.get(60, TimeUnit.SECONDS).getChunk().getTokensCount(), "then it decodes");
    assertEquals(0, budget.inFlight());
  }

  @Test
  void aFullQueueIsRefusedWithRetryHintsOverGrpcAndHttp() throws Exception {
    GATE.close();
    var async = PolicyServiceGrpc.newFutureStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    var computing = async.infer(request("robot-a"));
    assertTrue(GATE.awaitEntered(30), "the first request reached the engine");
    var queued = async.infer(request("robot-b"));
    for (int i = 0; i < 600 && runtime.scheduler().waiting() < 1; i++) {
      Thread.sleep(10); // the second call is in flight to the server; wait until it is queued
    }
    assertEquals(1, runtime.scheduler().waiting());

    StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
        () -> PolicyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).infer(request("robot-c")));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());
    assertTrue(refused.getStatus().getDescription().contains("1 requests waiting"), refused.getStatus().getDescription());
    Metadata trailers = Status.trailersFromThrowable(refused);
    long pushback = Long.parseLong(trailers.get(Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER)));
    assertTrue(pushback >= 40, "retry pushback " + pushback + " ms");
    RetryInfo retry = StatusProto.fromThrowable(refused).getDetails(0).unpack(RetryInfo.class);
    assertTrue(retry.getRetryDelay().getNanos() >= 40_000_000 || retry.getRetryDelay().getSeconds() > 0, retry.toString());

    byte[] frame = new byte[64 * 64 * 3];
    String body = "{\"image\": {\"__numpy__\": \"" + Base64.getEncoder().encodeToString(frame)
        + "\", \"dtype\": \"|u1\", \"shape\": [64, 64, 3]}, \"instruction\": \"lift the block\"}";
    HttpResponse<String> act = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + httpPort + "/act")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(429, act.statusCode(), act.body());
    assertTrue(act.headers().firstValue("Retry-After").isPresent(), "Retry-After header");
    assertTrue(act.body().contains("\"retry_after_ms\":") && act.body().contains("RESOURCE_EXHAUSTED"), act.body());

    GATE.open();
    InferResponse first = computing.get(60, TimeUnit.SECONDS);
    InferResponse second = queued.get(60, TimeUnit.SECONDS);
    assertEquals(28, first.getChunk().getTokensCount());
    assertEquals(first.getChunk().getTokensList(), second.getChunk().getTokensList(), "same input, same greedy chunk");
    assertTrue(second.getTiming().getQueue().getNanos() > 0 || second.getTiming().getQueue().getSeconds() > 0,
        "the queued call reports its wait");
  }
}
