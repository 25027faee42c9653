package io.vlaserve.policy.server;

import io.vlaserve.policy.batching.SchedulerConfig;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * How the policy service loads and runs its model.
 *
 * @param model model package folder; relative paths resolve against {@code $VLA_HOME}, else the working directory
 * @param engine {@code auto}, {@code onnxruntime} or {@code tensorrt}
 * @param threads intra-op threads per graph run (ONNX Runtime)
 * @param fp16 build TensorRT engines in FP16 (faster, logits within ~5e-2 of FP32)
 * @param onnxruntimeCudaDevice CUDA device for ONNX Runtime's CUDA provider (onnxruntime_gpu builds), -1 for CPU
 * @param maxImageBytes largest accepted encoded frame
 * @param maxActBody largest accepted {@code POST /act} body (413 beyond it); unset, enough for a json-numpy
 *     image of {@code maxImageBytes} (RGBA, base64: 16/9 of it) and 64 KB of other fields
 * @param maxDecodedPixels decoded pixels in flight over all concurrent JPEG/PNG decodes (default two 4096x4096
 *     frames, about 200 MB of bitmaps); a decode that would exceed it waits
 * @param decodeWait how long a decode waits for the pixel budget before RESOURCE_EXHAUSTED (HTTP 429)
 * @param resizeImages resize frames of another size (bilinear) instead of refusing them
 * @param warmupRuns inferences run in process before health reports SERVING (the engine's warm-up)
 * @param warmupCalls Infer calls the service then sends its own gRPC port before health reports SERVING, so the
 *     serving path is compiled before the first robot's call ({@link ServingPathWarmup}); 0 turns it off
 * @param observationDeadline a session observation (or a unary call without a deadline, or a {@code POST /act})
 *     still queued this long after arrival is dropped with DEADLINE_EXCEEDED, before compute
 * @param batching the continuous-batching scheduler's knobs
 * @param openpi openpi's WebSocket policy protocol on the HTTP port (docs/openpi.md)
 */
@ConfigurationProperties("vla.policy")
public record PolicyProperties(
    @DefaultValue(ModelPackage.SHIPPED) String model,
    @DefaultValue("auto") String engine,
    @DefaultValue("1") int threads,
    @DefaultValue("false") boolean fp16,
    @DefaultValue("-1") int onnxruntimeCudaDevice,
    @DefaultValue("4MB") DataSize maxImageBytes,
    DataSize maxActBody,
    @DefaultValue("33554432") long maxDecodedPixels,
    @DefaultValue("100ms") Duration decodeWait,
    @DefaultValue("true") boolean resizeImages,
    @DefaultValue("3") int warmupRuns,
    @DefaultValue("0") int warmupCalls,
    @DefaultValue("2s") Duration observationDeadline,
    @DefaultValue Batching batching,
    @DefaultValue Openpi openpi) {

  /**
   * openpi's WebSocket policy protocol ({@code openpi_client.WebsocketClientPolicy}).
   *
   * @param enabled serve it
   * @param imageKey the observation key of the camera image (a path through nested dicts with "/" if no key is
   *     literally this)
   * @param cameraKeys for a model with several cameras, each camera's image key by camera name; a camera
   *     not named here reads the first camera's from image-key and any other's from
   *     {@code observation/<camera>_image} (LIBERO's {@code observation/wrist_image})
   * @param stateKey the observation key of the robot state, the model's proprioception
   * @param promptKey the observation key of the instruction
   * @param maxMessage largest accepted observation message; the connection is closed (1009) beyond it. The
   *     WebSocket container keeps a buffer this large per connection: 1 MB holds three 224x224 RGB cameras
   * @param maxConnections openpi connections at once; a handshake beyond it is refused with 503, so
   *     connections times max-message bounds the buffers
   */
  public record Openpi(
      @DefaultValue("true") boolean enabled,
      @DefaultValue("observation/image") String imageKey,
      Map<String, String> cameraKeys,
      @DefaultValue("observation/state") String stateKey,
      @DefaultValue("prompt") String promptKey,
      @DefaultValue("1MB") DataSize maxMessage,
      @DefaultValue("64") int maxConnections) {}

  /** The openpi message limit in bytes. */
  public int maxOpenpiMessageBytes() {
    return (int) Math.min(openpi.maxMessage().toBytes(), Integer.MAX_VALUE - 16);
  }

  /**
   * Continuous batching (see policy-service/README.md).
   *
   * @param maxBatchSize sequences decoded together at most (1 turns batching off); KV cache slots for this
   *     many are allocated at start
   * @param maxQueueDelay how long an idle replica waits for more requests before starting a smaller batch
   * @param maxQueued requests waiting for admission over all robots; beyond it RESOURCE_EXHAUSTED
   * @param maxQueuedPerRobot requests one robot may have waiting; beyond it that robot gets RESOURCE_EXHAUSTED
   * @param minRetryAfter the smallest retry delay suggested with RESOURCE_EXHAUSTED
   */
  public record Batching(
      @DefaultValue("64") int maxBatchSize,
      @DefaultValue("4") int maxPrefillBatch,
      @DefaultValue("0ms") Duration maxQueueDelay,
      @DefaultValue("256") int maxQueued,
      @DefaultValue("4") int maxQueuedPerRobot,
      @DefaultValue("10ms") Duration minRetryAfter) {

    public SchedulerConfig toConfig() {
      return new SchedulerConfig(maxBatchSize, maxPrefillBatch, maxQueueDelay, maxQueued, maxQueuedPerRobot, minRetryAfter);
    }
  }

  /** The {@code POST /act} body limit in bytes: as configured, else derived from {@link #maxImageBytes}. */
  public long maxActBodyBytes() {
    long bytes = maxActBody != null ? maxActBody.toBytes() : maxImageBytes.toBytes() * 16 / 9 + 64 * 1024;
    return Math.min(bytes, Integer.MAX_VALUE - 16); // one array holds the body
  }

  /** The model folder, resolved. */
  public Path resolvedModel() {
    // A plain string, not Path: Spring would convert a Path through its resource loader, which refuses "../".
    Path path = Path.of(model);
    if (path.isAbsolute()) {
      return path;
    }
    String home = System.getenv("VLA_HOME");
    return (home != null ? Path.of(home) : Path.of("")).toAbsolutePath().resolve(path).normalize();
  }
}
