package io.vlaserve.e2e;

import static io.vlaserve.e2e.Scenes.sceneWithRedBlock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.vlaserve.foxglove.CompressedImage;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.recorder.mcap.McapReader;
import io.vlaserve.recorder.v1.PolicyInference;
import io.vlaserve.robot.client.GatewaySession;
import io.vlaserve.robot.client.RobotAgent;
import io.vlaserve.robot.sim.SimulatedRobot;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A robot's session recorded by policy-service, as an operator would use it: the services run from
 * their jars on real sockets, policy-service records the robot in full, and once it has shut down
 * (SIGTERM finishes its files) the recording is read back three ways: by this project's reader, by
 * the reference TypeScript reader ({@code @mcap/core}, decoding every protobuf message with the
 * schema the file carries, as Foxglove does), and by {@code vla replay}, which must decode every
 * recorded inference's tokens again identically.
 */
class FlightRecordingIntegrationTest {
  private static final Path HOME = Path.of("..").toAbsolutePath().normalize();
  private static final Path LOGS = Path.of("target", "flight-recording-logs");
  private static final Path NODE_READER = HOME.resolve("flight-recorder").resolve("src").resolve("test").resolve("node");
  private static final String AGENT_PORT = "vla.controller.agent-port";

  @Test
  void aRecordedSessionIsReadByTheReferenceReaderAndReplaysWithIdenticalTokens() throws Exception {
    Path recordings = Files.createDirectories(LOGS.resolve("recordings")).toAbsolutePath();
    try (Stream<Path> old = Files.list(recordings)) {
      for (Path file : old.toList()) {
        Files.delete(file);
      }
    }
    ServiceProcess policy = ServiceProcess.start("policy", jar("policy-service"), HOME, List.of(),
        List.of("--vla.tls.insecure=true", "--vla.policy.warmup-runs=1",
            "--vla.policy.recording.directory=" + recordings, "--vla.policy.recording.full-robots=arm-7"), LOGS);
    ServiceProcess controller = ServiceProcess.start("controller", jar("controller-bridge"), HOME, List.of(),
        List.of("--vla.tls.insecure=true", "--vla.controller.simulated-robots=0", "--vla.controller.remote-robots=arm-7",
            // The agent runs in this test's JVM; link loss has its own tests.
            "--vla.controller.link-timeout=10s", "--vla.controller.agent-address=127.0.0.1"),
        LOGS, List.of(AGENT_PORT));
    ServiceProcess gateway = null;
    List<ManagedChannel> channels = new ArrayList<>();
    long stepsForwarded;
    try {
      policy.awaitServing(Duration.ofSeconds(120));
      controller.awaitServing(Duration.ofSeconds(120));
      gateway = ServiceProcess.start("gateway", jar("planner-gateway"), HOME, List.of(),
          List.of("--vla.tls.insecure=true",
              "--vla.gateway.policy-target=dns:///127.0.0.1:" + policy.grpcPort(),
              "--vla.gateway.controller-target=dns:///127.0.0.1:" + controller.grpcPort()), LOGS);
      gateway.awaitServing(Duration.ofSeconds(120));
      ManagedChannel agentChannel = controller.channel(controller.port(AGENT_PORT));
      ManagedChannel controllerChannel = controller.channel();
      ManagedChannel gatewayChannel = gateway.channel();
      channels.addAll(List.of(agentChannel, controllerChannel, gatewayChannel));

      SimulatedRobot robot = new SimulatedRobot("arm-7", "tiny-sim", sceneWithRedBlock(11), 3);
      try (RobotAgent agent = robot.connectAgent(agentChannel)) {
        robot.awaitDriven(controllerChannel, Duration.ofSeconds(30));
        GatewaySession session = robot.runTask(gatewayChannel, "put the red block on the plate", Duration.ofSeconds(120));
        // However the task went, the session is what the recording must hold.
        session.awaitOutcome(Duration.ofSeconds(30));
      }
      stepsForwarded = robot.received().stream().filter(GatewayMessage::hasStepForwarded).count();
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
      if (gateway != null) {
        gateway.close();
      }
      controller.close();
      policy.close(); // SIGTERM: the recorder finishes the full recording
    }

    Path file;
    try (Stream<Path> files = Files.list(recordings)) {
      List<Path> full = files.filter(p -> p.getFileName().toString().matches("policy-service-arm-7-.*-full\\.mcap"))
          .toList();
      assertEquals(1, full.size(), "one full recording of arm-7: " + full);
      file = full.get(0);
    }

    // This project's reader: every inference with its input, answer and model; the frames as PNG.
    McapReader recording = McapReader.read(file);
    List<PolicyInference> inferences = new ArrayList<>();
    int frames = 0;
    String cameraTopic = null;
    for (McapReader.Message message : recording.messages()) {
      String topic = recording.channels().get(message.channelId()).topic();
      if (topic.equals("/policy/inferences")) {
        inferences.add(PolicyInference.parseFrom(message.data()));
      } else if (topic.startsWith("/camera/")) {
        cameraTopic = topic;
        CompressedImage image = CompressedImage.parseFrom(message.data());
        assertEquals("png", image.getFormat());
        BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(image.getData().toByteArray()));
        assertTrue(decoded != null && decoded.getWidth() > 0, "a PNG frame");
        frames++;
      }
    }
    assertTrue(inferences.size() >= stepsForwarded && stepsForwarded > 0,
        inferences.size() + " inferences recorded for " + stepsForwarded + " chunks forwarded");
    assertEquals(inferences.size(), frames, "one frame per inference");
    PolicyInference first = inferences.get(0);
    assertEquals("arm-7", first.getRobotId());
    assertEquals("tiny-vla", first.getModel().getName());
    assertEquals(64, first.getModel().getSha256().length());
    assertFalse(first.getInstruction().isEmpty());
    assertEquals(3L * first.getImageWidth() * first.getImageHeight(), first.getImageRgb8().size());
    assertTrue(inferences.stream().filter(i -> i.getError().isEmpty())
        .allMatch(i -> i.getChunk().getTokensCount() > 0
            && i.getChunk().getTokensCount() == i.getChunk().getTokenLogprobsCount()), "tokens and log-probabilities");

