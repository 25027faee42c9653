package io.vlaserve.controller.server;

import io.vlaserve.controller.messages.ControllerMessages;
import io.vlaserve.controller.messages.ProtoTime;
import com.google.protobuf.Message;
import io.vlaserve.controller.safety.SafetyAction;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.recorder.FlightRecorder;
import io.vlaserve.recorder.FullRecordings;
import io.vlaserve.recorder.ProtobufTopics;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The bridge's flight recorder: per robot, every chunk it was sent with its verdict, its execution
 * state (commanded and measured pose) every {@code state-period}, and its safety events, kept in a
 * 30 s ring that is written to an MCAP file when the robot is halted or e-stopped ("what happened
 * in the last 30 s"). Messages are the bridge's own protobuf messages with their schemas, so
 * Foxglove and any MCAP reader decode them. Recording never blocks the control loop: the loop is
 * never asked; the state is sampled off it, and a full queue drops messages (counted).
 *
 * <p>Thread-safe.
 */
public final class BridgeRecording implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BridgeRecording.class);

  /**
   * @param enabled whether the bridge records at all
   * @param directory where recordings go; unset: {@code $TMPDIR/vla-recordings/controller-bridge}
   * @param ringDuration how much of each robot the ring keeps
   * @param statePeriod how often each robot's execution state is recorded (1 ms: every tick's setpoint)
   * @param diskBudget the most bytes of recordings kept; the oldest go first
   * @param fullRobots robots recorded in full from the start; {@code *} for every robot
   */
  @ConfigurationProperties("vla.controller.recording")
  public record Properties(@DefaultValue("true") boolean enabled, Path directory,
      @DefaultValue("30s") Duration ringDuration, @DefaultValue("100ms") Duration statePeriod,
      @DefaultValue("2GB") org.springframework.util.unit.DataSize diskBudget,
      @DefaultValue("") java.util.Set<String> fullRobots) {
    public Properties {
      fullRobots = fullRobots == null ? java.util.Set.of()
          : java.util.Set.copyOf(fullRobots.stream().filter(r -> !r.isBlank()).toList());
    }
  }

  /** Wires the recording when {@code vla.controller.recording.enabled} (the default). */
  @org.springframework.context.annotation.Configuration
  @org.springframework.boot.context.properties.EnableConfigurationProperties(Properties.class)
  static class Wiring {
    @org.springframework.context.annotation.Bean(destroyMethod = "close")
    @org.springframework.boot.autoconfigure.condition.ConditionalOnProperty(name = "vla.controller.recording.enabled",
        havingValue = "true", matchIfMissing = true)
    BridgeRecording bridgeRecording(Properties properties, RobotFleet fleet,
        io.micrometer.core.instrument.MeterRegistry registry) throws IOException {
      BridgeRecording recording = new BridgeRecording(properties, fleet, ProtoTime.system());
      io.micrometer.core.instrument.FunctionCounter.builder("vla.controller.recording.dropped", recording.recorder(),
              FlightRecorder::dropped)
          .description("Messages the flight recorder dropped because its writer was behind (recording never blocks)")
          .register(registry);
      io.micrometer.core.instrument.FunctionCounter.builder("vla.controller.recording.files", recording.recorder(),
              FlightRecorder::filesWritten)
          .description("MCAP files the flight recorder wrote (a robot's last 30 s on each halt or e-stop)")
          .register(registry);
      return recording;
    }
  }

  static final FlightRecorder.Topic CHUNKS = ProtobufTopics.topic("/chunks", io.vlaserve.controller.v1.ExecuteRequest.getDescriptor());
  static final FlightRecorder.Topic VERDICTS =
      ProtobufTopics.topic("/chunk_verdicts", io.vlaserve.controller.v1.ExecuteResponse.getDescriptor());
  static final FlightRecorder.Topic STATE = ProtobufTopics.topic("/execution_state", ExecutionState.getDescriptor());
  static final FlightRecorder.Topic EVENTS = ProtobufTopics.topic("/safety_events", SafetyEvent.getDescriptor());
  /** Latched: the robot's limits in force, at the start of every file (a replay runs under them). */
  static final FlightRecorder.Topic LIMITS =
      ProtobufTopics.topic("/safety_limits", io.vlaserve.controller.v1.SafetyLimits.getDescriptor());
  /** Latched: the settings of the robot's current Execute stream, every one specified. */
  static final FlightRecorder.Topic EXECUTION =
      ProtobufTopics.topic("/execute_start", io.vlaserve.controller.v1.ExecuteStart.getDescriptor());

  private final FlightRecorder recorder;
  private final FullRecordings full;
  private final ScheduledExecutorService sampler;

  BridgeRecording(Properties properties, RobotFleet fleet, ProtoTime time) throws IOException {
    Path directory = properties.directory() != null ? properties.directory()
        : Path.of(System.getProperty("java.io.tmpdir"), "vla-recordings", "controller-bridge");
    recorder = new FlightRecorder(new FlightRecorder.Options(directory, "controller-bridge",
        properties.ringDuration(), 64L << 20, 65_536, 256L << 20, properties.diskBudget().toBytes()));
    this.full = new FullRecordings(recorder, properties.fullRobots());
    for (Robot robot : fleet.robots()) {
      limitsChanged(robot.id(), robot.controller().limits());
      full.seen(robot.id());
      robot.subscribe(event -> {
        SafetyEvent message = ControllerMessages.event(event, time);
        record(EVENTS, robot.id(), message);
        if (event.action() == SafetyAction.HALT) {
          String reason = event.kind().name().toLowerCase(Locale.ROOT);
          recorder.flushRing(robot.id(), reason).whenComplete((file, failure) -> {
            if (file != null) {
              log.info("robot {} {}: its last {} s recorded in {}", robot.id(), reason,
                  properties.ringDuration().toSeconds(), file);
            } else if (failure != null) {
              log.warn("robot {} {}: its recording could not be written: {}", robot.id(), reason, failure.toString());
            }
          });
        }
      });
    }
    sampler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("bridge-recording")
        .factory());
    long period = Math.max(1, properties.statePeriod().toMillis());
    sampler.scheduleAtFixedRate(() -> {
      for (Robot robot : fleet.robots()) {
        var state = robot.state();
        if (state.ready) {
          record(STATE, robot.id(), ControllerMessages.state(robot.id(), state, null, time));
        }
      }
    }, period, period, TimeUnit.MILLISECONDS);
  }

  /**
   * Switches {@code robotId}'s full recording on for an Execute stream that asked (ExecuteStart.record),
   * or off when it ends; robots recorded in full by configuration stay so.
   */
  void recordStream(String robotId, boolean on) {
    if (on) {
      full.sessionStarted(robotId);
    } else {
      full.sessionEnded(robotId);
    }
  }

  /** Keeps {@code limits} as {@code robotId}'s limits in force for every file from now on. */
  void limitsChanged(String robotId, io.vlaserve.controller.safety.SafetyLimits limits) {
    recorder.latch(LIMITS, robotId, FlightRecorder.epochNanos(), ControllerMessages.limits(robotId, limits)
        .toByteArray());
  }

  /** Keeps the settings of {@code robotId}'s new Execute stream for every file from now on. */
  void executionStarted(String robotId, io.vlaserve.controller.ExecutionSettings settings) {
    recorder.latch(EXECUTION, robotId, FlightRecorder.epochNanos(), ControllerMessages.start(robotId, settings)
        .toByteArray());
  }

  /** Records a message of {@code robotId}'s, stamped now. */
  void record(FlightRecorder.Topic topic, String robotId, Message message) {
    recorder.record(topic, robotId, FlightRecorder.epochNanos(), message.toByteArray());
  }

  /** Messages dropped because the writer was behind. */
  long dropped() {
    return recorder.dropped();
  }

  FlightRecorder recorder() {
    return recorder;
  }

  @Override
  public void close() throws InterruptedException {
    sampler.shutdownNow();
    recorder.close();
  }
}
