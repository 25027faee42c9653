package io.vlaserve.planner.gateway;

import com.google.protobuf.ByteString;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vlaserve.common.v1.Image;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.recorder.FlightRecorder;
import io.vlaserve.recorder.FullRecordings;
import io.vlaserve.recorder.ProtobufTopics;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.unit.DataSize;

/**
 * The gateway's flight recorder: per robot, every message of its session both ways, the robot's
 * ({@code /robot/messages}, {@code vla.planner.v1.RobotMessage}: opens, observations with their
 * state, halts, resumes, cancels) and the gateway's ({@code /gateway/messages}, {@code
 * GatewayMessage}: plans, subgoal events, safety events, holds, steps forwarded, the outcome).
 * Observations are kept without their pixels (the image's camera, encoding and size stay):
 * policy-service records the frames the model saw. Each robot's last 30 s are kept in memory and
 * written to a file when its session fails; robots named in {@code full-robots} ({@code *}: all)
 * are recorded in full.
 *
 * <p>Never blocks a session: the session thread only queues the message; stripping and encoding
 * happen on the recorder's writer thread (a full queue drops, counted). Thread-safe.
 */
public final class GatewayRecording implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GatewayRecording.class);
  static final FlightRecorder.Topic ROBOT_MESSAGES =
      ProtobufTopics.topic("/robot/messages", RobotMessage.getDescriptor());
  static final FlightRecorder.Topic GATEWAY_MESSAGES =
      ProtobufTopics.topic("/gateway/messages", GatewayMessage.getDescriptor());

  /**
   * @param enabled whether the gateway records at all
   * @param directory where recordings go; unset: {@code $TMPDIR/vla-recordings/planner-gateway}
   * @param ringDuration how much of each robot the in-memory ring keeps
   * @param diskBudget the most bytes of recordings kept; the oldest go first
   * @param fullRobots robots recorded in full from their session's first message; {@code *} for every robot
   */
  @ConfigurationProperties("vla.gateway.recording")
  public record Properties(@DefaultValue("true") boolean enabled, Path directory,
      @DefaultValue("30s") Duration ringDuration, @DefaultValue("2GB") DataSize diskBudget,
      @DefaultValue("") Set<String> fullRobots) {
    public Properties {
      fullRobots = fullRobots == null ? Set.of() : Set.copyOf(fullRobots.stream().filter(r -> !r.isBlank()).toList());
    }
  }

  /** Wires the recording when {@code vla.gateway.recording.enabled} (the default). */
  @Configuration
  @EnableConfigurationProperties(Properties.class)
  static class Wiring {
    @Bean(destroyMethod = "close")
    @ConditionalOnProperty(name = "vla.gateway.recording.enabled", havingValue = "true", matchIfMissing = true)
    GatewayRecording gatewayRecording(Properties properties, MeterRegistry registry) throws IOException {
      GatewayRecording recording = new GatewayRecording(properties);
      FunctionCounter.builder("vla.gateway.recording.dropped", recording.recorder(), FlightRecorder::dropped)
          .description("Messages the flight recorder dropped because its writer was behind (recording never blocks)")
          .register(registry);
      FunctionCounter.builder("vla.gateway.recording.files", recording.recorder(), FlightRecorder::filesWritten)
          .description("MCAP files the flight recorder wrote (rings flushed on failed sessions, full recordings)")
          .register(registry);
      return recording;
    }
  }

  private final FlightRecorder recorder;
  private final Properties properties;
  private final FullRecordings full;
  /** Robots whose session here asked to be recorded in full (SessionOpen.record), until it ends. */
  private final Set<String> recordedForTheirSession = ConcurrentHashMap.newKeySet();

  GatewayRecording(Properties properties) throws IOException {
    Path directory = properties.directory() != null ? properties.directory()
        : Path.of(System.getProperty("java.io.tmpdir"), "vla-recordings", "planner-gateway");
    this.recorder = new FlightRecorder(new FlightRecorder.Options(directory, "planner-gateway",
        properties.ringDuration(), 64L << 20, 65_536, 256L << 20, properties.diskBudget().toBytes()));
    this.properties = properties;
    this.full = new FullRecordings(recorder, properties.fullRobots());
  }

  /** Records a message {@code robotId}'s robot sent. */
  void fromRobot(String robotId, RobotMessage message) {
    full.seen(robotId);
    recorder.record(ROBOT_MESSAGES, robotId, FlightRecorder.epochNanos(), () -> withoutPixels(message).toByteArray());
  }

  /** Records a message the gateway sent {@code robotId}'s robot; a failed outcome writes its ring. */
  void toRobot(String robotId, GatewayMessage message) {
    full.seen(robotId);
    recorder.record(GATEWAY_MESSAGES, robotId, FlightRecorder.epochNanos(), message::toByteArray);
    if (message.hasOutcome() && message.getOutcome().getOutcome() == Outcome.OUTCOME_FAILED) {
      String reason = message.getOutcome().getReason();
      recorder.flushRing(robotId, "session-failed").whenComplete((file, failure) -> {
        if (file != null) {
          log.info("robot {}: session failed ({}); its last {} s recorded in {}", robotId, reason,
              properties.ringDuration().toSeconds(), file);
        }
      });
    }
  }

  /** A session of {@code robotId}'s was admitted; {@code record}: it asked to be recorded in full. */
  void sessionOpened(String robotId, boolean record) {
    if (record && recordedForTheirSession.add(robotId)) {
      full.sessionStarted(robotId);
    }
  }

  /** {@code robotId}'s session ended: a recording it asked for is finished (its file complete). */
  void sessionEnded(String robotId) {
    if (recordedForTheirSession.remove(robotId)) {
      full.sessionEnded(robotId);
    }
  }

  /** {@code message} with its observation's image data left out (the rest of each image stays). */
  static RobotMessage withoutPixels(RobotMessage message) {
    if (!message.hasObservation() || message.getObservation().getObservation().getImagesCount() == 0) {
      return message;
    }
    RobotMessage.Builder stripped = message.toBuilder();
    for (Image.Builder image : stripped.getObservationBuilder().getObservationBuilder().getImagesBuilderList()) {
      image.setData(ByteString.EMPTY);
    }
    return stripped.build();
  }

  FlightRecorder recorder() {
    return recorder;
  }

  @Override
  public void close() throws InterruptedException {
    recorder.close();
  }
}