    // The reference reader, decoding with the schemas in the file.
    if (Files.isDirectory(NODE_READER.resolve("node_modules").resolve("@mcap").resolve("core"))
        || System.getenv("CI") != null) {
      JsonNode read = nodeRead(file);
      assertEquals(recording.messages().size(), read.get("statistics").get("messageCount").asInt());
      assertEquals(recording.messages().size(), read.get("messages").size());
      JsonNode decoded = read.get("decoded").get("/policy/inferences");
      assertEquals(inferences.size(), decoded.get("count").asInt());
      assertEquals("arm-7", decoded.get("first").get("robot_id").asString());
      assertEquals(first.getChunk().getTokensCount(), decoded.get("first").get("chunk").get("tokens").size());
      JsonNode camera = read.get("decoded").get(cameraTopic);
      assertEquals(frames, camera.get("count").asInt());
      assertEquals("png", camera.get("first").get("format").asString());
    }

    // vla replay, with the shipped model: every token again.
    Process replay = new ProcessBuilder(ServiceProcess.javaCommand(), "-jar",
        HOME.resolve("cli").resolve("target").resolve("vla-cli.jar").toString(), "replay", file.toString(),
        "--model", HOME.resolve("models").resolve("tiny-vla").toString())
        .redirectErrorStream(true).start();
    String output = new String(replay.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(replay.waitFor(300, TimeUnit.SECONDS), output);
    Files.writeString(LOGS.resolve("replay.txt"), output);
    assertEquals(0, replay.exitValue(), output);
    assertTrue(output.contains("the recorded model"), output);
    long replayed = inferences.stream().filter(i -> i.getError().isEmpty()).count();
    assertTrue(output.contains(replayed + " of " + replayed + " inferences identical (100.0%)"), output);
  }

  private static JsonNode nodeRead(Path file) throws Exception {
    Process node = new ProcessBuilder("node", NODE_READER.resolve("read-mcap.mjs").toString(), file.toString(),
        "--decode").redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(node.waitFor(120, TimeUnit.SECONDS) && node.exitValue() == 0, "the reference reader failed: " + output);
    return JsonMapper.builder().build().readTree(output);
  }

  private static Path jar(String module) {
    return HOME.resolve(module).resolve("target").resolve(module + ".jar");
  }
}
