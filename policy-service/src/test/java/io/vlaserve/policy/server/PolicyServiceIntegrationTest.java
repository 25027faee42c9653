package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Timestamps;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SamplingParams;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.policy.v1.SessionStart;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/** The real app with the shipped model, over real sockets. */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"spring.grpc.server.port=0", "spring.grpc.server.address=127.0.0.1",
        "vla.policy.model=../models/tiny-vla", "vla.policy.max-image-bytes=200KB",
        "vla.policy.recording.directory=target/policy-recordings", "vla.policy.recording.full-robots=recorded-arm"})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PolicyServiceIntegrationTest {
  @Autowired GrpcServerPort grpcPort;
  @Autowired PolicyRuntime runtime;
  @Autowired PolicyRecording recording;
  @Autowired io.micrometer.core.instrument.MeterRegistry meters;
  @LocalServerPort int httpPort;

  private ManagedChannel channel;
  private PolicyServiceGrpc.PolicyServiceBlockingStub policy;
  private PolicyMetadata metadata;
  private final TabletopWorld world = new TabletopWorld(11, new WorldConfig(3, true));

  @BeforeAll
  void connectAndWaitUntilServing() throws Exception {
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort.await(60), InsecureChannelCredentials.create()).build();
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    HealthCheckResponse.ServingStatus status = HealthCheckResponse.ServingStatus.UNKNOWN;
    while (System.nanoTime() < deadline && status != HealthCheckResponse.ServingStatus.SERVING) {
      status = health.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus();
      Thread.sleep(100);
    }
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, status, "gRPC health after warm-up");
    policy = PolicyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    metadata = policy.getMetadata(GetMetadataRequest.getDefaultInstance());
  }

  @AfterAll
  void disconnect() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private byte[] frame() {
    TabletopRenderer renderer = new TabletopRenderer(CameraConfig.of(metadata.getCameras(0).getWidth(),
        metadata.getCameras(0).getHeight()));
    byte[] rgb = renderer.newFrame();
    renderer.render(world, rgb);
    return rgb;
  }

  private Observation observation(long sequence, Image image) {
    double[] p = new double[8];
    world.writeProprio(p);
    return Observation.newBuilder()
        .setSequence(sequence)
        .setCaptureTime(Timestamps.fromMillis(System.currentTimeMillis()))
        .addImages(image)
        .setState(RobotState.newBuilder()
            .setEndEffector(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(p[0]).setY(p[1]).setZ(p[2]))
                .setOrientation(Quaternion.newBuilder().setX(p[3]).setY(p[4]).setZ(p[5]).setW(p[6])))
            .setGripper(p[7]))
        .build();
  }

  private Image rgbImage() {
    return Image.newBuilder().setCamera(metadata.getCameras(0).getName()).setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8)
        .setWidth(metadata.getCameras(0).getWidth()).setHeight(metadata.getCameras(0).getHeight())
        .setData(ByteString.copyFrom(frame())).build();
  }

  private InferRequest.Builder request(Image image, SamplingParams sampling) {
    return InferRequest.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("sim-0").setEmbodiment("tiny-sim"))
        .setObservation(observation(1, image))
        .setInstruction("move to the red block")
        .setSampling(sampling);
  }

  @Test
  void handshakeDescribesTheModel() {
    assertEquals("tiny-vla", metadata.getModelName());
    assertEquals("onnxruntime-cpu", metadata.getEngine());
    assertEquals(7, metadata.getActionDimensionsCount());
    assertEquals("gripper", metadata.getActionDimensions(6));
    assertTrue(metadata.getMaxChunkLength() >= 1);
    assertTrue(metadata.getSkillsList().contains("grasp the red block"), metadata.getSkillsList().toString());
    assertEquals(100, metadata.getStepPeriod().getNanos() / 1_000_000);
  }

  @Nested
  class Unary {
    @Test
    void aRenderedFrameGivesAChunkOfValidTokensWithTiming() {
      InferResponse response = policy.infer(request(rgbImage(), SamplingParams.getDefaultInstance()).build());
      var chunk = response.getChunk();
      assertEquals(metadata.getMaxChunkLength(), chunk.getStepsCount());
      assertEquals(chunk.getStepsCount() * 7, chunk.getTokensCount());
      assertEquals(chunk.getTokensCount(), chunk.getTokenLogprobsCount());
      for (int i = 0; i < chunk.getTokensCount(); i++) {
        assertTrue(chunk.getTokens(i) >= 64 && chunk.getTokens(i) <= 319, "action token " + chunk.getTokens(i));
        assertTrue(chunk.getTokenLogprobs(i) <= 0, "log probability");
      }
      for (var step : chunk.getStepsList()) {
        assertEquals(7, step.getValuesCount());
        assertTrue(Math.abs(step.getValues(0)) <= 0.06, "dx within the data's range: " + step.getValues(0));
      }
      assertEquals(1, chunk.getObservationSequence());
      assertTrue(response.getTiming().getTotal().getNanos() > 0 || response.getTiming().getTotal().getSeconds() > 0);
      assertTrue(response.getTiming().getDecode().getNanos() > 0);
    }

    @Test
    void aCommittedPrefixIsContinuedAndTheChunkSaysWhereItStarts() {
      InferResponse whole = policy.infer(request(rgbImage(), SamplingParams.getDefaultInstance()).build());
      io.vlaserve.common.v1.CommittedPrefix.Builder prefix = io.vlaserve.common.v1.CommittedPrefix.newBuilder()
          .setStepPeriod(metadata.getStepPeriod());
      prefix.addSteps(whole.getChunk().getSteps(0)).addSteps(whole.getChunk().getSteps(1));
      var chunk = policy.infer(request(rgbImage(), SamplingParams.getDefaultInstance()).setCommittedPrefix(prefix)
          .build()).getChunk();
      assertEquals(2, chunk.getFirstStep(), "steps[0] continues where the two committed steps end");
      assertEquals(metadata.getMaxChunkLength() - 2, chunk.getStepsCount());
      assertEquals(chunk.getStepsCount() * 7, chunk.getTokensCount(), "tokens of the steps answered only");
      assertEquals(0, whole.getChunk().getFirstStep());

      var nan = io.vlaserve.common.v1.CommittedPrefix.newBuilder().addSteps(ActionVector.newBuilder()
          .addAllValues(List.of(0.0, 0.0, Double.NaN, 0.0, 0.0, 0.0, 1.0)));
      assertCode(Status.Code.INVALID_ARGUMENT, "committed prefix step 0 dimension 2",
          request(rgbImage(), SamplingParams.getDefaultInstance()).setCommittedPrefix(nan));
      var whole4 = io.vlaserve.common.v1.CommittedPrefix.newBuilder().addAllSteps(whole.getChunk().getStepsList());
      assertCode(Status.Code.INVALID_ARGUMENT, "committed prefix of 4 steps for a chunk of 4",
          request(rgbImage(), SamplingParams.getDefaultInstance()).setCommittedPrefix(whole4));
      var fast = prefix.clone().setStepPeriod(com.google.protobuf.util.Durations.fromMillis(50));
      assertCode(Status.Code.INVALID_ARGUMENT, "committed_prefix.step_period: 0.050s (expected the model's step period",
          request(rgbImage(), SamplingParams.getDefaultInstance()).setCommittedPrefix(fast));
    }

    @Test
    void jpegAndPngFramesAreAccepted() throws Exception {
      for (String format : List.of("jpg", "png")) {
        int w = metadata.getCameras(0).getWidth();
        int h = metadata.getCameras(0).getHeight();
        byte[] rgb = frame();
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
          for (int x = 0; x < w; x++) {
            int i = (y * w + x) * 3;
            image.setRGB(x, y, (rgb[i] & 0xff) << 16 | (rgb[i + 1] & 0xff) << 8 | (rgb[i + 2] & 0xff));
          }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, format, out);
        Image encoded = Image.newBuilder().setEncoding(format.equals("jpg") ? ImageEncoding.IMAGE_ENCODING_JPEG
            : ImageEncoding.IMAGE_ENCODING_PNG).setData(ByteString.copyFrom(out.toByteArray())).build();
        assertEquals(metadata.getMaxChunkLength(),
            policy.infer(request(encoded, SamplingParams.getDefaultInstance()).build()).getChunk().getStepsCount());
      }
    }

    @Test
    void badImagesAreInvalidArgumentBeforeAnyCompute() {
      Image corrupt = Image.newBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_JPEG)
          .setData(ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, 7, 8})).build();
      assertCode(Status.Code.INVALID_ARGUMENT, "not a readable JPEG", request(corrupt, SamplingParams.getDefaultInstance()));
      Image oversized = Image.newBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_JPEG)
          .setData(ByteString.copyFrom(new byte[300_000])).build();
      assertCode(Status.Code.INVALID_ARGUMENT, "300000 bytes (expected: at most 204800",
          request(oversized, SamplingParams.getDefaultInstance()));
      Image wrongLength = rgbImage().toBuilder().setWidth(10).build();
      assertCode(Status.Code.INVALID_ARGUMENT, "RGB8 10x", request(wrongLength, SamplingParams.getDefaultInstance()));
      Image noEncoding = rgbImage().toBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_UNSPECIFIED).build();
      assertCode(Status.Code.INVALID_ARGUMENT, "expected: IMAGE_ENCODING_RGB8", request(noEncoding, SamplingParams.getDefaultInstance()));
    }

    @Test
    void unknownWordsAndBadParametersAreInvalidArgument() {
      assertCode(Status.Code.INVALID_ARGUMENT, "does not know",
          request(rgbImage(), SamplingParams.getDefaultInstance()).setInstruction("dance the macarena"));
      assertCode(Status.Code.INVALID_ARGUMENT, "chunk length",
          request(rgbImage(), SamplingParams.getDefaultInstance()).setChunkLength(1000));
      assertCode(Status.Code.INVALID_ARGUMENT, "top_p",
          request(rgbImage(), SamplingParams.newBuilder().setTemperature(1).setTopP(3).build()));
      assertCode(Status.Code.INVALID_ARGUMENT, "no robot state",
          request(rgbImage(), SamplingParams.getDefaultInstance()).setObservation(
              Observation.newBuilder().setSequence(1).addImages(rgbImage())));
    }

    @Test
    void theSameSeedReproducesASampledChunk() {
      SamplingParams sampling = SamplingParams.newBuilder().setTemperature(1.5f).setTopK(50).setSeed(42).build();
      Image image = rgbImage();
      List<Integer> first = policy.infer(request(image, sampling).build()).getChunk().getTokensList();
      List<Integer> second = policy.infer(request(image, sampling).build()).getChunk().getTokensList();
      assertEquals(first, second);
      boolean differs = false;
      for (long seed = 43; seed < 53 && !differs; seed++) {
        differs = !first.equals(policy.infer(request(image, sampling.toBuilder().setSeed(seed).build()).build())
            .getChunk().getTokensList());
      }
      assertTrue(differs, "other seeds sample other chunks at temperature 1.5");
    }

    private void assertCode(Status.Code code, String fragment, InferRequest.Builder request) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> policy.infer(request.build()));
      assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
      assertTrue(e.getStatus().getDescription().contains(fragment), e.getStatus().getDescription());
    }
  }

  /** The global budget of decoded pixels in flight, over gRPC: held by hand here, so nothing depends on timing. */
  @Nested
  class DecodedPixelBudget {
    private byte[] png(int width, int height) throws Exception {
      BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
      java.awt.Graphics2D graphics = image.createGraphics();
      graphics.setColor(new java.awt.Color(90, 120, 60));
      graphics.fillRect(0, 0, width, height);
      graphics.dispose();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ImageIO.write(image, "png", out);
      return out.toByteArray();
    }

    private InferRequest pngRequest(byte[] png) {
      Image image = Image.newBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_PNG).setData(ByteString.copyFrom(png)).build();
      return request(image, SamplingParams.getDefaultInstance()).build();
    }

    @Test
    void aDecodeBeyondTheBudgetIsResourceExhaustedNamingItAndGoesThroughOnceTheBudgetIsBack() throws Exception {
      var budget = runtime.images().budget();
      InferRequest request = pngRequest(png(64, 64));
      // Decodes in progress elsewhere hold the whole budget.
      var held = budget.acquire(budget.maxPixels(), "decodes in progress");
      StatusRuntimeException refused;
      try {
        refused = assertThrows(StatusRuntimeException.class, () -> policy.infer(request));
      } finally {
        held.close();
      }
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode(), refused.getStatus().toString());
      assertTrue(refused.getStatus().getDescription().contains("would exceed the budget of 33554432 decoded pixels in flight"
          + " (vla.policy.max-decoded-pixels"), refused.getStatus().getDescription());
      assertEquals(metadata.getMaxChunkLength(), policy.infer(request).getChunk().getStepsCount(),
          "with the budget back the same frame decodes");
      assertEquals(0, budget.inFlight());
    }

    @Test
    void twentyParallel4096SquaredPngFramesDoNotTakeTheServiceDown() throws Exception {
      InferRequest huge = pngRequest(png(4096, 4096)); // compresses to well under the 200 KB byte limit
      PolicyServiceGrpc.PolicyServiceStub async = PolicyServiceGrpc.newStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
      List<java.util.concurrent.CompletableFuture<Status>> answers = new java.util.ArrayList<>();
      for (int i = 0; i < 20; i++) {
        var answer = new java.util.concurrent.CompletableFuture<Status>();
        answers.add(answer);
        async.infer(huge, new StreamObserver<>() {
          @Override
          public void onNext(InferResponse value) {}

          @Override
          public void onError(Throwable t) {
            answer.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            answer.complete(Status.OK);
          }
        });
      }
      for (var answer : answers) {
        Status status = answer.get(120, TimeUnit.SECONDS);
        // Answered, or refused with a reason and a retry: the pixel budget, or (when decodes finish
        // faster than the model answers, as a busy machine makes them) the robot's queue limit.
        assertTrue(status.isOk() || (status.getCode() == Status.Code.RESOURCE_EXHAUSTED
            && (status.getDescription().contains("decoded pixels in flight")
                || status.getDescription().contains("requests waiting"))), status.toString());
      }
      assertEquals(0, runtime.images().budget().inFlight(), "every decode returned its lease");
      assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel)
          .withDeadlineAfter(30, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus());
      assertEquals(metadata.getMaxChunkLength(),
          policy.infer(request(rgbImage(), SamplingParams.getDefaultInstance()).build()).getChunk().getStepsCount(),
          "the next normal request is answered");
    }
  }

  /** Opens a policy Session: its answers go to {@code answers}, its end counts {@code done} down. */
  private StreamObserver<SessionRequest> session(java.util.Collection<SessionResponse> answers, CountDownLatch done) {
    return PolicyServiceGrpc.newStub(channel).session(new StreamObserver<>() {
      @Override
      public void onNext(SessionResponse value) {
        answers.add(value);
      }

      @Override
      public void onError(Throwable t) {
        done.countDown();
      }

      @Override
      public void onCompleted() {
        done.countDown();
      }
    });
  }

  @Test
  void aSessionAnswersEveryObservationAndSurvivesABadOne() throws Exception {
    List<SessionResponse> answers = new CopyOnWriteArrayList<>();
    CountDownLatch done = new CountDownLatch(1);
    StreamObserver<SessionRequest> requests = session(answers, done);
    requests.onNext(SessionRequest.newBuilder().setStart(SessionStart.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("sim-0")).setInstruction("grasp the red block")).build());
    io.vlaserve.testing.Await.until(() -> meters.get("vla.policy.sessions.active").gauge().value() == 1,
        "the open session is counted");
    Image good = rgbImage();
    Image corrupt = Image.newBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_PNG)
        .setData(ByteString.copyFrom(new byte[64])).build();
    requests.onNext(SessionRequest.newBuilder().setObservation(observation(1, good)).build());
    requests.onNext(SessionRequest.newBuilder().setObservation(observation(2, corrupt)).build());
    requests.onNext(SessionRequest.newBuilder().setObservation(observation(2, good)).build()); // out of order: 2 again
    requests.onNext(SessionRequest.newBuilder().setInstruction("lift the block").build());
    // The newest carries a committed step: its chunk continues after it.
    requests.onNext(SessionRequest.newBuilder().setObservation(observation(3, good))
        .setCommittedPrefix(io.vlaserve.common.v1.CommittedPrefix.newBuilder().addSteps(ActionVector.newBuilder()
            .addAllValues(List.of(0.005, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)))).build());
    requests.onCompleted();
    assertTrue(done.await(60, TimeUnit.SECONDS));
    io.vlaserve.testing.Await.until(() -> meters.get("vla.policy.sessions.active").gauge().value() == 0,
        "the ended session is not counted");
    assertTrue(answers.get(0).hasReady(), "first answer is the handshake");
    long chunks = answers.stream().filter(SessionResponse::hasChunk).count();
    long superseded = answers.stream().filter(SessionResponse::hasSuperseded).count();
    List<SessionResponse> errors = answers.stream().filter(SessionResponse::hasError).toList();
    assertTrue(errors.stream().anyMatch(e -> e.getError().getObservationSequence() == 2
        && e.getError().getCode() == Status.Code.FAILED_PRECONDITION.value()), "the repeated sequence 2 is refused");
    // Observation 1 and 3 are answered with chunks unless 1 was superseded; 2 (corrupt) by an
    // error unless superseded: every accepted observation is accounted for exactly once.
    long corruptErrors = errors.stream().filter(e -> e.getError().getCode() == Status.Code.INVALID_ARGUMENT.value()).count();
    assertEquals(3, chunks + superseded + corruptErrors, answers.toString());
    var newest = answers.stream().filter(a -> a.hasChunk() && a.getChunk().getChunk().getObservationSequence() == 3)
        .findFirst().orElseThrow(() -> new AssertionError("the newest observation is always answered")).getChunk()
        .getChunk();
    assertEquals(1, newest.getFirstStep(), "it continues after the committed step");
    assertEquals(metadata.getMaxChunkLength() - 1, newest.getStepsCount());
  }

  @Test
  void aSessionSamplesEachObservationWithItsOwnNoiseAndUnaryReproducesIt() throws Exception {
    BlockingQueue<SessionResponse> answers = new LinkedBlockingQueue<>();
    StreamObserver<SessionRequest> requests = PolicyServiceGrpc.newStub(channel).session(new StreamObserver<>() {
      @Override
      public void onNext(SessionResponse value) {
        answers.add(value);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    });
    SamplingParams sampling = SamplingParams.newBuilder().setTemperature(1.5f).setTopK(50).setSeed(42).build();
    requests.onNext(SessionRequest.newBuilder().setStart(SessionStart.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("sim-seeded")).setInstruction("move to the red block")
        .setSampling(sampling)).build());
    assertTrue(answers.poll(60, TimeUnit.SECONDS).hasReady());
    // The same frame and state twice: only the sequence differs. Each is sent after the previous
    // answer so that neither supersedes the other.
    Observation first = observation(1, rgbImage());
    requests.onNext(SessionRequest.newBuilder().setObservation(first).build());
    SessionResponse one = answers.poll(60, TimeUnit.SECONDS);
    requests.onNext(SessionRequest.newBuilder().setObservation(first.toBuilder().setSequence(2)).build());
    SessionResponse two = answers.poll(60, TimeUnit.SECONDS);
    requests.onCompleted();
    assertTrue(one.hasChunk() && two.hasChunk(), one + " / " + two);
    assertNotEquals(one.getChunk().getChunk().getTokensList(), two.getChunk().getChunk().getTokensList(),
        "consecutive observations of a session draw different noise at temperature 1.5");
    InferResponse unary = policy.infer(request(first.getImages(0), sampling).setObservation(first).build());
    assertEquals(one.getChunk().getChunk().getTokensList(), unary.getChunk().getTokensList(),
        "the same seed and sequence give the same chunk in a unary call");
  }

  @Test
  void prometheusShowsStageHistograms() throws Exception {
    policy.infer(request(rgbImage(), SamplingParams.getDefaultInstance()).build());
    HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + httpPort + "/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, metrics.statusCode());
    for (String stage : List.of("preprocess", "prefill", "decode", "postprocess", "total")) {
      assertTrue(metrics.body().contains("vla_policy_stage_seconds_bucket{") && metrics.body().contains("stage=\"" + stage + "\""),
          "histogram for " + stage);
    }
    assertTrue(metrics.body().contains("vla_policy_requests_total{"), "outcomes counted");
    for (String meter : List.of("vla_policy_batch_size_bucket{", "vla_policy_batch_run_seconds_bucket{",
        "vla_policy_queue_wait_seconds_bucket{", "vla_policy_queue_depth{", "vla_policy_tokens_total{",
        "vla_policy_drops_total{")) {
      assertTrue(metrics.body().contains(meter), "batching meter " + meter);
    }
    assertTrue(metrics.body().contains("reason=\"deadline\"") && metrics.body().contains("phase=\"decode\""),
        "drops by reason, batches by phase");
  }

  /** OpenVLA's deploy.py protocol on the real HTTP port, with json-numpy bodies as its clients send them. */
  @Nested
  class OpenVlaAct {
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> post(String body) throws Exception {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/act"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(java.time.Duration.ofSeconds(60)).build(),
          HttpResponse.BodyHandlers.ofString());
    }

    /** What json_numpy.dumps writes for a uint8 array of shape [h, w, 3]. */
    private String jsonNumpyImage(byte[] rgb, int height, int width) {
      return "{\"__numpy__\": \"" + java.util.Base64.getEncoder().encodeToString(rgb)
          + "\", \"dtype\": \"|u1\", \"shape\": [" + height + ", " + width + ", 3]}";
    }

    private String payload(String image, String instruction) {
      return "{\"image\": " + image + ", \"instruction\": \"" + instruction + "\", \"unnorm_key\": \"tiny_sim\"}";
    }

    /** Decodes a json-numpy float64 array as json_numpy.loads would, checking dtype and shape. */
    private double[] float64(String json, int... shape) throws Exception {
      var node = new tools.jackson.databind.ObjectMapper().readTree(json);
      assertEquals("<f8", node.get("dtype").asString());
      assertEquals(java.util.Arrays.toString(shape), node.get("shape").toString().replace(",", ", "));
      var bytes = java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(node.get("__numpy__").asString()))
          .order(java.nio.ByteOrder.LITTLE_ENDIAN);
      double[] values = new double[bytes.remaining() / 8];
      for (int i = 0; i < values.length; i++) {
        values[i] = bytes.getDouble();
      }
      return values;
    }

    @Test
    void aJsonNumpyImageGetsTheActionAsAJsonNumpyFloat64Array() throws Exception {
      String image = jsonNumpyImage(frame(), 64, 64);
      HttpResponse<String> single = post(payload(image, "Move to the red block"));
      assertEquals(200, single.statusCode(), single.body());
      double[] action = float64(single.body(), 7);
      var chunkBody = "{\"image\": " + image + ", \"instruction\": \"move to the red block\", \"full_chunk\": true}";
      HttpResponse<String> chunk = post(chunkBody);
      assertEquals(200, chunk.statusCode(), chunk.body());
      double[] steps = float64(chunk.body(), metadata.getMaxChunkLength(), 7);
      assertEquals(java.util.Arrays.toString(action), java.util.Arrays.toString(java.util.Arrays.copyOf(steps, 7)),
          "greedy: the single action is the chunk's first step");
      for (double value : action) {
        assertTrue(Double.isFinite(value) && Math.abs(value) <= 1.0, "action value " + value);
      }
    }

    @Test
    void theDoubleEncodedFormIsAnsweredWithAJsonString() throws Exception {
      String inner = payload(jsonNumpyImage(frame(), 64, 64), "move to the red block");
      String encoded = new tools.jackson.databind.ObjectMapper().writeValueAsString(java.util.Map.of("encoded", inner));
      HttpResponse<String> response = post(encoded);
      assertEquals(200, response.statusCode(), response.body());
      String text = new tools.jackson.databind.ObjectMapper().readTree(response.body()).asString();
      assertEquals(7, float64(text, 7).length);
    }

    @Test
    void anOpenVlaSizedFrameIsResized() throws Exception {
      byte[] big = new byte[224 * 224 * 3];
      java.util.Arrays.fill(big, (byte) 120);
      HttpResponse<String> response = post(payload(jsonNumpyImage(big, 224, 224), "lift the block"));
      assertEquals(200, response.statusCode(), response.body());
    }

    @Test
    void rgbaAndGreyImagesAndAnExplicitProprioAreAccepted() throws Exception {
      byte[] rgba = new byte[64 * 64 * 4];
      java.util.Arrays.fill(rgba, (byte) 90);
      String rgbaImage = "{\"__numpy__\": \"" + java.util.Base64.getEncoder().encodeToString(rgba)
          + "\", \"dtype\": \"|u1\", \"shape\": [64, 64, 4]}";
      String withProprio = "{\"image\": " + rgbaImage + ", \"instruction\": \"lift the block\", \"robot_id\": \"arm-1\","
          + " \"proprio\": [0.5, 0.0, 0.2, 0, 0, 0, 1, 1]}";
      HttpResponse<String> response = post(withProprio);
      assertEquals(200, response.statusCode(), response.body());
      assertEquals(7, float64(response.body(), 7).length);
      String grey = "{\"__numpy__\": \"" + java.util.Base64.getEncoder().encodeToString(new byte[64 * 64])
          + "\", \"dtype\": \"uint8\", \"shape\": [64, 64]}";
      assertEquals(200, post(payload(grey, "release the block")).statusCode());
      assertError(post(withProprio.replace("[0.5, 0.0, 0.2, 0, 0, 0, 1, 1]", "[0.5]")), 400,
          "proprio: [0.5] (expected: 8 numbers");
    }

    @Test
    void badRequestsGetAStatusAndAMessageNotAn200Error() throws Exception {
      String image = jsonNumpyImage(frame(), 64, 64);
      assertError(post("{\"image\": " + image + "}"), 400, "instruction: missing");
      assertError(post("{\"image\": " + image + ", \"instruction\": \"move to the red block\", \"unnorm_key\": \"bridge_orig\"}"),
          400, "bridge_orig\\\" not found (known: tiny_sim)");
      assertError(post(payload(image.replace("|u1", "<f4"), "move to the red block")), 400, "dtype \\\"<f4\\\" (expected: uint8");
      assertError(post(payload(image.replace("[64, 64, 3]", "[64, 32, 3]"), "move to the red block")), 400,
          "bytes of data for shape");
      assertError(post(payload("[[1, 2, 3]]", "move to the red block")), 400, "expected: a json-numpy array");
      assertError(post(payload(image, "fly to the moon")), 400, "the model does not know");
      assertError(post("{\"encoded\": \"{}\", \"image\": 1}"), 400, "must be the only key");
      assertError(post("{not json"), 400, "not JSON");
    }

    @Test
    void everyMalformedFieldIsA400NamingIt() throws Exception {
      String image = jsonNumpyImage(frame(), 64, 64);
      String instruction = "move to the red block";
      // Shapes: an object, strings, a float, a negative size.
      assertError(post(payload(image.replace("[64, 64, 3]", "{\"a\": 64, \"b\": 64, \"c\": 3}"), instruction)), 400,
          "image: shape an object without \\\"__numpy__\\\" (expected: a list of integers");
      assertError(post(payload(image.replace("[64, 64, 3]", "[\"64\", \"64\", \"3\"]"), instruction)), 400,
          "image: shape[0] \\\"64\\\" (expected: a non-negative integer)");
      assertError(post(payload(image.replace("[64, 64, 3]", "[64.5, 64, 3]"), instruction)), 400, "image: shape[0] 64.5");
      assertError(post(payload(image.replace("[64, 64, 3]", "[-64, 64, 3]"), instruction)), 400, "image: shape[0] -64");
      // Data and dtype of the wrong kind.
      assertError(post(payload(image.replaceFirst("\"__numpy__\": \"", "\"__numpy__\": \"*"), instruction)), 400,
          "image: __numpy__ is not base64");
      assertError(post(payload("{\"__numpy__\": 12, \"dtype\": \"|u1\", \"shape\": [64, 64, 3]}", instruction)), 400,
          "image: __numpy__ 12 (expected: a base64 string)");
      assertError(post(payload(image.replace("\"|u1\"", "8"), instruction)), 400, "image: dtype 8 (expected: a numpy dtype");
      // Proprio: bad base64, wrong dtype, wrong shape, a string among the numbers.
      String withProprio = "{\"image\": " + image + ", \"instruction\": \"" + instruction + "\", \"proprio\": %s}";
      assertError(post(withProprio.formatted("{\"__numpy__\": \"!!\", \"dtype\": \"<f8\", \"shape\": [8]}")), 400,
          "proprio: __numpy__ is not base64");
      assertError(post(withProprio.formatted("{\"__numpy__\": \"AAAA\", \"dtype\": \"<f4\", \"shape\": [8]}")), 400,
          "proprio: dtype \\\"<f4\\\" (expected: float64");
      assertError(post(withProprio.formatted("{\"__numpy__\": \"AAAA\", \"dtype\": \"<f8\", \"shape\": [3]}")), 400,
          "proprio: shape [3] (expected: [8])");
      assertError(post(withProprio.formatted("[0.5, 0.0, \"0.2\", 0, 0, 0, 1, 1]")), 400,
          "proprio[2]: \\\"0.2\\\" (expected: a number, z)");
      // Optional fields of the wrong type are refused, not ignored.
      assertError(post("{\"image\": " + image + ", \"instruction\": \"" + instruction + "\", \"robot_id\": 7}"), 400,
          "robot_id: 7 (expected: a string)");
      assertError(post("{\"image\": " + image + ", \"instruction\": \"" + instruction + "\", \"full_chunk\": \"yes\"}"),
          400, "full_chunk: \\\"yes\\\" (expected: true or false)");
      assertError(post("{\"image\": " + image + ", \"instruction\": \"" + instruction + "\", \"unnorm_key\": [1]}"),
          400, "unnorm_key: a list of 1 (expected: a string)");
      // A huge value is not echoed back.
      String longKey = "k".repeat(100_000);
      HttpResponse<String> echoed = post(payload(image, instruction).replace("tiny_sim", longKey));
      assertError(echoed, 400, "(100000 characters)");
      assertTrue(echoed.body().length() < 1000, "the message abbreviates the value: " + echoed.body().length());
    }

    @Test
    void aBodyOverTheLimitIs413BeforeItIsParsed() throws Exception {
      // 200 KB images: the derived limit is 200 KB x 16/9 + 64 KB = 429,624 bytes.
      String tooLarge = "{\"instruction\": \"lift the block\", \"pad\": \"" + "x".repeat(430_000) + "\"}";
      assertError(post(tooLarge), 413, "request body: 430044 bytes (expected: at most 429624");
      // Without a length (chunked) it is cut off once past the limit; not JSON at all, so nothing was parsed.
      HttpResponse<String> chunked = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/act"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(new byte[500_000])))
          .timeout(java.time.Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
      assertError(chunked, 413, "request body: more than 429624 bytes (expected: at most 429624");
      assertTrue(chunked.body().contains("RESOURCE_EXHAUSTED"), chunked.body());
      // A frame of the largest accepted size still fits, as RGBA too.
      byte[] rgba = new byte[200 * 256 * 4];
      String largest = "{\"__numpy__\": \"" + java.util.Base64.getEncoder().encodeToString(rgba)
          + "\", \"dtype\": \"|u1\", \"shape\": [200, 256, 4]}";
      HttpResponse<String> fits = post(payload(largest, "lift the block"));
      assertEquals(200, fits.statusCode(), fits.body());
    }

    private void assertError(HttpResponse<String> response, int status, String fragment) {
      assertEquals(status, response.statusCode(), response.body());
      assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
      assertTrue(response.body().contains(fragment), response.body());
    }
  }

  @Test
  void differentImagesGiveDifferentChunks() {
    InferResponse here = policy.infer(request(rgbImage(), SamplingParams.getDefaultInstance()).build());
    world.step(new double[] {0.05, 0.05, 0, 0, 0, 0, 1});
    world.step(new double[] {0.05, 0.05, 0, 0, 0, 0, 1});
    InferResponse there = policy.infer(request(rgbImage(), SamplingParams.getDefaultInstance()).build());
    assertNotEquals(here.getChunk().getTokensList(), there.getChunk().getTokensList(), "the policy looks at the scene");
  }

  @Nested
  class Recording {
    @Test
    void aFullyRecordedRobotsInferencesRunAgainToTheSameTokens() throws Exception {
      List<InferResponse> answered = new java.util.ArrayList<>();
      for (int i = 0; i < 3; i++) {
        // Sampled, not greedy: the recorded seed must be the observation's own for the tokens to repeat.
        answered.add(policy.infer(request(rgbImage(), SamplingParams.newBuilder().setTemperature(1).setSeed(40 + i)
            .build()).setRobot(RobotIdentity.newBuilder().setRobotId("recorded-arm")).build()));
      }
      policy.infer(request(rgbImage(), SamplingParams.getDefaultInstance()).build()); // another robot: not recorded
      java.nio.file.Path file = recording.recorder().recordFully("recorded-arm", false).get(60, TimeUnit.SECONDS);
      assertTrue(file == null, "switched off");
      java.nio.file.Path written = recording.recorder().files().stream()
          .filter(f -> f.getFileName().toString().startsWith("policy-service-recorded-arm-")).findFirst().orElseThrow();
      io.vlaserve.recorder.mcap.McapReader read = io.vlaserve.recorder.mcap.McapReader.read(written);
      List<io.vlaserve.recorder.v1.PolicyInference> inferences = new java.util.ArrayList<>();
      int frames = 0;
      for (var message : read.messages()) {
        String topic = read.channels().get(message.channelId()).topic();
        if (topic.equals("/policy/inferences")) {
          inferences.add(io.vlaserve.recorder.v1.PolicyInference.parseFrom(message.data()));
        } else {
          assertEquals("/camera/" + metadata.getCameras(0).getName(), topic);
          assertEquals("png", io.vlaserve.foxglove.CompressedImage.parseFrom(message.data()).getFormat());
          frames++;
        }
      }
      assertEquals(3, inferences.size());
      assertEquals(3, frames);
      for (int i = 0; i < 3; i++) {
        var recorded = inferences.get(i);
        assertEquals("recorded-arm", recorded.getRobotId());
        assertEquals(answered.get(i).getChunk().getTokensList(), recorded.getChunk().getTokensList());
        assertEquals(answered.get(i).getChunk().getTokenLogprobsList(), recorded.getChunk().getTokenLogprobsList());
        assertEquals(runtime.model().graphsSha256(), recorded.getModel().getSha256());
        // Run again from what was recorded alone: the same tokens.
        float[] proprio = new float[recorded.getProprioCount()];
        for (int p = 0; p < proprio.length; p++) {
          proprio[p] = recorded.getProprio(p);
        }
        var sampling = recorded.getSampling();
        io.vlaserve.policy.PolicyResult again = runtime.policy().infer(new io.vlaserve.policy.PolicyRequest(
            recorded.getImageRgb8().toByteArray(), recorded.getInstruction(), proprio, recorded.getChunkLength(),
            new io.vlaserve.policy.decode.SamplingParams(sampling.getTemperature(), sampling.getTopK(),
                sampling.getTopP(), sampling.getSeed())));
        assertEquals(recorded.getChunk().getTokensList(), java.util.Arrays.stream(again.tokens()).boxed().toList());
      }
      assertEquals(0, recording.recorder().dropped());
    }

    @Test
    void aSessionThatAsksToBeRecordedGetsAFileOfItsOwnWhenItEnds() throws Exception {
      java.util.concurrent.LinkedBlockingQueue<SessionResponse> answers = new java.util.concurrent.LinkedBlockingQueue<>();
      CountDownLatch done = new CountDownLatch(1);
      StreamObserver<SessionRequest> requests = session(answers, done);
      requests.onNext(SessionRequest.newBuilder().setStart(SessionStart.newBuilder()
          .setRobot(RobotIdentity.newBuilder().setRobotId("session-arm")).setInstruction("grasp the red block")
          .setRecord(true)).build());
      assertTrue(answers.poll(60, TimeUnit.SECONDS).hasReady());
      for (int sequence = 1; sequence <= 2; sequence++) {
        // One at a time, so neither is superseded by the other.
        requests.onNext(SessionRequest.newBuilder().setObservation(observation(sequence, rgbImage())).build());
        assertTrue(answers.poll(60, TimeUnit.SECONDS).hasChunk());
      }
      requests.onCompleted();
      assertTrue(done.await(60, TimeUnit.SECONDS));
      java.util.function.Supplier<java.util.Optional<java.nio.file.Path>> file = () -> recording.recorder().files()
          .stream().filter(f -> f.getFileName().toString().startsWith("policy-service-session-arm-")).findFirst();
      io.vlaserve.testing.Await.until(() -> file.get().isPresent(), "the session's recording, complete");
      io.vlaserve.recorder.mcap.McapReader read = io.vlaserve.recorder.mcap.McapReader.read(file.get().orElseThrow());
      List<Long> sequences = new java.util.ArrayList<>();
      for (var message : read.messages()) {
        if (read.channels().get(message.channelId()).topic().equals("/policy/inferences")) {
          sequences.add(io.vlaserve.recorder.v1.PolicyInference.parseFrom(message.data()).getObservationSequence());
        }
      }
      assertEquals(List.of(1L, 2L), sequences);
    }
  }
}
