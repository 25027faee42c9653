package io.vlaserve.policy.engine.tensorrt;

import static io.vlaserve.policy.engine.tensorrt.GraphShapes.ATTENTION_MASK;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.DECODE;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.IMAGE;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.INSTRUCTION_IDS;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.LOGITS;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.POSITION_IDS;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.PREFILL;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.PROPRIO;
import static io.vlaserve.policy.engine.tensorrt.GraphShapes.TOKEN_IDS;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamNonBlocking;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;
import static org.bytedeco.tensorrt.global.nvinfer.createInferRuntime;

import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.engine.VlaEngine;
import io.vlaserve.policy.model.ModelPackage;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.tensorrt.global.nvinfer.DataType;
import org.bytedeco.tensorrt.global.nvinfer.ExecutionContextAllocationStrategy;
import org.bytedeco.tensorrt.global.nvinfer.TensorIOMode;
import org.bytedeco.tensorrt.nvinfer.Dims64;
import org.bytedeco.tensorrt.nvinfer.ICudaEngine;
import org.bytedeco.tensorrt.nvinfer.IExecutionContext;
import org.bytedeco.tensorrt.nvinfer.IRuntime;

/**
 * Runs a model package's graphs with TensorRT 10 on CUDA device 0, through the JavaCPP bindings.
 *
 * <p><b>Plans.</b> Each graph is parsed from the package's ONNX with the ONNX parser into an
 * explicit-batch network and built with one optimization profile covering batch 1..maxBatch and, for
 * decode, caches of T0..T0+maxNewTokens-1 positions, in whichever KV cache layout the graph's input
 * names show: one packed tensor or one per layer and key/value ({@link KvLayout}; the two graphs
 * need not agree, as the cache memory is the same). FP32 engines disable TF32 so they match PyTorch
 * to 1e-3; FP16 engines let TensorRT choose half-precision kernels (inputs, outputs and the KV cache
 * stay float32). The serialized plan is cached in a folder under a key of TensorRT version, GPU,
 * ONNX SHA-256, precision and profile bounds ({@link PlanCache}); a later engine with the same key
 * loads it instead of building (minutes for large models), and {@link #plans()} says which happened.
 * Loading, building and caching plans is {@link PlanBuilder}'s, at start; this class executes them.
 *
 * <p><b>Memory.</b> Each graph has a dedicated non-blocking CUDA stream, an execution context whose
 * activation memory this engine allocates ({@code kUSER_MANAGED}), and pinned host buffers with
 * device twins for every input and the logits, sized once for maxBatch. Each {@link KvCache} owns two
 * device buffers of its final size, each holding a {@code [N, 2, B, heads, T, head_dim]} cache; every
 * step binds one as the past cache and the other as the present cache with {@code setTensorAddress}
 * (the whole buffer as {@code past_kv}, or each layer's key and value to its slice of it), so
 * decoding copies no cache memory. A step copies
 * inputs host-to-device asynchronously, sets the dynamic input shapes, enqueues with
 * {@code enqueueV3}, copies the logits back and synchronizes the stream.
 *
 * <p><b>Threads.</b> One execution context per graph, each guarded by its own lock: a prefill and a
 * decode run concurrently, but two prefills (or two decodes) take turns. Throughput comes from
 * batching (up to maxBatch sequences per call), not from parallel contexts. Concurrent calls on
 * different caches are safe, as {@link VlaEngine} requires.
 *
 * <p><b>Closing.</b> {@link #close()} waits for running calls, then frees every buffer, stream and
 * cache this engine allocated; {@link KvCache#close()} frees that cache's two device buffers. The
 * TensorRT objects themselves (runtime, engines with their weights, contexts, and builders) cannot be
 * destroyed through JavaCPP 1.5.13, whose {@code deallocate()} is a no-op for them
 * (bytedeco/javacpp-presets#1699, TensorRT 10 removed {@code destroy()}): they live until the process
 * exits. Create one engine per model and process.
 *
 * <p>Construction fails with an {@link EngineException} quoting {@link TensorRtAvailability#reason()}
 * where TensorRT cannot run.
 */
public final class TensorRtEngine implements VlaEngine {
  /** Sequences per call the plans are built for unless told otherwise. */
  public static final int DEFAULT_MAX_BATCH = 8;

  private static final System.Logger LOG = System.getLogger(TensorRtEngine.class.getName());
  private static final int DEVICE = TensorRtAvailability.DEVICE;

