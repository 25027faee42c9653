package io.vlaserve.policy.engine.tensorrt;

import static io.vlaserve.policy.engine.tensorrt.TensorRtEngine.dims64;
import static io.vlaserve.policy.engine.tensorrt.TensorRtEngine.longs;
import static org.bytedeco.tensorrt.global.nvinfer.createInferBuilder;
import static org.bytedeco.tensorrt.global.nvonnxparser.createParser;

import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.tensorrt.TensorRtEngine.Plan;
import io.vlaserve.policy.model.ModelPackage;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.tensorrt.global.nvinfer.BuilderFlag;
import org.bytedeco.tensorrt.global.nvinfer.OptProfileSelector;
import org.bytedeco.tensorrt.nvinfer.IBuilder;
import org.bytedeco.tensorrt.nvinfer.IBuilderConfig;
import org.bytedeco.tensorrt.nvinfer.ICudaEngine;
import org.bytedeco.tensorrt.nvinfer.IHostMemory;
import org.bytedeco.tensorrt.nvinfer.ILogger;
import org.bytedeco.tensorrt.nvinfer.INetworkDefinition;
import org.bytedeco.tensorrt.nvinfer.IOptimizationProfile;
import org.bytedeco.tensorrt.nvinfer.IRuntime;
import org.bytedeco.tensorrt.nvinfer.ITensor;
import org.bytedeco.tensorrt.nvonnxparser.IParser;
import org.bytedeco.tensorrt.nvonnxparser.IParserError;

/**
 * Gets a graph's TensorRT engine: loads its serialized plan from the {@link PlanCache}, or parses
 * the ONNX graph, builds the plan for the engine's optimization profile and precision, and caches
 * it. Building is what {@link TensorRtEngine} does once at start; executing is all it does after.
 * Records how each plan was obtained ({@link #plans()}).
 *
 * <p>Not thread-safe: used by one engine's constructor.
 */
final class PlanBuilder {
  private static final System.Logger LOG = System.getLogger(PlanBuilder.class.getName());

  private final IRuntime runtime;
  private final TensorRtLogger logger;
  private final TensorRtAvailability availability;
  private final ModelPackage model;
  private final GraphShapes.Dims dims;
  private final boolean fp16;
  private final PlanCache cache;
  private final List<Plan> plans = new ArrayList<>();

  PlanBuilder(IRuntime runtime, TensorRtLogger logger, TensorRtAvailability availability, ModelPackage model,
      GraphShapes.Dims dims, boolean fp16, PlanCache cache) {
    this.runtime = runtime;
    this.logger = logger;
    this.availability = availability;
    this.model = model;
    this.dims = dims;
    this.fp16 = fp16;
    this.cache = cache;
  }

  /** How each graph's plan was obtained, in the order they were asked for. */
  List<Plan> plans() {
    return List.copyOf(plans);
  }

  private String precision() {
    return fp16 ? "fp16" : "fp32";
  }

  /**
   * Loads the graph's cached plan, or builds and caches it.
   *
   * @param rangesFor the optimization profile for the graph's KV layout, which is only known once
   *     the ONNX is parsed (or the plan loaded)
   */
  ICudaEngine obtain(String graph, Path onnx, Function<KvLayout, List<GraphShapes.Range>> rangesFor) {
    long started = System.nanoTime();
    String digest;
    try {
      digest = PlanCache.onnxDigest(onnx);
    } catch (IOException e) {
      throw new EngineException("reading " + onnx + " failed: " + e.getMessage(), e);
    }
    Map<KvLayout, PlanCache.Key> keys = new EnumMap<>(KvLayout.class);
    for (KvLayout layout : KvLayout.values()) {
      keys.put(layout, new PlanCache.Key(model.name(), graph, availability.tensorRtVersion(), availability.deviceName(),
          availability.computeCapability(), digest, precision(), GraphShapes.describe(rangesFor.apply(layout))));
    }
    // Knowing the layout before loading would mean parsing the ONNX, which is what the cache saves. The
    // ONNX digest in the key fixes the layout, so at most one layout's plan exists: look for each.
    for (PlanCache.Key key : new LinkedHashSet<>(keys.values())) {
      ICudaEngine engine = load(graph, cache.file(key), started);
      if (engine != null) {
        return engine;
      }
    }

    Parsed parsed = parse(graph, onnx);
    KvLayout layout = KvLayout.detect(graph, parsed.ioNames(), dims.layers());
    List<GraphShapes.Range> ranges = rangesFor.apply(layout);
    checkNetworkInputs(graph, parsed.network(), ranges);
    PlanCache.Key key = keys.get(layout);
    Path file = cache.file(key);
    LOG.log(Level.INFO, "TensorRT {0} plan: building {1} ({2} KV cache I/O) from {3} (not in the cache at {4}; this"
        + " can take minutes)", graph, precision(), layout, onnx, file);
    IHostMemory plan = build(graph, onnx, parsed, ranges);
    Pointer data = plan.data();
    long size = plan.size();
    try {
      PlanCache.write(file, data, size, key.text());
    } catch (IOException e) {
      LOG.log(Level.WARNING, "TensorRT {0} plan could not be cached at {1}: {2} (the next start builds it again)",
          graph, file, e.getMessage());
    }
    logger.clear();
    ICudaEngine engine = runtime.deserializeCudaEngine(data, size);
    if (engine == null || engine.isNull()) {
      throw new EngineException("loading the freshly built " + graph + " plan failed: " + logger.lastError());
    }
    Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
    plans.add(new Plan(graph, file, false, elapsed));
    LOG.log(Level.INFO, "TensorRT {0} plan: built in {1} s ({2}), cached at {3}", graph,
        String.valueOf(elapsed.toSeconds()), Cuda.mib(size), file);
    return engine;
  }

