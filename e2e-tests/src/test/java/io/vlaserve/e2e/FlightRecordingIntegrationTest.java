package io.vlaserve.e2e;

import static io.vlaserve.e2e.Scenes.sceneWithRedBlock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.vlaserve.foxglove.CompressedImage;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.recorder.mcap.McapReader;
import io.vlaserve.recorder.v1.PolicyInference;
import io.vlaserve.robot.client.GatewaySession;
import io.vlaserve.robot.client.RobotAgent;
import io.vlaserve.robot.sim.SimulatedRobot;
import io.vlaserve.testing.Await;
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
 * A robot's session recorded as an operator would use it: the services run from their jars on real
 * sockets, the robot asks for its session to be recorded in full (SessionOpen.record), and once the
 * session has ended, the gateway's and the policy's files are complete and read back three ways: by
 * this project's reader, by the reference TypeScript reader ({@code @mcap/core}, decoding every
 * protobuf message with the schema the file carries, as Foxglove does), and by {@code vla replay},
 * which must decode every recorded inference's tokens again identically.
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
            "--vla.policy.recording.directory=" + recordings), LOGS);
    ServiceProcess controller = ServiceProcess.start("controller", jar("controller-bridge"), HOME, List.of(),
        List.of("--vla.tls.insecure=true", "--vla.controller.simulated-robots=0", "--vla.controller.remote-robots=arm-7",
            // The agent runs in this test's JVM; link loss has its own tests.
            "--vla.controller.link-timeout=10s", "--vla.controller.agent-address=127.0.0.1",
            "--vla.controller.recording.directory=" + recordings),
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
              "--vla.gateway.controller-target=dns:///127.0.0.1:" + controller.grpcPort(),
              "--vla.gateway.recording.directory=" + recordings), LOGS);
      gateway.awaitServing(Duration.ofSeconds(120));
      ManagedChannel agentChannel = controller.channel(controller.port(AGENT_PORT));
      ManagedChannel controllerChannel = controller.channel();
      ManagedChannel gatewayChannel = gateway.channel();
      channels.addAll(List.of(agentChannel, controllerChannel, gatewayChannel));

      SimulatedRobot robot = new SimulatedRobot("arm-7", "tiny-sim", sceneWithRedBlock(11), 3).recordSessions(true);
      try (RobotAgent agent = robot.connectAgent(agentChannel)) {
        robot.awaitDriven(controllerChannel, Duration.ofSeconds(30));
        GatewaySession session = robot.runTask(gatewayChannel, "put the red block on the plate", Duration.ofSeconds(120));
        // However the task went, the session is what the recording must hold.
        session.awaitOutcome(Duration.ofSeconds(30));
      }
      stepsForwarded = robot.received().stream().filter(GatewayMessage::hasStepForwarded).count();
      // The session has ended: both services finish its recording (renamed into place when complete).
      // (The gateway may have opened more than one policy session for it: a file each.)
      Await.until(() -> !recordingsOf(recordings, "policy-service").isEmpty()
          && recordingsOf(recordings, "planner-gateway").size() == 1
          && recordingsOf(recordings, "controller-bridge").size() == 1 && partials(recordings).isEmpty(),
          "the session's recordings");
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
      if (gateway != null) {
        gateway.close();
      }
      controller.close();
      policy.close();
    }
    List<Path> policyFiles = recordingsOf(recordings, "policy-service");
    Path bridgeFile = recordingsOf(recordings, "controller-bridge").get(0);

    // The bridge's: the chunks it was forwarded, under the limits and settings it records first,
    // replayed through a simulated controller.
    McapReader bridgeRecording = McapReader.read(bridgeFile);
    long chunksRecorded = bridgeRecording.messages().stream()
        .filter(m -> bridgeRecording.channels().get(m.channelId()).topic().equals("/chunks")).count();
    assertEquals(stepsForwarded, chunksRecorded, "every chunk forwarded to the bridge");
    var bridgeReplay = io.vlaserve.controller.messages.BridgeReplay.replay(bridgeFile);
    assertEquals("arm-7", bridgeReplay.robot());
    assertTrue(bridgeReplay.chunks() > 0 && bridgeReplay.states() > 0, bridgeReplay.toString());
    Files.writeString(LOGS.resolve("bridge-replay.txt"), bridgeReplay.toString());
    Path gatewayFile = recordingsOf(recordings, "planner-gateway").get(0);

    // The gateway's: the session both ways, from the open to the outcome, frames without pixels.
    McapReader gatewayRecording = McapReader.read(gatewayFile);
    List<RobotMessage> sent = new ArrayList<>();
    List<GatewayMessage> told = new ArrayList<>();
    for (McapReader.Message message : gatewayRecording.messages()) {
      switch (gatewayRecording.channels().get(message.channelId()).topic()) {
        case "/robot/messages" -> sent.add(RobotMessage.parseFrom(message.data()));
        case "/gateway/messages" -> told.add(GatewayMessage.parseFrom(message.data()));
        default -> throw new AssertionError(gatewayRecording.channels().get(message.channelId()).toString());
      }
    }
    assertTrue(sent.get(0).hasOpen() && sent.get(0).getOpen().getRecord(), "the open first");
    assertTrue(told.get(told.size() - 1).hasOutcome(), "the outcome last");
    assertEquals(stepsForwarded, told.stream().filter(GatewayMessage::hasStepForwarded).count());
    assertTrue(sent.stream().filter(RobotMessage::hasObservation)
        .allMatch(m -> m.getObservation().getObservation().getImagesList().stream().allMatch(i -> i.getData().isEmpty())));

    // This project's reader: every inference with its input, answer and model; the frames as PNG.
    List<PolicyInference> inferences = new ArrayList<>();
    int frames = 0;
    String cameraTopic = null;
    for (Path policyFile : policyFiles) {
      McapReader recording = McapReader.read(policyFile);
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
    }
    Path file = policyFiles.get(0);
    McapReader recording = McapReader.read(file);
    int framesInFirst = (int) recording.messages().stream()
        .filter(m -> recording.channels().get(m.channelId()).topic().startsWith("/camera/")).count();
    long inferencesInFirst = recording.messages().size() - framesInFirst;
    assertTrue(inferences.size() >= stepsForwarded && stepsForwarded > 0,
        inferences.size() + " inferences recorded for " + stepsForwarded + " chunks forwarded");
    assertEquals(inferences.size(), frames, "one frame per inference");
    PolicyInference first = inferences.get(0);
    assertEquals("arm-7", first.getRobotId());
    assertEquals("tiny-vla-parallel", first.getModel().getName());
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
      assertEquals(inferencesInFirst, decoded.get("count").asInt());
      assertEquals("arm-7", decoded.get("first").get("robot_id").asString());
      assertEquals(first.getChunk().getTokensCount(), decoded.get("first").get("chunk").get("tokens").size());
      JsonNode camera = read.get("decoded").get(cameraTopic);
      assertEquals(framesInFirst, camera.get("count").asInt());
      assertEquals("png", camera.get("first").get("format").asString());
    }

    // vla replay, with the model the service ran by default (the shipped tiny-vla-parallel): every token again.
    List<String> command = new ArrayList<>(List.of(ServiceProcess.javaCommand(), "-jar",
        HOME.resolve("cli").resolve("target").resolve("vla-cli.jar").toString(), "replay"));
    policyFiles.forEach(f -> command.add(f.toString()));
    command.addAll(List.of("--model", HOME.resolve("models").resolve("tiny-vla-parallel").toString()));
    Process replay = new ProcessBuilder(command).redirectErrorStream(true).start();
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

  /** Recordings of arm-7 still being written. */
  private static List<Path> partials(Path directory) {
    try (Stream<Path> files = Files.list(directory)) {
      return files.filter(p -> p.getFileName().toString().matches(".*-arm-7-.*\\.mcap\\.part")).toList();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The complete (renamed into place) full recordings of arm-7 by {@code service}. */
  private static List<Path> recordingsOf(Path directory, String service) {
    try (Stream<Path> files = Files.list(directory)) {
      return files.filter(p -> p.getFileName().toString().matches(service + "-arm-7-.*-full\\.mcap")).toList();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static Path jar(String module) {
    return HOME.resolve(module).resolve("target").resolve(module + ".jar");
  }
}
