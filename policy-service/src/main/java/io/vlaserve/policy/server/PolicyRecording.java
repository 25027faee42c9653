package io.vlaserve.policy.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.grpc.Status;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.common.v1.CommittedPrefix;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.PolicyResult;
import io.vlaserve.policy.batching.ScheduledResult;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.recorder.CameraFrames;
import io.vlaserve.recorder.FlightRecorder;
import io.vlaserve.recorder.FullRecordings;
import io.vlaserve.recorder.ProtobufTopics;
import io.vlaserve.recorder.v1.CameraInput;
import io.vlaserve.recorder.v1.ModelIdentity;
import io.vlaserve.recorder.v1.PolicyInference;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
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
 * policy-service's flight recorder: per robot, every inference with what it takes to run it again
 * (the model's input image and proprioception, the instruction, the observation's own sampling
 * parameters and committed prefix, the model's identity) and what came out (actions, tokens,
 * log-probabilities, timings), as {@code vla.recorder.v1.PolicyInference} on {@code
 * /policy/inferences}; and the image as {@code foxglove.CompressedImage} (PNG) on {@code
 * /camera/<name>}, so Foxglove shows what the model saw. Each robot's last 30 s are kept in memory
 * and written to a file when an inference fails inside the engine; robots named in {@code
 * full-robots} ({@code *}: all) are recorded in full. {@code vla replay} runs a recording again.
 *
 * <p>Recording never blocks inference: the caller only queues references, and the recorder's
 * writer thread builds, compresses and writes the messages (a full queue drops, counted), and only
 * those it writes to a file: the ring keeps the rest unencoded.
 * Thread-safe.
 */
