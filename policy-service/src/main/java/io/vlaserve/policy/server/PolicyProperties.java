package io.vlaserve.policy.server;

import java.nio.file.Path;
import java.time.Duration;
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
 * @param resizeImages resize frames of another size (bilinear) instead of refusing them
 * @param warmupRuns inferences run before health reports SERVING
 * @param observationDeadline a session observation older than this when compute would start is dropped
 */
@ConfigurationProperties("vla.policy")
public record PolicyProperties(
    @DefaultValue("models/tiny-vla") String model,
    @DefaultValue("auto") String engine,
    @DefaultValue("1") int threads,
    @DefaultValue("false") boolean fp16,
    @DefaultValue("-1") int onnxruntimeCudaDevice,
    @DefaultValue("4MB") DataSize maxImageBytes,
    @DefaultValue("true") boolean resizeImages,
    @DefaultValue("3") int warmupRuns,
    @DefaultValue("2s") Duration observationDeadline) {

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