  /**
   * How a graph's plan was obtained.
   *
   * @param graph "prefill" or "decode"
   * @param file the cached plan
   * @param fromCache true if loaded from {@code file}, false if built from the ONNX graph
   * @param elapsed time to hash the graph and build or load the plan
   */
  public record Plan(String graph, Path file, boolean fromCache, Duration elapsed) {}

  private final ModelPackage model;
  private final GraphShapes.Dims dims;
  private final boolean fp16;
  private final int maxBatch;
  private final int maxNewTokens;
  private final Path planCacheDirectory;
  private final TensorRtAvailability availability;
  private final TensorRtLogger logger;
  private PlanBuilder planBuilder;
  private final Set<TrtKvCache> caches = ConcurrentHashMap.newKeySet();
  private IRuntime runtime;
  private Graph prefill;
  private Graph decode;
  private KvTensors prefillPresent;
  private KvTensors decodePast;
  private KvTensors decodePresent;
  private volatile boolean closed;

  /**
   * An engine for batches of up to {@value #DEFAULT_MAX_BATCH} and a whole action chunk (chunk length
   * times action dimensions new tokens), with plans cached in {@link #defaultPlanCacheDirectory()}.
   */
  public TensorRtEngine(ModelPackage model, boolean fp16) {
    this(model, fp16, DEFAULT_MAX_BATCH, model.chunkLength() * model.actionDimensions(), defaultPlanCacheDirectory());
  }

