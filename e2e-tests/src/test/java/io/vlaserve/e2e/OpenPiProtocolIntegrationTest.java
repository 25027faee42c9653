package io.vlaserve.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.evaluation.ActionSource;
import io.vlaserve.evaluation.ClosedLoopEvaluator;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.skills.Task;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * openpi's protocol as openpi's own client code speaks it: policy-service from its jar as a
 * process, and a Python robot client ({@code src/test/python/openpi_relay.py}) that packs every
 * observation with openpi_client's msgpack_numpy, unchanged, and sends it over Debian's
 * python3-websockets, driving the simulator in closed loop through the endpoint. Every chunk it
 * gets is the one policy-service answers over gRPC for the same observation (to float32), the
 * tasks complete, and a malformed observation is an error the client reads as openpi's.
 *
 * <p>Needs Python 3 with msgpack, websockets and numpy (Debian: python3-msgpack, python3-websockets,
 * python3-numpy; {@code ./vla test} installs them when it runs as root, as CI does). Without them
 * the test is skipped with what to install, except under CI, where that is a failure.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenPiProtocolIntegrationTest {
  private static final Path HOME = Path.of("..").toAbsolutePath().normalize();
  private static final Path LOGS = Path.of("target", "openpi-logs");
  private static final Path RELAY = Path.of("src", "test", "python", "openpi_relay.py").toAbsolutePath();
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private ServiceProcess policy;
  private ManagedChannel channel;
  private Process relay;
  private BufferedWriter toRelay;
  private BufferedReader fromRelay;
  private JsonNode metadata;

  @BeforeAll
  void start() throws Exception {
    String python = python();
    policy = ServiceProcess.start("policy", HOME.resolve("policy-service/target/policy-service.jar"), HOME, List.of(),
        List.of("--vla.tls.insecure=true", "--vla.policy.warmup-runs=1"), LOGS);
    policy.awaitServing(Duration.ofSeconds(120));
    channel = policy.channel();
    ProcessBuilder builder = new ProcessBuilder(python, RELAY.toString(), "ws://127.0.0.1:" + policy.httpPort())
        .redirectError(LOGS.resolve("openpi-relay.err").toFile());
    builder.environment().put("PYTHONPATH", RELAY.getParent().toString());
    relay = builder.start();
    toRelay = new BufferedWriter(new OutputStreamWriter(relay.getOutputStream(), StandardCharsets.UTF_8));
    fromRelay = new BufferedReader(new InputStreamReader(relay.getInputStream(), StandardCharsets.UTF_8));
    metadata = read().get("metadata");
  }

  /** A Python 3 that has msgpack, websockets and numpy: Debian's first, where its packages install. */
  private static String python() throws InterruptedException {
    List<String> tried = new ArrayList<>();
    for (String candidate : List.of("/usr/bin/python3", "python3")) {
      try {
        Process check = new ProcessBuilder(candidate, "-c", "import msgpack, websockets, numpy")
            .redirectErrorStream(true).start();
        String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (check.waitFor(60, TimeUnit.SECONDS) && check.exitValue() == 0) {
          return candidate;
        }
        tried.add(candidate + ": " + output.strip().lines().reduce((a, b) -> b).orElse("exit " + check.exitValue()));
      } catch (IOException e) {
        tried.add(candidate + ": " + e.getMessage());
      }
    }
    String missing = "no Python 3 with msgpack, websockets and numpy (" + String.join("; ", tried)
        + "); install python3-msgpack python3-websockets python3-numpy (./vla test does, as root)";
    if ("true".equals(System.getenv("CI"))) {
      throw new IllegalStateException(missing);
    }
    Assumptions.abort(missing);
    return null;
  }

  @AfterAll
  void stop() throws InterruptedException {
    if (relay != null) {
      relay.destroy();
      relay.waitFor(10, TimeUnit.SECONDS);
    }
    if (channel != null) {
      channel.shutdownNow();
    }
    if (policy != null) {
      policy.close();
    }
  }

  private JsonNode read() {
    try {
      String line = fromRelay.readLine();
      if (line == null) {
        throw new IllegalStateException("the openpi client exited; its stderr is in "
            + LOGS.resolve("openpi-relay.err").toAbsolutePath() + ":\n" + tail(LOGS.resolve("openpi-relay.err")));
      }
      return JSON.readTree(line);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** One observation through the Python client: its reply line. */
  private JsonNode infer(byte[] image, int width, int height, double[] state, String prompt) {
    try {
      toRelay.write(JSON.writeValueAsString(Map.of("image_b64", Base64.getEncoder().encodeToString(image),
          "width", width, "height", height, "state", state, "prompt", prompt)));
      toRelay.newLine();
      toRelay.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return read();
  }

  @Test
  void theMetadataReachesOpenpisClient() {
    assertEquals("openpi-websocket", metadata.get("protocol").asString());
    assertEquals(4, metadata.get("action_horizon").asInt());
    assertEquals(7, metadata.get("action_dim").asInt());
  }

  @Test
  void aSimulatedRobotCompletesItsTasksThroughOpenpisClientWithTheChunksGrpcAnswers() {
    PolicyServiceGrpc.PolicyServiceBlockingStub grpc = PolicyServiceGrpc.newBlockingStub(channel);
    int[] calls = {0};
    ActionSource throughOpenpi = (WorldState state, byte[] image, Subgoal subgoal) -> {
      double[] proprio = state.proprio();
      JsonNode reply = infer(image, 64, 64, proprio, subgoal.instruction());
      assertTrue(reply.has("actions"), "an answer, not " + reply);
      assertEquals("<f4", reply.get("dtype").asString(), "float32, as openpi's policies answer");
      JsonNode actions = reply.get("actions");
      assertEquals(4, actions.size());
      InferResponse reference = grpc.withDeadlineAfter(60, TimeUnit.SECONDS).infer(InferRequest.newBuilder()
          .setInstruction(subgoal.instruction()).setObservation(observation(image, proprio)).build());
      double[][] chunk = new double[actions.size()][];
      for (int step = 0; step < chunk.length; step++) {
        chunk[step] = new double[actions.get(step).size()];
        for (int d = 0; d < chunk[step].length; d++) {
          chunk[step][d] = actions.get(step).get(d).asDouble();
          assertEquals((float) reference.getChunk().getSteps(step).getValues(d), (float) chunk[step][d],
              "call " + calls[0] + " step " + step + " dimension " + d + ": the chunk gRPC answers");
        }
      }
      calls[0]++;
      return Arrays.copyOf(chunk, 2); // the evaluator's receding horizon: 2 of 4 steps per chunk
    };
    ClosedLoopEvaluator.Score score = new ClosedLoopEvaluator(64, 64).evaluateTasks(throughOpenpi,
        "put the block on the plate", state -> Task.putOnPlate(state.blocks().get(0).color()), 2, 1000);
    // Two whole tasks take many chunks (the default model needed 19 at this seed, the autoregressive one more).
    assertTrue(calls[0] >= 10, calls[0] + " observations");
    assertEquals(2, score.successes(), "both tasks completed through the openpi endpoint: " + score);
  }

  @Test
  void aMalformedObservationIsAnErrorOpenpisClientReadsAndTheConnectionGoesOn() {
    JsonNode error = infer(new byte[64 * 64 * 3], 64, 64, new double[] {0, 0, 0}, "move to the red block");
    assertTrue(error.has("error"), error.toString());
    assertTrue(error.get("error").asString().startsWith("INVALID_ARGUMENT: observation/state: a <f4 array of shape [3]"
        + " (expected shape [8]"), error.toString());
    JsonNode answer = infer(new byte[64 * 64 * 3], 64, 64, new double[8], "move to the red block");
    assertTrue(answer.has("actions"), answer.toString());
  }

  private static Observation observation(byte[] image, double[] p) {
    return Observation.newBuilder()
        .addImages(Image.newBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8).setWidth(64).setHeight(64)
            .setData(ByteString.copyFrom(image)))
        .setState(RobotState.newBuilder()
            .setEndEffector(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(p[0]).setY(p[1]).setZ(p[2]))
                .setOrientation(Quaternion.newBuilder().setX(p[3]).setY(p[4]).setZ(p[5]).setW(p[6])))
            .setGripper(p[7]))
        .build();
  }
}