  /** The cached plan at {@code file}, or null if there is none or it does not load. */
  private ICudaEngine load(String graph, Path file, long started) {
    BytePointer cached = null;
    try {
      cached = PlanCache.read(file);
    } catch (IOException e) {
      LOG.log(Level.WARNING, "TensorRT {0} plan {1} is unreadable ({2}); rebuilding it", graph, file, e.getMessage());
    }
    if (cached == null) {
      return null;
    }
    try (BytePointer plan = cached) {
      logger.clear();
      ICudaEngine engine = runtime.deserializeCudaEngine(plan, plan.capacity());
      if (engine != null && !engine.isNull()) {
        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
        plans.add(new Plan(graph, file, true, elapsed));
        LOG.log(Level.INFO, "TensorRT {0} plan: loaded cached {1} ({2} ms)", graph, file,
            String.valueOf(elapsed.toMillis()));
        return engine;
      }
      LOG.log(Level.WARNING, "TensorRT {0} plan {1} could not be deserialized ({2}); rebuilding it", graph, file,
          logger.lastError());
      return null;
    }
  }

  /** A parsed ONNX graph. The parser owns the network's weights, so it is kept until the build. */
  private record Parsed(IBuilder builder, INetworkDefinition network, IParser parser) {
    List<String> ioNames() {
      List<String> names = new ArrayList<>();
      for (int i = 0; i < network.getNbInputs(); i++) {
        names.add(network.getInput(i).getName());
      }
      for (int i = 0; i < network.getNbOutputs(); i++) {
        names.add(network.getOutput(i).getName());
      }
      return names;
    }
  }

  private Parsed parse(String graph, Path onnx) {
    logger.clear();
    IBuilder builder = createInferBuilder(logger);
    if (builder == null || builder.isNull()) {
      throw new EngineException("createInferBuilder failed: " + logger.lastError());
    }
    // TensorRT 10 networks always have an explicit batch dimension: kEXPLICIT_BATCH is deprecated and ignored.
    INetworkDefinition network = builder.createNetworkV2(0);
    IParser parser = createParser(network, logger);
    if (network == null || parser == null) {
      throw new EngineException("creating the " + graph + " network failed: " + logger.lastError());
    }
    if (!parser.parseFromFile(onnx.toString(), ILogger.Severity.kWARNING.value)) {
      List<String> errors = new ArrayList<>();
      for (int i = 0; i < parser.getNbErrors(); i++) {
        IParserError error = parser.getError(i);
        errors.add(error.desc() + (error.nodeName() == null || error.nodeName().isEmpty() ? ""
            : " (node " + error.nodeName() + ", " + error.nodeOperator() + ")"));
      }
      throw new EngineException("TensorRT's ONNX parser rejected " + onnx + ": "
          + (errors.isEmpty() ? logger.lastError() : String.join("; ", errors)));
    }
    return new Parsed(builder, network, parser);
  }

  @SuppressWarnings("deprecation") // BuilderFlag.kFP16: see docs/gpu.md on FP16 and TensorRT 11
  private IHostMemory build(String graph, Path onnx, Parsed parsed, List<GraphShapes.Range> ranges) {
    logger.clear();
    IBuilder builder = parsed.builder();
    IBuilderConfig config = builder.createBuilderConfig();
    if (fp16) {
      config.setFlag(BuilderFlag.kFP16); // weak typing: deprecated since TensorRT 10.12, still honoured in 10.x
    } else {
      config.clearFlag(BuilderFlag.kTF32); // TF32 matmuls (on by default from Ampere) drift ~1e-3 from PyTorch FP32
    }
    IOptimizationProfile profile = builder.createOptimizationProfile();
    for (GraphShapes.Range range : ranges) {
      if (!profile.setDimensions(range.name(), OptProfileSelector.kMIN, dims64(range.min()))
          || !profile.setDimensions(range.name(), OptProfileSelector.kOPT, dims64(range.opt()))
          || !profile.setDimensions(range.name(), OptProfileSelector.kMAX, dims64(range.max()))) {
        throw new EngineException("the " + graph + " optimization profile rejected " + range + ": " + logger.lastError());
      }
    }
    if (config.addOptimizationProfile(profile) < 0) {
      throw new EngineException("the " + graph + " optimization profile is invalid (" + GraphShapes.describe(ranges)
          + "): " + logger.lastError());
    }
    IHostMemory plan = builder.buildSerializedNetwork(parsed.network(), config);
    if (plan == null || plan.isNull() || plan.size() == 0) {
      throw new EngineException("building the " + precision() + " " + graph + " engine from " + onnx + " failed: "
          + logger.lastError());
    }
    return plan;
  }

  private static void checkNetworkInputs(String graph, INetworkDefinition network, List<GraphShapes.Range> ranges) {
    Map<String, GraphShapes.Range> expected = new HashMap<>();
    ranges.forEach(r -> expected.put(r.name(), r));
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < network.getNbInputs(); i++) {
      ITensor input = network.getInput(i);
      String name = input.getName();
      GraphShapes.Range range = expected.get(name);
      if (range == null) {
        throw new EngineException(graph + ".onnx has an input \"" + name + "\" the engine does not feed (expected: "
            + expected.keySet() + "; see docs/model-package.md)");
      }
      seen.add(name);
      String mismatch = GraphShapes.mismatch(graph, range, longs(input.getDimensions()));
      if (mismatch != null) {
        throw new EngineException(mismatch);
      }
    }
    if (!seen.containsAll(expected.keySet())) {
      Set<String> missing = new HashSet<>(expected.keySet());
      missing.removeAll(seen);
      throw new EngineException(graph + ".onnx lacks the inputs " + missing + " (see docs/model-package.md)");
    }
  }
}