public final class PolicyRecording implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PolicyRecording.class);
  /** A recorded inference beyond its frame, about (actions, tokens, log-probabilities, timings). */
  private static final int INFERENCE_OVERHEAD_BYTES = 1024;
  static final FlightRecorder.Topic INFERENCES =
      ProtobufTopics.topic("/policy/inferences", PolicyInference.getDescriptor());

  /**
   * @param enabled whether the service records at all
   * @param directory where recordings go; unset: {@code $TMPDIR/vla-recordings/policy-service}
   * @param ringDuration how much of each robot the in-memory ring keeps
   * @param diskBudget the most bytes of recordings kept; the oldest go first
   * @param fullRobots robots recorded in full from their first inference; {@code *} for every robot
   */
  @ConfigurationProperties("vla.policy.recording")
  public record Properties(@DefaultValue("true") boolean enabled, Path directory,
      @DefaultValue("30s") Duration ringDuration, @DefaultValue("2GB") DataSize diskBudget,
      @DefaultValue("") Set<String> fullRobots) {
    public Properties {
      fullRobots = fullRobots == null ? Set.of() : Set.copyOf(fullRobots.stream().filter(r -> !r.isBlank()).toList());
    }
  }

  /** Wires the recording when {@code vla.policy.recording.enabled} (the default). */
  @Configuration
  @EnableConfigurationProperties(Properties.class)
  static class Wiring {
    @Bean(destroyMethod = "close")
    @ConditionalOnProperty(name = "vla.policy.recording.enabled", havingValue = "true", matchIfMissing = true)
    PolicyRecording policyRecording(Properties properties, PolicyRuntime runtime, MeterRegistry registry)
        throws IOException {
      PolicyRecording recording = new PolicyRecording(properties, runtime.model(), runtime.engine().name());
      FunctionCounter.builder("vla.policy.recording.dropped", recording.recorder(), FlightRecorder::dropped)
          .description("Messages the flight recorder dropped because its writer was behind (recording never blocks)")
          .register(registry);
      FunctionCounter.builder("vla.policy.recording.files", recording.recorder(), FlightRecorder::filesWritten)
          .description("MCAP files the flight recorder wrote (rings flushed on engine failures, full recordings)")
          .register(registry);
      return recording;
    }
  }

  private final FlightRecorder recorder;
  private final Properties properties;
  private final ModelPackage model;
  private final String engine;
  private final java.util.List<FlightRecorder.Topic> cameras;
  private final FullRecordings full;
  /** Computed on the writer's thread at the first message: hashing a real model's graphs takes seconds. */
  private volatile ModelIdentity identity;

  PolicyRecording(Properties properties, ModelPackage model, String engine) throws IOException {
    Path directory = properties.directory() != null ? properties.directory()
        : Path.of(System.getProperty("java.io.tmpdir"), "vla-recordings", "policy-service");
    this.recorder = new FlightRecorder(new FlightRecorder.Options(directory, "policy-service",
        properties.ringDuration(), 64L << 20, 65_536, 256L << 20, properties.diskBudget().toBytes()));
    this.properties = properties;
    this.model = model;
    this.engine = engine;
    this.cameras = model.cameras().stream().map(c -> CameraFrames.topic(c.name())).toList();
    this.full = new FullRecordings(recorder, properties.fullRobots());
  }

  /** Switches {@code robot}'s recording on for a session that asked, or off when it ends. */
  void recordSession(String robot, boolean on) {
    if (on) {
      full.sessionStarted(robot);
    } else {
      full.sessionEnded(robot);
    }
  }

  /**
   * Records one inference: {@code request} as the scheduler ran it, and its {@code result} or its
   * {@code failure}. Only queues references; call it from any thread.
   *
   * @param receivedNanos when the observation arrived, {@link System#nanoTime()}
   */
  void record(PolicyFrontDoor.Observation observation, PolicyRequest request, long receivedNanos,
      PolicyFrontDoor.Answer answer, Throwable failure) {
    String robot = observation.robot();
    full.seen(robot);
    long received = FlightRecorder.epochNanos() - (System.nanoTime() - receivedNanos);
    // Encoded only if written to a file (most inferences only pass through the ring): the encoders
    // hold the request's own frame, not the observation's encoded one, and nothing else large.
    Origin origin = new Origin(robot, observation.session() == null ? 0 : observation.session().id(),
        observation.sequence(), observation.receivedNanos());
    int offset = 0;
    for (int c = 0; c < cameras.size(); c++) {
      ModelPackage.CameraInput input = model.cameras().get(c);
      int from = offset;
      // Size hint 0: the ring counts the frame once, with the inference that holds it too.
      recorder.recordWhenWritten(cameras.get(c), robot, received, 0, () -> CameraFrames.compressedImage(input.name(),
          received, cameras.size() == 1 ? request.image()
              : java.util.Arrays.copyOfRange(request.image(), from, from + input.frameBytes()),
          input.width(), input.height()));
      offset += input.frameBytes();
    }
    recorder.recordWhenWritten(INFERENCES, robot, received, request.image().length + INFERENCE_OVERHEAD_BYTES,
        () -> inference(origin, request, received, answer, failure).toByteArray());
    if (failure != null && PolicyStatus.of(failure).getCode() == Status.Code.INTERNAL) {
      recorder.flushRing(robot, "engine-failure").whenComplete((file, error) -> {
        if (file != null) {
          log.warn("robot {}: inference failed ({}); its last {} s recorded in {}", robot, failure.getMessage(),
              properties.ringDuration().toSeconds(), file);
        }
      });
    }
  }

  /** What an inference record needs of its observation (not its encoded frames). */
  private record Origin(String robot, long session, long sequence, long receivedNanos) {}

  private PolicyInference inference(Origin observation, PolicyRequest request, long received,
      PolicyFrontDoor.Answer answer, Throwable failure) {
    SamplingParams sampling = request.sampling();
    PolicyInference.Builder inference = PolicyInference.newBuilder()
        .setRobotId(observation.robot())
        .setSession(observation.session())
        .setObservationSequence(observation.sequence())
        .setModel(identity())
        .setInstruction(request.instruction())
        .setChunkLength(request.chunkLength())
        .setSampling(io.vlaserve.policy.v1.SamplingParams.newBuilder()
            .setTemperature((float) sampling.temperature()).setTopK(sampling.topK())
            .setTopP((float) sampling.topP()).setSeed(sampling.seed()))
        .setReceivedTime(Timestamps.fromNanos(received));
    if (model.cameras().size() == 1) {
      inference.setImageRgb8(ByteString.copyFrom(request.image())).setImageWidth(model.imageWidth())
          .setImageHeight(model.imageHeight());
    } else {
      int offset = 0;
      for (ModelPackage.CameraInput camera : model.cameras()) {
        inference.addCameras(CameraInput.newBuilder().setCamera(camera.name())
            .setRgb8(ByteString.copyFrom(request.image(), offset, camera.frameBytes()))
            .setWidth(camera.width()).setHeight(camera.height()));
        offset += camera.frameBytes();
      }
    }
    if (request.proprio() != null) {
      for (float value : request.proprio()) {
        inference.addProprio(value);
      }
    }
    double[][] prefix = request.committedPrefix();
    if (prefix.length > 0) {
      CommittedPrefix.Builder committed = inference.getCommittedPrefixBuilder()
          .setStepPeriod(Durations.fromNanos(model.stepPeriod().toNanos()));
      for (double[] step : prefix) {
        ActionVector.Builder vector = committed.addStepsBuilder();
        for (double value : step) {
          vector.addValues(value);
        }
      }
    }
    if (failure != null) {
      return inference.setError(PolicyStatus.of(failure).toString()).build();
    }
    ScheduledResult scheduled = answer.scheduled();
    PolicyResult result = scheduled.result();
    inference.setChunk(PolicyMessages.chunkOf(model, result).setObservationSequence(observation.sequence())
        .setFirstStep(request.prefixSteps()));
    inference.setTiming(PolicyMessages.timing(scheduled.queueNanos(), answer.preprocessedNanos() - observation
        .receivedNanos(), result, answer.finishedNanos() - observation.receivedNanos()));
    return inference.setLargestBatch(scheduled.largestBatch()).build();
  }

  private ModelIdentity identity() {
    ModelIdentity known = identity;
    if (known == null) {
      known = identity = identify(model, engine);
    }
    return known;
  }

  /** The model's name, version, engine and the SHA-256 of its graphs (prefill, then decode). */
  static ModelIdentity identify(ModelPackage model, String engine) {
    return ModelIdentity.newBuilder().setName(model.name()).setVersion(model.version()).setEngine(engine)
        .setSha256(model.graphsSha256()).build();
  }

  FlightRecorder recorder() {
    return recorder;
  }

  @Override
  public void close() throws InterruptedException {
    recorder.close();
  }
}