  /**
   * @param model the model package whose {@code prefill.onnx} and {@code decode.onnx} to run
   * @param fp16 allow FP16 kernels ({@code "tensorrt-fp16"}), else FP32 without TF32 ({@code "tensorrt-fp32"})
   * @param maxBatch most sequences per call (the profile's batch maximum)
   * @param maxNewTokens most tokens a caller may generate after one prefill (sizes the decode profile)
   * @param planCacheDirectory where serialized plans are kept (created if missing)
   * @throws EngineException if TensorRT is unavailable here (the message quotes why), or a graph
   *     fails to parse or build (the message quotes TensorRT's last error)
   */
  public TensorRtEngine(ModelPackage model, boolean fp16, int maxBatch, int maxNewTokens, Path planCacheDirectory) {
    TensorRtAvailability probe = TensorRtAvailability.probe();
    if (!probe.available()) {
      throw new EngineException("TensorRT engine unavailable: " + probe.reason());
    }
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(planCacheDirectory, "planCacheDirectory");
    if (model.decoding() != ModelPackage.Decoding.AUTOREGRESSIVE) {
      throw new EngineException("TensorRT engine runs autoregressive models; " + model.name()
          + " decodes in parallel (serve it with ONNX Runtime)");
    }
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch " + maxBatch + " (expected: >= 1)");
    }
    if (maxNewTokens < 1 || maxNewTokens > GraphShapes.maxNewTokens(model)) {
      throw new IllegalArgumentException("maxNewTokens " + maxNewTokens + " (expected: 1.." + GraphShapes.maxNewTokens(model)
          + ", the positions " + model.name() + " has after its " + model.promptLength() + "-position prompt)");
    }
    this.availability = probe;
    this.model = model;
    this.dims = GraphShapes.Dims.of(model);
    this.fp16 = fp16;
    this.maxBatch = maxBatch;
    this.maxNewTokens = maxNewTokens;
    this.planCacheDirectory = planCacheDirectory;
    this.logger = TensorRtLogger.get();
    try {
      Cuda.check(cudaSetDevice(DEVICE), "cudaSetDevice(" + DEVICE + ")");
      runtime = createInferRuntime(logger);
      if (runtime == null || runtime.isNull()) {
        throw new EngineException("createInferRuntime failed: " + logger.lastError());
      }
      planBuilder = new PlanBuilder(runtime, logger, availability, model, dims, fp16,
          new PlanCache(planCacheDirectory));
      int layers = dims.layers();
      ICudaEngine prefillEngine = planBuilder.obtain(PREFILL, model.prefillGraph(),
          layout -> GraphShapes.prefill(dims, maxBatch));
      KvLayout prefillLayout = KvLayout.detect(PREFILL, ioNames(prefillEngine), layers);
      checkIo(prefillEngine, PREFILL,
          Map.of(IMAGE, DataType.kUINT8, INSTRUCTION_IDS, DataType.kINT64, PROPRIO, DataType.kFLOAT),
          withCache(Map.of(LOGITS, DataType.kFLOAT), prefillLayout.presentNames(layers)));
      ICudaEngine decodeEngine = planBuilder.obtain(DECODE, model.decodeGraph(),
          layout -> GraphShapes.decode(dims, maxBatch, maxNewTokens, layout));
      KvLayout decodeLayout = KvLayout.detect(DECODE, ioNames(decodeEngine), layers);
      checkIo(decodeEngine, DECODE,
          withCache(Map.of(TOKEN_IDS, DataType.kINT64, POSITION_IDS, DataType.kINT64, ATTENTION_MASK, DataType.kFLOAT),
              decodeLayout.pastNames(layers)),
          withCache(Map.of(LOGITS, DataType.kFLOAT), decodeLayout.presentNames(layers)));
      prefillPresent = new KvTensors(prefillLayout, prefillLayout.presentNames(layers), dims);
      decodePast = new KvTensors(decodeLayout, decodeLayout.pastNames(layers), dims);
      decodePresent = new KvTensors(decodeLayout, decodeLayout.presentNames(layers), dims);

      long logitBytes = 4L * maxBatch * dims.vocabSize();
      prefill = new Graph(PREFILL, prefillEngine, logger);
      prefill.stage(IMAGE, (long) maxBatch * dims.imageHeight() * dims.imageWidth() * 3);
      prefill.stage(INSTRUCTION_IDS, 8L * maxBatch * dims.instructionLength());
      prefill.stage(PROPRIO, 4L * maxBatch * dims.proprioLength());
      prefill.stage(LOGITS, logitBytes);
      decode = new Graph(DECODE, decodeEngine, logger);
      decode.stage(TOKEN_IDS, 8L * maxBatch);
      decode.stage(POSITION_IDS, 8L * maxBatch);
      decode.stage(ATTENTION_MASK, 4L * maxBatch * (dims.promptLength() + maxNewTokens));
      decode.stage(LOGITS, logitBytes);
    } catch (RuntimeException e) {
      freeNative();
      throw e instanceof EngineException ? e : new EngineException("TensorRT engine for " + model.directory()
          + " failed: " + e.getMessage(), e);
    }
    LOG.log(Level.INFO, "TensorRT {0} engine ready for {1}: batch 1..{2}, up to {3} new tokens, KV cache I/O {4}"
        + " in prefill and {5} in decode ({6})", precision(), model.name(), String.valueOf(maxBatch),
        String.valueOf(maxNewTokens), prefillPresent.layout, decodePast.layout, availability.reason());
  }

  /** {@code ~/.cache/vla-serve/tensorrt}. */
  public static Path defaultPlanCacheDirectory() {
    return Path.of(System.getProperty("user.home"), ".cache", "vla-serve", "tensorrt");
  }

  /** {@code "tensorrt-fp16"} or {@code "tensorrt-fp32"}. */
  @Override
  public String name() {
    return "tensorrt-" + precision();
  }

  /** What the availability probe found (GPU, versions). */
  public TensorRtAvailability availability() {
    return availability;
  }

  /** How each graph's plan was obtained: prefill first, then decode. */
  public List<Plan> plans() {
    return planBuilder == null ? List.of() : planBuilder.plans();
  }

  public int maxBatch() {
    return maxBatch;
  }

  public int maxNewTokens() {
    return maxNewTokens;
  }

  public Path planCacheDirectory() {
    return planCacheDirectory;
  }

  /** How {@code graph} ({@code "prefill"} or {@code "decode"}) passes the KV cache. */
  KvLayout kvLayout(String graph) {
    return PREFILL.equals(graph) ? prefillPresent.layout : decodePast.layout;
  }

  String precision() {
    return fp16 ? "fp16" : "fp32";
  }

  // ------------------------------------------------------------------------------------------------
  // Inference

  @Override
  public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
    ensureOpen();
    int b = batch.size();
    checkBatch(b);
    if (maxNewTokens < 0 || maxNewTokens > this.maxNewTokens) {
      throw new EngineException("maxNewTokens " + maxNewTokens + ": this TensorRT engine was built for at most "
          + this.maxNewTokens + " (construct it with a larger maxNewTokens)");
    }
    long pixels = (long) b * dims.imageHeight() * dims.imageWidth() * 3;
    requireLength("images", batch.images().length, pixels);
    requireLength("instructionIds", batch.instructionIds().length, (long) b * dims.instructionLength());
    requireLength("proprio", batch.proprio().length, (long) b * dims.proprioLength());
    requireAtLeast("logits", logits.length, (long) b * dims.vocabSize());
    int t0 = dims.promptLength();
    TrtKvCache cache = new TrtKvCache(b, t0 + maxNewTokens);
    Graph g = prefill;
    g.lock.lock();
    try {
      ensureOpen();
      logger.clear();
      Cuda.check(cudaSetDevice(DEVICE), "cudaSetDevice(" + DEVICE + ")");
      g.staged(IMAGE).bytes.put(batch.images(), 0, (int) pixels);
      g.staged(INSTRUCTION_IDS).longs.put(batch.instructionIds(), 0, batch.instructionIds().length);
      g.staged(PROPRIO).floats.put(batch.proprio(), 0, batch.proprio().length);
      g.upload(IMAGE, pixels);
      g.upload(INSTRUCTION_IDS, 8L * batch.instructionIds().length);
      g.upload(PROPRIO, 4L * batch.proprio().length);
      g.inputShape(IMAGE, b, dims.imageHeight(), dims.imageWidth(), 3);
      g.inputShape(INSTRUCTION_IDS, b, dims.instructionLength());
      g.inputShape(PROPRIO, b, dims.proprioLength());
      g.bind(IMAGE, g.staged(IMAGE).device);
      g.bind(INSTRUCTION_IDS, g.staged(INSTRUCTION_IDS).device);
      g.bind(PROPRIO, g.staged(PROPRIO).device);
      g.bind(LOGITS, g.staged(LOGITS).device);
      prefillPresent.bind(g, cache.writeBuffer(), b, t0);
      g.expectOutput(LOGITS, (long) b * dims.vocabSize());
      prefillPresent.expectOutputs(g, b, t0);
      g.run((long) b * dims.vocabSize(), logits);
      cache.advance(t0);
      return cache;
    } catch (RuntimeException e) {
      g.drain();
      cache.close();
      throw failure("prefill", e);
    } finally {
      g.lock.unlock();
    }
  }

  @Override
  public void decode(KvCache kvCache, long[] tokenIds, long[] positionIds, float[] attentionMask, float[] logits) {
    ensureOpen();
    if (!(kvCache instanceof TrtKvCache cache) || cache.engine() != this) {
      throw new EngineException("decode: the KV cache was not made by this TensorRT engine's prefill");
    }
    int b = cache.batch;
    int t = cache.length;
    if (cache.closed) {
      throw new EngineException("decode: the KV cache is closed");
    }
    if (t + 1 > cache.capacity) {
      throw new EngineException("KV cache full: " + t + " positions (sized for " + cache.capacity + ")");
    }
    requireAtLeast("tokenIds", tokenIds.length, b);
    requireAtLeast("positionIds", positionIds.length, b);
    requireAtLeast("attentionMask", attentionMask.length, (long) b * (t + 1));
    requireAtLeast("logits", logits.length, (long) b * dims.vocabSize());
    Graph g = decode;
    g.lock.lock();
    try {
      ensureOpen();
      logger.clear();
      Cuda.check(cudaSetDevice(DEVICE), "cudaSetDevice(" + DEVICE + ")");
      g.staged(TOKEN_IDS).longs.put(tokenIds, 0, b);
      g.staged(POSITION_IDS).longs.put(positionIds, 0, b);
      g.staged(ATTENTION_MASK).floats.put(attentionMask, 0, b * (t + 1));
      g.upload(TOKEN_IDS, 8L * b);
      g.upload(POSITION_IDS, 8L * b);
      g.upload(ATTENTION_MASK, 4L * b * (t + 1));
      g.inputShape(TOKEN_IDS, b, 1);
      g.inputShape(POSITION_IDS, b, 1);
      decodePast.inputShapes(g, b, t);
      g.inputShape(ATTENTION_MASK, b, t + 1);
      g.bind(TOKEN_IDS, g.staged(TOKEN_IDS).device);
      g.bind(POSITION_IDS, g.staged(POSITION_IDS).device);
      g.bind(ATTENTION_MASK, g.staged(ATTENTION_MASK).device);
      decodePast.bind(g, cache.readBuffer(), b, t);
      decodePresent.bind(g, cache.writeBuffer(), b, t + 1);
      g.bind(LOGITS, g.staged(LOGITS).device);
      g.expectOutput(LOGITS, (long) b * dims.vocabSize());
      decodePresent.expectOutputs(g, b, t + 1);
      g.run((long) b * dims.vocabSize(), logits);
      cache.advance(t + 1);
    } catch (RuntimeException e) {
      g.drain();
      throw failure("decode at position " + t, e);
    } finally {
      g.lock.unlock();
    }
  }

  /**
   * Waits for running calls, then frees the engine's buffers, streams, activation memory and every
   * cache still open. The TensorRT objects stay allocated until the process exits (see the class
   * comment).
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    freeNative();
  }

  private void freeNative() {
    Graph[] graphs = {prefill, decode};
    for (Graph g : graphs) {
      if (g != null) {
        g.lock.lock();
      }
    }
    try {
      if (prefill != null || decode != null) {
        cudaSetDevice(DEVICE);
      }
      for (TrtKvCache cache : List.copyOf(caches)) {
        cache.close();
      }
      for (Graph g : graphs) {
        if (g != null) {
          g.free();
        }
      }
    } finally {
      for (Graph g : graphs) {
        if (g != null) {
          g.lock.unlock();
        }
      }
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new EngineException("the TensorRT engine is closed");
    }
  }

  private void checkBatch(int b) {
    if (b < 1 || b > maxBatch) {
      throw new EngineException("batch of " + b + " sequences: this TensorRT engine was built for 1.." + maxBatch
          + " (construct it with a larger maxBatch)");
    }
  }

  private static void requireLength(String what, long actual, long expected) {
    if (actual != expected) {
      throw new EngineException(what + ": " + actual + " values (expected: " + expected + ")");
    }
  }

  private static void requireAtLeast(String what, long actual, long expected) {
    if (actual < expected) {
      throw new EngineException(what + ": " + actual + " values (expected: at least " + expected + ")");
    }
  }

  private EngineException failure(String what, RuntimeException e) {
    if (e instanceof EngineException && e.getMessage() != null && e.getMessage().startsWith(what)) {
      return (EngineException) e;
    }
    return new EngineException(what + " failed: " + e.getMessage(), e);
  }

  // ------------------------------------------------------------------------------------------------
  // Plans

  private static List<String> ioNames(ICudaEngine engine) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < engine.getNbIOTensors(); i++) {
      names.add(engine.getIOTensorName(i));
    }
    return names;
  }

  /** {@code types} plus the float32 cache tensors {@code cache}. */
  private static Map<String, DataType> withCache(Map<String, DataType> types, List<String> cache) {
    Map<String, DataType> all = new HashMap<>(types);
    cache.forEach(name -> all.put(name, DataType.kFLOAT));
    return all;
  }

  /** Checks the engine's I/O tensors against docs/model-package.md: names, directions and types. */
  private static void checkIo(ICudaEngine engine, String graph, Map<String, DataType> inputs, Map<String, DataType> outputs) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < engine.getNbIOTensors(); i++) {
      String name = engine.getIOTensorName(i);
      boolean input = engine.getTensorIOMode(name).intern().value == TensorIOMode.kINPUT.value;
      DataType expected = (input ? inputs : outputs).get(name);
      if (expected == null) {
        throw new EngineException(graph + " engine has an unexpected " + (input ? "input" : "output") + " \"" + name
            + "\" (expected inputs " + inputs.keySet() + ", outputs " + outputs.keySet() + ")");
      }
      DataType actual = engine.getTensorDataType(name).intern();
      if (actual.value != expected.value) {
        throw new EngineException(graph + " engine tensor " + name + " is " + actual + " (expected: " + expected
            + "; see docs/model-package.md)");
      }
      seen.add(name);
    }
    Set<String> all = new HashSet<>(inputs.keySet());
    all.addAll(outputs.keySet());
    all.removeAll(seen);
    if (!all.isEmpty()) {
      throw new EngineException(graph + " engine lacks the tensors " + all + " (see docs/model-package.md)");
    }
  }

  static Dims64 dims64(long... shape) {
    Dims64 dims = new Dims64();
    set(dims, shape);
    return dims;
  }

  private static void set(Dims64 dims, long[] shape) {
    dims.nbDims(shape.length);
    for (int i = 0; i < shape.length; i++) {
      dims.d(i, shape[i]);
    }
  }

  static long[] longs(Dims64 dims) {
    long[] shape = new long[Math.max(0, dims.nbDims())];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = dims.d(i);
    }
    return shape;
  }

  // ------------------------------------------------------------------------------------------------
  // Native state

  /** A pinned host buffer and a device buffer of the same size, for one input or output. */
  private static final class Staged {
    final long capacity;
    Pointer host;
    Pointer device;
    final BytePointer bytes;
    final LongPointer longs;
    final FloatPointer floats;

    Staged(String what, long capacity) {
      this.capacity = capacity;
      this.host = Cuda.pinned(capacity, what);
      try {
        this.device = Cuda.device(capacity, what);
      } catch (RuntimeException e) {
        Cuda.freePinned(host, what);
        throw e;
      }
      this.bytes = new BytePointer(host).capacity(capacity);
      this.longs = new LongPointer(host).capacity(capacity / 8);
      this.floats = new FloatPointer(host).capacity(capacity / 4);
    }
  }

  /** One graph's engine, execution context, stream, activation memory and staging buffers. */
  private static final class Graph {
    final String name;
    final ICudaEngine engine;
    final TensorRtLogger logger;
    final ReentrantLock lock = new ReentrantLock();
    final Map<String, Staged> staged = new HashMap<>();
    final Map<String, Dims64> shapes = new HashMap<>();
    IExecutionContext context;
    CUstream_st stream;
    Pointer activations;

    Graph(String name, ICudaEngine engine, TensorRtLogger logger) {
      this.name = name;
      this.engine = engine;
      this.logger = logger;
      try {
        logger.clear();
        context = engine.createExecutionContext(ExecutionContextAllocationStrategy.kUSER_MANAGED);
        if (context == null || context.isNull()) {
          throw new EngineException("creating the " + name + " execution context failed: " + logger.lastError());
        }
        long size = engine.getDeviceMemorySizeForProfileV2(0);
        activations = Cuda.device(size, name + " activations");
        context.setDeviceMemoryV2(activations, size);
        CUstream_st created = new CUstream_st();
        Cuda.check(cudaStreamCreateWithFlags(created, cudaStreamNonBlocking), "creating the " + name + " CUDA stream");
        stream = created;
      } catch (RuntimeException e) {
        free();
        throw e;
      }
    }

    void stage(String tensor, long bytes) {
      try {
        staged.put(tensor, new Staged(name + " " + tensor, bytes));
      } catch (RuntimeException e) {
        free();
        throw e;
      }
    }

    Staged staged(String tensor) {
      return staged.get(tensor);
    }

    void upload(String tensor, long bytes) {
      Staged s = staged.get(tensor);
      Cuda.check(cudaMemcpyAsync(s.device, s.host, bytes, cudaMemcpyHostToDevice, stream),
          "copying " + name + " " + tensor + " to the GPU");
    }

    void inputShape(String tensor, long... shape) {
      Dims64 dims = shapes.computeIfAbsent(tensor, k -> new Dims64());
      set(dims, shape);
      if (!context.setInputShape(tensor, dims)) {
        throw new EngineException(name + " input " + tensor + " shape " + Arrays.toString(shape)
            + " is outside the engine's profile: " + logger.lastError());
      }
    }

    void bind(String tensor, Pointer address) {
      if (!context.setTensorAddress(tensor, address)) {
        throw new EngineException("binding " + name + " tensor " + tensor + " failed: " + logger.lastError());
      }
    }

    /** Guards the buffers: TensorRT must write exactly the volume they were sized for. */
    void expectOutput(String tensor, long elements) {
      Dims64 shape = context.getTensorShape(tensor);
      long volume = shape.nbDims() > 0 ? 1 : 0;
      for (int i = 0; i < shape.nbDims(); i++) {
        volume *= shape.d(i);
      }
      if (volume != elements) {
        throw new EngineException(name + " output " + tensor + " has shape " + Arrays.toString(longs(shape)) + " ("
            + volume + " values; expected " + elements + ": does the graph follow docs/model-package.md?)");
      }
    }

    /** Enqueues the graph, copies {@code count} logits back and waits for the stream. */
    void run(long count, float[] logits) {
      if (!context.enqueueV3(stream)) {
        throw new EngineException(name + " enqueueV3 failed: " + logger.lastError());
      }
      Staged out = staged.get(LOGITS);
      Cuda.check(cudaMemcpyAsync(out.host, out.device, 4 * count, cudaMemcpyDeviceToHost, stream),
          "copying " + name + " logits from the GPU");
      int status = cudaStreamSynchronize(stream);
      if (status != 0) {
        throw new EngineException(name + " failed on the GPU: " + Cuda.describe(status) + "; " + logger.lastError());
      }
      out.floats.get(logits, 0, (int) count);
    }

    /** After a failure: lets copies already queued finish before the buffers are reused or freed. */
    void drain() {
      if (stream != null) {
        cudaStreamSynchronize(stream);
      }
    }

    void free() {
      for (Map.Entry<String, Staged> entry : staged.entrySet()) {
        Cuda.freeDevice(entry.getValue().device, name + " " + entry.getKey());
        Cuda.freePinned(entry.getValue().host, name + " " + entry.getKey());
      }
      staged.clear();
      if (stream != null) {
        cudaStreamDestroy(stream);
        stream = null;
      }
      Cuda.freeDevice(activations, name + " activations");
      activations = null;
      // The context cannot be destroyed through JavaCPP 1.5.13; without its activation memory it is inert.
      context = null;
    }
  }

  /**
   * A graph's cache inputs or outputs in buffer order: the packed tensor, or every layer's key and
   * value. Each is bound to its slice of one {@code [N, 2, B, heads, T, head_dim]} buffer.
   */
  private static final class KvTensors {
    final KvLayout layout;
    private final GraphShapes.Dims dims;
    private final String[] names;
    private final SliceAddress[] addresses; // reused every step: binding 2N tensors allocates nothing

    KvTensors(KvLayout layout, List<String> names, GraphShapes.Dims dims) {
      this.layout = layout;
      this.dims = dims;
      this.names = names.toArray(String[]::new);
      this.addresses = new SliceAddress[this.names.length];
      Arrays.setAll(addresses, i -> new SliceAddress());
    }

    void inputShapes(Graph g, int batch, int positions) {
      long[] shape = layout.tensorShape(dims, batch, positions);
      for (String name : names) {
        g.inputShape(name, shape);
      }
    }

    /** Binds each tensor to its slice of {@code buffer}, a cache of {@code positions} positions. */
    void bind(Graph g, Pointer buffer, int batch, int positions) {
      for (int i = 0; i < names.length; i++) {
        g.bind(names[i], addresses[i].at(buffer, layout.byteOffset(dims, i, batch, positions)));
      }
    }

    void expectOutputs(Graph g, int batch, int positions) {
      long elements = layout.tensorElements(dims, batch, positions);
      for (String name : names) {
        g.expectOutput(name, elements);
      }
    }
  }

  /**
   * A device address that can be moved, for binding cache slices. {@code setTensorAddress} copies the
   * address, so one instance per tensor serves every step.
   */
  static final class SliceAddress extends Pointer {
    SliceAddress at(Pointer base, long byteOffset) {
      address = base.address() + byteOffset;
      return this;
    }

    @Override
    public int sizeof() {
      return 1; // offsets are in bytes; JavaCPP has no size for classes it did not generate
    }
  }

  /** Two device buffers of the final cache size, used alternately as the past and the present cache. */
  private final class TrtKvCache implements KvCache {
    final int batch;
    final int capacity;
    private final Pointer[] buffers = new Pointer[2];
    private int current;
    volatile int length;
    volatile boolean closed;

    TrtKvCache(int batch, int capacity) {
      this.batch = batch;
      this.capacity = capacity;
      long bytes = 4 * dims.kvElements(batch, capacity);
      String what = "a KV cache of " + batch + " x " + capacity + " positions";
      Cuda.check(cudaSetDevice(DEVICE), "cudaSetDevice(" + DEVICE + ")");
      buffers[0] = Cuda.device(bytes, what);
      try {
        buffers[1] = Cuda.device(bytes, what);
      } catch (RuntimeException e) {
        Cuda.freeDevice(buffers[0], what);
        throw e;
      }
      caches.add(this);
    }

    TensorRtEngine engine() {
      return TensorRtEngine.this;
    }

    Pointer readBuffer() {
      return buffers[current];
    }

    Pointer writeBuffer() {
      return buffers[1 - current];
    }

    void advance(int newLength) {
      current = 1 - current;
      length = newLength;
    }

    @Override
    public int batchSize() {
      return batch;
    }

    @Override
    public int length() {
      return length;
    }

    @Override
    public synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      caches.remove(this);
      Cuda.freeDevice(buffers[0], "KV cache");
      Cuda.freeDevice(buffers[1], "KV cache");
    }
  }
}
