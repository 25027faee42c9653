package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.PolicyResult;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.recorder.FlightRecorder;
import io.vlaserve.recorder.ProtobufTopics;
import io.vlaserve.recorder.v1.ModelIdentity;
import io.vlaserve.recorder.v1.PolicyInference;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vla replay} and {@code vla export} over recordings made here with the shipped model, as
 * policy-service records.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReplayCommandTest {
  private static final Path MODEL = Path.of("..", "models", "tiny-vla");
  private static final Path OTHER_MODEL = Path.of("..", "models", "tiny-vla-h8");
  private static final FlightRecorder.Topic INFERENCES =
      ProtobufTopics.topic(ReplayCommand.INFERENCES, PolicyInference.getDescriptor());

  @TempDir Path dir;
  private List<PolicyInference> inferences;

  /** Five inferences of the shipped model, sampled (temperature 1) so that the seed matters. */
  @BeforeAll
  void infer() {
    ModelPackage model = ModelPackage.load(MODEL);
    TabletopWorld world = new TabletopWorld(5, new WorldConfig(3, true));
    TabletopRenderer renderer = new TabletopRenderer(CameraConfig.of(model.imageWidth(), model.imageHeight()));
    byte[] frame = renderer.newFrame();
    renderer.render(world, frame);
    double[] proprio = new double[8];
    world.writeProprio(proprio);
    float[] state = new float[proprio.length];
    for (int i = 0; i < state.length; i++) {
      state[i] = (float) proprio[i];
    }
    ModelIdentity identity = ModelIdentity.newBuilder().setName(model.name()).setVersion(model.version())
        .setSha256(model.graphsSha256()).setEngine("onnxruntime-cpu").build();
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1)) {
      VlaPolicy policy = new VlaPolicy(model, engine);
      inferences = new java.util.ArrayList<>();
      for (int i = 0; i < 5; i++) {
        SamplingParams sampling = new SamplingParams(1, 0, 0, 1000 + i);
        PolicyResult result = policy.infer(new PolicyRequest(frame, "move to the red block", state,
            model.chunkLength(), sampling));
        PolicyInference.Builder inference = PolicyInference.newBuilder().setRobotId("arm-1").setObservationSequence(i)
            .setModel(identity).setInstruction("move to the red block").setImageRgb8(ByteString.copyFrom(frame))
            .setImageWidth(model.imageWidth()).setImageHeight(model.imageHeight())
            .setChunkLength(model.chunkLength())
            .setSampling(io.vlaserve.policy.v1.SamplingParams.newBuilder().setTemperature(1).setSeed(1000 + i));
        for (float value : state) {
          inference.addProprio(value);
        }
        for (double[] step : result.actions()) {
          var vector = inference.getChunkBuilder().addStepsBuilder();
          for (double value : step) {
            vector.addValues(value);
          }
        }
        for (int token : result.tokens()) {
          inference.getChunkBuilder().addTokens(token);
        }
        inferences.add(inference.build());
      }
    }
  }

  private Path record(String name, UnaryOperator<PolicyInference> change) throws Exception {
    Path directory = dir.resolve(name);
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(directory, "policy-service"))) {
      recorder.recordFully("arm-1", true).get(30, TimeUnit.SECONDS);
      long time = 1_800_000_000_000_000_000L;
      for (PolicyInference inference : inferences) {
        recorder.record(INFERENCES, "arm-1", time += 100_000_000L, change.apply(inference).toByteArray());
      }
      recorder.recordFully("arm-1", false).get(30, TimeUnit.SECONDS);
      return recorder.files().get(0);
    }
  }

  private record Run(int exit, String out, String err) {}

  private static Run replay(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = VlaCommand.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    String[] all = new String[args.length + 1];
    all[0] = "replay";
    System.arraycopy(args, 0, all, 1, args.length);
    int exit = commandLine.execute(all);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void theRecordedModelDecodesEveryTokenAgain() throws Exception {
    Run run = replay(record("same", i -> i).toString(), "--model", MODEL.toString());
    assertEquals(0, run.exit(), run.out() + run.err());
    assertTrue(run.out().contains("the recorded model"), run.out());
    assertTrue(run.out().contains("5 of 5 inferences identical (100.0%)"), run.out());
    assertTrue(run.out().contains("step 0: 0.00000, 0.00000"), run.out());
  }

  @Test
  void aTokenThatComesOutDifferentlyIsADivergence() throws Exception {
    Path tampered = record("tampered", i -> i.getObservationSequence() != 2 ? i : i.toBuilder()
        .setChunk(i.getChunk().toBuilder().setTokens(0, i.getChunk().getTokens(0) + 1)).build());
    Run run = replay(tampered.toString(), "--model", MODEL.toString());
    assertEquals(1, run.exit(), run.out() + run.err());
    assertTrue(run.out().contains("4 of 5 inferences identical (80.0%)"), run.out());
    assertTrue(run.out().contains("DIVERGED"), run.out());
  }

  @Test
  void anotherModelGetsAPerStepActionDifference() throws Exception {
    Run run = replay(record("other", i -> i).toString(), "--model", OTHER_MODEL.toString());
    assertEquals(0, run.exit(), run.out() + run.err());
    assertTrue(run.out().contains("a different model"), run.out());
    // The recorded chunks have four steps: each of them is compared.
    for (int step = 0; step < 4; step++) {
      assertTrue(run.out().contains("step " + step + ": "), run.out());
    }
  }

  @Test
  void severalCamerasAreReplayedInTheModelsLayoutAndOtherCamerasAreRefused() {
    ModelPackage twoCameras = ModelPackage.load(Path.of("..", "models", "test-fixtures", "two-camera"));
    byte[] third = new byte[64 * 64 * 3];
    byte[] wrist = new byte[32 * 32 * 3];
    java.util.Arrays.fill(third, (byte) 1);
    java.util.Arrays.fill(wrist, (byte) 2);
    io.vlaserve.recorder.v1.PolicyInference recorded = io.vlaserve.recorder.v1.PolicyInference.newBuilder()
        .addCameras(io.vlaserve.recorder.v1.CameraInput.newBuilder().setCamera("third_person").setWidth(64)
            .setHeight(64).setRgb8(com.google.protobuf.ByteString.copyFrom(third)))
        .addCameras(io.vlaserve.recorder.v1.CameraInput.newBuilder().setCamera("wrist").setWidth(32).setHeight(32)
            .setRgb8(com.google.protobuf.ByteString.copyFrom(wrist)))
        .build();
    byte[] frames = ReplayCommand.frames(recorded, twoCameras);
    assertEquals(twoCameras.imageBytes(), frames.length);
    assertEquals(1, frames[64 * 64 * 3 - 1]);
    assertEquals(2, frames[64 * 64 * 3]);
    IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
        () -> ReplayCommand.frames(recorded, ModelPackage.load(MODEL)));
    assertTrue(other.getMessage().contains("the recording's cameras are [third_person 64x64, wrist 32x32]; model"
        + " tiny-vla takes [third_person 64x64]"), other.getMessage());
  }

  @Test
  void aFileWithoutInferencesIsRefusedWithWhatWasExpected() throws Exception {
    Path directory = dir.resolve("empty");
    Path file;
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(directory, "controller-bridge"))) {
      recorder.record(new FlightRecorder.Topic("/safety_events", null, null, null, "json"), "arm-1", 1, new byte[] {1});
      file = recorder.flushRing("arm-1", "halt").get(30, TimeUnit.SECONDS);
    }
    Run run = replay(file.toString(), "--model", MODEL.toString());
    assertEquals(2, run.exit());
    assertTrue(run.err().contains("no /policy/inferences messages"), run.err());
  }

  @Test
  void exportWritesARecordingAsADatasetThatReadsBackRowForRow() throws Exception {
    // Two sessions; the second switches instruction halfway, a new subgoal segment.
    Path file = record("export", i -> i.getObservationSequence() < 2 ? i : i.toBuilder().setSession(2)
        .setInstruction(i.getObservationSequence() < 4 ? "move to the red block" : "grasp the red block").build());
    Path out = dir.resolve("dataset");
    StringWriter printed = new StringWriter();
    CommandLine commandLine = VlaCommand.commandLine();
    commandLine.setOut(new PrintWriter(printed, true));
    assertEquals(0, commandLine.execute("export", file.toString(), "--out", out.toString()), printed.toString());
    assertTrue(printed.toString().contains("exported 5 step(s) of 2 episode(s) (2 instruction(s))"), printed.toString());

    io.vlaserve.dataset.NpyArray images = io.vlaserve.dataset.NpyArray.read(out.resolve("images.npy"));
    assertEquals(List.of(5, 64, 64, 3), java.util.Arrays.stream(images.shape()).boxed().toList());
    io.vlaserve.dataset.NpyArray actions = io.vlaserve.dataset.NpyArray.read(out.resolve("actions.npy"));
    io.vlaserve.dataset.NpyArray proprio = io.vlaserve.dataset.NpyArray.read(out.resolve("proprio.npy"));
    int[] episodes = ints(out.resolve("episode_ids.npy"));
    int[] instructions = ints(out.resolve("instruction_ids.npy"));
    int[] subgoals = ints(out.resolve("subgoal_index.npy"));
    int[] steps = ints(out.resolve("step_in_subgoal.npy"));
    assertEquals(List.of(0, 0, 1, 1, 1), java.util.Arrays.stream(episodes).boxed().toList());
    assertEquals(List.of(0, 0, 0, 0, 1), java.util.Arrays.stream(instructions).boxed().toList());
    assertEquals(List.of(0, 0, 0, 0, 1), java.util.Arrays.stream(subgoals).boxed().toList());
    assertEquals(List.of(0, 1, 0, 1, 0), java.util.Arrays.stream(steps).boxed().toList());
    byte[] pixels = new byte[3 * 64 * 64];
    for (int row = 0; row < 5; row++) {
      PolicyInference recorded = inferences.get(row);
      for (int d = 0; d < 7; d++) {
        assertEquals(recorded.getChunk().getSteps(0).getValues(d), actions.getDouble(row * 7L + d), "action " + row);
      }
      for (int p = 0; p < 8; p++) {
        assertEquals(recorded.getProprio(p), proprio.getDouble(row * 8L + p), 0, "proprio " + row);
      }
      images.data().position(row * pixels.length);
      images.data().get(pixels);
      assertTrue(java.util.Arrays.equals(recorded.getImageRgb8().toByteArray(), pixels), "frame " + row);
    }
    var meta = tools.jackson.databind.json.JsonMapper.builder().build().readTree(out.resolve("meta.json").toFile());
    assertEquals("vla-serve-dataset/1", meta.get("format").asString());
    assertEquals("move to the red block", meta.get("instructions").get(0).asString());
    assertEquals("grasp the red block", meta.get("instructions").get(1).asString());
    assertEquals(List.of("arm-1/session-0", "arm-1/session-2"),
        List.of(meta.get("episode_names").get(0).asString(), meta.get("episode_names").get(1).asString()));
    // The statistics are OpenVLA's format and the tokens are those statistics' bins of the labels.
    var statistics = io.vlaserve.tokenizer.DatasetStatistics.read(out.resolve("dataset_statistics.json"));
    var tokenizer = statistics.action("tiny_sim").toOpenVlaProfile("check", 256, 320, "check").tokenizer();
    int[] tokens = ints(out.resolve("action_tokens.npy"));
    int[] expected = new int[7];
    double[] label = new double[7];
    for (int row = 0; row < 5; row++) {
      for (int d = 0; d < 7; d++) {
        label[d] = actions.getDouble(row * 7L + d);
      }
      tokenizer.encode(label, 0, expected, 0, 1);
      assertEquals(java.util.Arrays.stream(expected).boxed().toList(),
          java.util.Arrays.stream(tokens, row * 7, row * 7 + 7).boxed().toList(), "tokens of row " + row);
    }
  }

  private static int[] ints(Path file) throws java.io.IOException {
    io.vlaserve.dataset.NpyArray array = io.vlaserve.dataset.NpyArray.read(file);
    int[] values = new int[(int) array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.getInt(i);
    }
    return values;
  }

  @Test
  void aBridgeRecordingRunsThroughASimulatedController() throws Exception {
    long t0 = 1_800_000_000_000_000_000L;
    var limits = new io.vlaserve.controller.safety.SafetyLimits(new io.vlaserve.controller.Vector3(0.25, -0.30, 0.01),
        new io.vlaserve.controller.Vector3(0.75, 0.30, 0.35), io.vlaserve.controller.safety.LimitMode.CLAMP,
        io.vlaserve.controller.safety.AxisLimit.clamp(1.0), io.vlaserve.controller.safety.AxisLimit.clamp(10),
        io.vlaserve.controller.safety.AxisLimit.clamp(6500), io.vlaserve.controller.safety.AxisLimit.clamp(5.0),
        io.vlaserve.controller.safety.AxisLimit.clamp(10), java.time.Duration.ofMillis(50),
        io.vlaserve.controller.safety.AxisLimit.clamp(60), io.vlaserve.controller.safety.AxisLimit.clamp(40000),
        io.vlaserve.controller.safety.AxisLimit.clamp(400), new io.vlaserve.controller.safety.OrientationLimit(
            new io.vlaserve.controller.Vector3(0, 0, 1), new io.vlaserve.controller.Vector3(0, 0, 1), 1.0472,
            io.vlaserve.controller.safety.LimitMode.CLAMP));
    var settings = new io.vlaserve.controller.ExecutionSettings(io.vlaserve.controller.trajectory.Interpolation.MINIMUM_JERK,
        io.vlaserve.controller.trajectory.Blending.crossfade(java.time.Duration.ofMillis(100)));
    com.google.protobuf.Timestamp start = com.google.protobuf.Timestamp.newBuilder().setSeconds(t0 / 1_000_000_000L).build();
    var state = io.vlaserve.controller.v1.ExecutionState.newBuilder().setRobotId("arm-1").setTime(start)
        .setMeasured(io.vlaserve.common.v1.RobotState.newBuilder().setGripper(1).setEndEffector(
            io.vlaserve.common.v1.Pose.newBuilder().setPosition(io.vlaserve.common.v1.Vector3.newBuilder().setX(0.5).setZ(0.2))
                .setOrientation(io.vlaserve.common.v1.Quaternion.newBuilder().setW(1)))).build();
    var chunk = io.vlaserve.common.v1.ActionChunk.newBuilder().setChunkId(1).setActionProfile("tiny-sim")
        .setStepPeriod(com.google.protobuf.Duration.newBuilder().setNanos(100_000_000))
        .setObservationTime(start.toBuilder().setNanos(5_000_000));
    for (int step = 0; step < 4; step++) {
      chunk.addStepsBuilder().addAllValues(List.of(0.005, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0));
    }
    Path file;
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(dir.resolve("bridge"),
        "controller-bridge"))) {
      recorder.latch(ProtobufTopics.topic("/safety_limits", io.vlaserve.controller.v1.SafetyLimits.getDescriptor()),
          "arm-1", t0, io.vlaserve.controller.messages.ControllerMessages.limits("arm-1", limits).toByteArray());
      recorder.latch(ProtobufTopics.topic("/execute_start", io.vlaserve.controller.v1.ExecuteStart.getDescriptor()),
          "arm-1", t0, io.vlaserve.controller.messages.ControllerMessages.start("arm-1", settings).toByteArray());
      recorder.record(ProtobufTopics.topic("/execution_state", io.vlaserve.controller.v1.ExecutionState.getDescriptor()),
          "arm-1", t0, state.toByteArray());
      recorder.record(ProtobufTopics.topic("/chunks", io.vlaserve.controller.v1.ExecuteRequest.getDescriptor()), "arm-1",
          t0 + 10_000_000L, io.vlaserve.controller.v1.ExecuteRequest.newBuilder().setChunk(chunk).build().toByteArray());
      recorder.record(ProtobufTopics.topic("/chunk_verdicts", io.vlaserve.controller.v1.ExecuteResponse.getDescriptor()),
          "arm-1", t0 + 10_000_000L, io.vlaserve.controller.v1.ExecuteResponse.newBuilder()
              .setAccepted(io.vlaserve.controller.v1.ChunkAccepted.newBuilder().setChunkId(1)).build().toByteArray());
      file = recorder.flushRing("arm-1", "halt").get(30, TimeUnit.SECONDS);
    }
    Run run = replay(file.toString());
    assertEquals(0, run.exit(), run.out() + run.err());
    assertTrue(run.out().contains("robot arm-1: 1 chunk(s) replayed through a simulated controller"), run.out());
    assertTrue(run.out().contains("verdicts: 1 of 1 the same"), run.out());
  }
}
