package io.vlaserve.policy.server;

import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.engine.VlaEngine;
import io.vlaserve.policy.engine.tensorrt.TensorRtAvailability;
import io.vlaserve.policy.engine.tensorrt.TensorRtEngine;
import io.vlaserve.policy.model.ModelPackage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the inference engine from configuration: {@code onnxruntime}, {@code tensorrt}, or
 * {@code auto}, which takes TensorRT only where the CUDA driver, a device and the libraries load
 * (and the engine builds), and otherwise ONNX Runtime on the CPU, logging why.
 */
final class EngineSelector {
  private static final Logger log = LoggerFactory.getLogger(EngineSelector.class);

  private EngineSelector() {}

  static VlaEngine select(String choice, ModelPackage model, int threads, boolean fp16, int ortCudaDevice) {
    return switch (choice) {
      case "onnxruntime" -> checked(new OnnxRuntimeEngine(model, threads, ortCudaDevice));
      case "tensorrt" -> {
        TensorRtAvailability trt = TensorRtAvailability.probe();
        if (!trt.available()) {
          throw new IllegalStateException("vla.policy.engine=tensorrt: " + trt.reason()
              + " (use engine: onnxruntime or auto; see docs/gpu.md)");
        }
        yield new TensorRtEngine(model, fp16);
      }
      case "auto" -> {
        TensorRtAvailability trt = TensorRtAvailability.probe();
        if (trt.available()) {
          try {
            TensorRtEngine engine = new TensorRtEngine(model, fp16);
            log.info("Engine auto: TensorRT on {} (compute {}), {}", trt.deviceName(), trt.computeCapability(), engine.name());
            yield engine;
          } catch (EngineException e) {
            log.warn("Engine auto: TensorRT is present but the engine failed to build ({}); using ONNX Runtime on the CPU",
                e.getMessage());
          }
        } else {
          log.info("Engine auto: using ONNX Runtime on the CPU ({})", trt.reason());
        }
        yield checked(new OnnxRuntimeEngine(model, threads));
      }
      default -> throw new IllegalArgumentException("vla.policy.engine: \"" + choice
          + "\" (expected: auto, onnxruntime or tensorrt)");
    };
  }

  /**
   * The engine, once its graphs' declared shapes agree with the manifest (cameras, prompt length,
   * proprio, logits width against vocab_size): a package that disagrees is refused at start, with what
   * `vla model check` would say, rather than failing or quietly shifting tokens at the first request.
   */
  static OnnxRuntimeEngine checked(OnnxRuntimeEngine engine) {
    java.util.List<String> problems = engine.shapeProblems();
    if (!problems.isEmpty()) {
      engine.close();
      throw new EngineException("model package " + engine.model().directory() + " disagrees with its graphs: "
          + String.join("; ", problems) + " (run `vla model check " + engine.model().directory() + "`)");
    }
    return engine;
  }
}
