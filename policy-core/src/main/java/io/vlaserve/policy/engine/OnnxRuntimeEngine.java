package io.vlaserve.policy.engine;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a model package's graphs with ONNX Runtime on the CPU. Sessions are shared and thread-safe;
 * each {@link KvCache} owns two direct buffers of its final size and ONNX Runtime writes every
 * step's {@code present.{l}.key|value} straight into the one not being read (pinned outputs, one
 * slice per layer and per key/value), so the only copy of the cache a decode step makes is the
 * graph's own append, and no cache is allocated per token.
 */
public final class OnnxRuntimeEngine implements VlaEngine {
  private final OrtEnvironment environment = OnnxRuntimeNatives.environment();
  private final OrtSession prefill;
  private final OrtSession decode;
  private final ModelPackage model;
  private final int threads;
  private final boolean cuda;
  private final List<String> pastNames;
  private final List<String> presentNames;

  /**
   * @param intraOpThreads threads ONNX Runtime may use inside one graph run (1 suits many concurrent
   *     small runs; more suits one large batch)
   */
  public OnnxRuntimeEngine(ModelPackage model, int intraOpThreads) {
    this(model, intraOpThreads, -1);
  }

  /**
   * @param cudaDevice the CUDA device for ONNX Runtime's CUDA execution provider, or -1 for the CPU.
   *     The provider exists only in the {@code onnxruntime_gpu} build (the opt-in gpu profile);
   *     asking for it elsewhere fails with the providers this build has, never falls back silently.
   */
  public OnnxRuntimeEngine(ModelPackage model, int intraOpThreads, int cudaDevice) {
    this.model = model;
    this.threads = intraOpThreads;
    this.cuda = cudaDevice >= 0;
    if (cuda && !OrtEnvironment.getAvailableProviders().contains(ai.onnxruntime.OrtProvider.CUDA)) {
      throw new EngineException("ONNX Runtime CUDA execution provider requested (device " + cudaDevice
          + ") but this build only has " + OrtEnvironment.getAvailableProviders()
          + "; build with -Pgpu for onnxruntime_gpu, or use the CPU (see docs/gpu.md)");
    }
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(intraOpThreads);
      options.setInterOpNumThreads(1);
      // Idle intra-op threads sleep instead of spinning for work: a service shares its cores with
      // others (the bridge's 1 kHz loop, the gateway), and spinning threads take them.
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      if (cuda) {
        options.addCUDA(cudaDevice);
      }
      this.prefill = environment.createSession(model.prefillGraph().toString(), options);
      this.decode = parallel() ? null : environment.createSession(model.decodeGraph().toString(), options);
    } catch (OrtException e) {
      throw new EngineException("ONNX Runtime could not load " + model.directory() + ": " + e.getMessage(), e);
    }
    this.pastNames = KvCacheNames.past(model.layers());
    this.presentNames = KvCacheNames.present(model.layers());
    try {
      Set<String> prefillInputs = new java.util.HashSet<>(Set.of("instruction_ids", "proprio"));
      model.cameras().forEach(camera -> prefillInputs.add(model.imageInput(camera)));
      Set<String> missing = new java.util.TreeSet<>(prefillInputs);
      missing.removeAll(prefill.getInputNames());
      Set<String> unexpected = new java.util.TreeSet<>(prefill.getInputNames());
      unexpected.removeAll(prefillInputs);
      if (!missing.isEmpty() || !unexpected.isEmpty()) {
        throw new EngineException(model.prefillGraph().getFileName() + " inputs do not match the manifest:"
            + (missing.isEmpty() ? "" : " missing " + missing) + (unexpected.isEmpty() ? "" : " unexpected " + unexpected)
            + " (it has "
            + new java.util.TreeSet<>(prefill.getInputNames()) + "; a model with several cameras takes image.<camera>"
            + " for each camera in the manifest's images, one camera takes image)");
      }
      if (parallel()) {
        if (!prefill.getOutputNames().equals(Set.of("logits"))) {
          throw new EngineException(model.prefillGraph().getFileName() + " outputs " + prefill.getOutputNames()
              + " (expected only logits [B, " + model.actionTokens() + ", V]: a parallel-decoding model keeps no cache)");
        }
        return;
      }
      KvCacheNames.check(model.prefillGraph().getFileName().toString(), "outputs", presentNames,
          prefill.getOutputNames(), Set.of("logits"));
      KvCacheNames.check(model.decodeGraph().getFileName().toString(), "inputs", pastNames, decode.getInputNames(),
          Set.of("token_ids", "position_ids", "attention_mask"));
      KvCacheNames.check(model.decodeGraph().getFileName().toString(), "outputs", presentNames,
          decode.getOutputNames(), Set.of("logits"));
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /**
   * What in the graphs' declared input and output shapes disagrees with the manifest, in words
   * (empty when nothing does): the prefill's image, instruction and proprio inputs, and both
   * graphs' logits width against vocab_size. Dimensions a graph leaves dynamic are not judged.
   */
  public List<String> shapeProblems() {
    List<String> problems = new java.util.ArrayList<>();
    try {
      String prefillName = model.prefillGraph().getFileName().toString();
      for (ModelPackage.CameraInput camera : model.cameras()) {
        String input = model.imageInput(camera);
        expect(problems, prefillName, "input " + input, prefill.getInputInfo().get(input),
            new long[] {-1, camera.height(), camera.width(), 3},
            "the manifest's height x width x 3 of camera " + camera.name());
      }
      expect(problems, prefillName, "input instruction_ids", prefill.getInputInfo().get("instruction_ids"),
          new long[] {-1, model.text().maxTokens()}, "the manifest's prompt length L (text.max_instruction_tokens or text.max_prompt_tokens)");
      expect(problems, prefillName, "input proprio", prefill.getInputInfo().get("proprio"),
          new long[] {-1, model.proprioNames().size()}, "one value per proprio name in the manifest");
      if (parallel()) {
        expect(problems, prefillName, "output logits", prefill.getOutputInfo().get("logits"),
            new long[] {-1, model.actionTokens(), model.vocabSize()},
            "every action token of a chunk (chunk_length x action dimensions) by vocab_size in the manifest");
        return problems;
      }
      expect(problems, prefillName, "output logits", prefill.getOutputInfo().get("logits"),
          new long[] {-1, model.vocabSize()}, "vocab_size in the manifest");
      String decodeName = model.decodeGraph().getFileName().toString();
      expect(problems, decodeName, "output logits", decode.getOutputInfo().get("logits"),
          new long[] {-1, model.vocabSize()}, "vocab_size in the manifest");
    } catch (OrtException e) {
      problems.add("ONNX Runtime could not describe the graphs: " + e.getMessage());
    }
    return problems;
  }

  /** Compares a node's declared shape with {@code expected} (-1: any), ignoring dynamic dimensions. */
  private static void expect(List<String> problems, String graph, String what, ai.onnxruntime.NodeInfo node,
      long[] expected, String because) {
    if (node == null) {
      problems.add(graph + ": no " + what + " (expected: " + because + ")");
      return;
    }
    if (!(node.getInfo() instanceof ai.onnxruntime.TensorInfo tensor)) {
      problems.add(graph + ": " + what + " is not a tensor");
      return;
    }
    long[] shape = tensor.getShape();
    // A graph's logits may carry a sequence axis before the vocabulary: compare the trailing ones.
    int offset = shape.length - expected.length;
    if (offset < 0) {
      problems.add(graph + ": " + what + " has shape " + java.util.Arrays.toString(shape) + ", expected "
          + java.util.Arrays.toString(expected) + " (-1: any) from " + because);
      return;
    }
    for (int i = 0; i < expected.length; i++) {
      long declared = shape[offset + i];
      if (expected[i] >= 0 && declared >= 0 && declared != expected[i]) {
        problems.add(graph + ": " + what + " has shape " + java.util.Arrays.toString(shape) + ", expected "
            + java.util.Arrays.toString(expected) + " (-1: any) from " + because);
        return;
      }
    }
  }

  @Override
  public String name() {
    return cuda ? "onnxruntime-cuda" : "onnxruntime-cpu";
  }

  /** The package this engine runs. */
  public ModelPackage model() {
    return model;
  }

  /** Intra-op threads per graph run. */
  public int threads() {
    return threads;
  }

  private boolean parallel() {
    return model.decoding() == ModelPackage.Decoding.PARALLEL;
  }

  @Override
  public void predictAll(PromptBatch batch, float[] logits) {
    if (!parallel()) {
      throw new EngineException("model " + model.name() + " decodes autoregressively: prefill, then decode");
    }
    int b = batch.size();
    int count = b * model.actionTokens() * model.vocabSize();
    if (logits.length < count) {
      throw new IllegalArgumentException("logits: " + logits.length + " floats (expected at least " + count + ")");
    }
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      putPrompt(inputs, batch);
      try (OrtSession.Result result = prefill.run(inputs)) {
        FloatBuffer out = ((OnnxTensor) result.get("logits").orElseThrow()).getFloatBuffer();
        if (out.remaining() != count) {
          throw new EngineException("logits of " + out.remaining() + " floats (expected " + b + " x "
              + model.actionTokens() + " x " + model.vocabSize() + ")");
        }
        out.get(logits, 0, count);
      }
    } catch (OrtException | RuntimeException e) {
      throw e instanceof EngineException engine ? engine
          : new EngineException("parallel pass failed: " + e.getMessage(), e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  @Override
  public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
    if (parallel()) {
      throw new EngineException("model " + model.name() + " decodes in parallel: predictAll, not prefill");
    }
    int b = batch.size();
    int t0 = model.promptLength();
    OrtKvCache cache = new OrtKvCache(b, t0 + maxNewTokens);
    Map<String, OnnxTensor> inputs = new HashMap<>();
    Map<String, OnnxValue> outputs = new HashMap<>();
    try {
      putPrompt(inputs, batch);
      outputs.put("logits", cache.logitsTensor(environment));
      cache.bindWrite(environment, outputs, t0);
      try (OrtSession.Result ignored = prefill.run(inputs, outputs)) {
        cache.advance(t0);
        cache.copyLogits(logits);
      }
      return cache;
    } catch (OrtException | RuntimeException e) {
      cache.close();
      throw new EngineException("prefill failed: " + e.getMessage(), e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
      outputs.values().forEach(OnnxValue::close);
    }
  }

  /** The prefill graph's inputs: every camera's frames, the prompt ids and the proprioception. */
  private void putPrompt(Map<String, OnnxTensor> inputs, PromptBatch batch) throws OrtException {
    int b = batch.size();
    putImages(inputs, batch);
    LongBuffer instruction = directLongs(batch.instructionIds().length).put(batch.instructionIds()).flip();
    FloatBuffer proprio = directFloats(batch.proprio().length).put(batch.proprio()).flip();
    inputs.put("instruction_ids", OnnxTensor.createTensor(environment, instruction,
        new long[] {b, model.text().maxTokens()}));
    inputs.put("proprio", OnnxTensor.createTensor(environment, proprio, new long[] {b, model.proprioNames().size()}));
  }

  /**
   * One uint8 {@code [B, H, W, 3]} tensor per camera. The batch holds each sequence's frames back to
   * back; with one camera that is already the tensor's layout, with several each camera's frames are
   * gathered from every sequence.
   */
  private void putImages(Map<String, OnnxTensor> inputs, PromptBatch batch) throws OrtException {
    int b = batch.size();
    int perSequence = model.imageBytes();
    if (batch.images().length != (long) b * perSequence) {
      throw new IllegalArgumentException("images: " + batch.images().length + " bytes for " + b + " sequences (expected "
          + perSequence + " each)");
    }
    int offset = 0;
    for (ModelPackage.CameraInput camera : model.cameras()) {
      int frame = camera.frameBytes();
      ByteBuffer pixels = ByteBuffer.allocateDirect(b * frame);
      for (int r = 0; r < b; r++) {
        pixels.put(batch.images(), r * perSequence + offset, frame);
      }
      inputs.put(model.imageInput(camera), OnnxTensor.createTensor(environment, pixels.flip(),
          new long[] {b, camera.height(), camera.width(), 3}, OnnxJavaType.UINT8));
      offset += frame;
    }
  }

  @Override
  public void decode(KvCache kvCache, long[] tokenIds, long[] positionIds, float[] attentionMask, float[] logits) {
    OrtKvCache cache = (OrtKvCache) kvCache;
    int b = cache.batchSize();
    int t = cache.length();
    if (t + 1 > cache.capacity) {
      throw new EngineException("KV cache full: " + t + " positions (sized for " + cache.capacity + ")");
    }
    Map<String, OnnxTensor> inputs = new HashMap<>();
    Map<String, OnnxValue> outputs = new HashMap<>();
    try {
      cache.tokens.clear().put(tokenIds, 0, b).flip();
      cache.positions.clear().put(positionIds, 0, b).flip();
      cache.mask.clear().put(attentionMask, 0, b * (t + 1)).flip();
      inputs.put("token_ids", OnnxTensor.createTensor(environment, cache.tokens, new long[] {b, 1}));
      inputs.put("position_ids", OnnxTensor.createTensor(environment, cache.positions, new long[] {b, 1}));
      inputs.put("attention_mask", OnnxTensor.createTensor(environment, cache.mask, new long[] {b, t + 1}));
      cache.bindRead(environment, inputs, t);
      outputs.put("logits", cache.logitsTensor(environment));
      cache.bindWrite(environment, outputs, t + 1);
      try (OrtSession.Result ignored = decode.run(inputs, outputs)) {
        cache.advance(t + 1);
        cache.copyLogits(logits);
      }
    } catch (OrtException e) {
      throw new EngineException("decode failed at position " + t + ": " + e.getMessage(), e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
      outputs.values().forEach(OnnxValue::close);
    }
  }

  @Override
  public void close() {
    try {
      prefill.close();
      if (decode != null) {
        decode.close();
      }
    } catch (OrtException e) {
      throw new EngineException("closing ONNX Runtime sessions failed", e);
    }
  }

  private static FloatBuffer directFloats(int count) {
    return ByteBuffer.allocateDirect(count * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static LongBuffer directLongs(int count) {
    return ByteBuffer.allocateDirect(count * 8).order(ByteOrder.nativeOrder()).asLongBuffer();
  }

  /** Two cache buffers used alternately: one is read as past_kv while the other receives present_kv. */
  private final class OrtKvCache implements HostKvCache {
    private final int maxBatch;
    private final int capacity;
    private int batch;
    private final FloatBuffer[] buffers = new FloatBuffer[2];
    private final int elements;
    private final FloatBuffer logitBuffer;
    final LongBuffer tokens;
    final LongBuffer positions;
    final FloatBuffer mask;
    private int current;
    private int length;

    OrtKvCache(int batch, int capacity) {
      this.maxBatch = batch;
      this.batch = batch;
      this.capacity = capacity;
      long elements = (long) model.layers() * 2 * batch * model.heads() * capacity * model.headDim();
      if (elements > Integer.MAX_VALUE / 4) {
        throw new EngineException("KV cache of " + elements + " floats is too large for one buffer");
      }
      this.elements = (int) elements;
      logitBuffer = directFloats(batch * model.vocabSize());
      tokens = directLongs(batch);
      positions = directLongs(batch);
      mask = directFloats(batch * capacity);
    }

    /**
     * Allocated on first use: a prefill that is never decoded from (the scheduler's, which moves the
     * prompt into a slot) needs only the buffer it writes, and zeroing the other cost ~10% of prefill.
     */
    private FloatBuffer buffer(int index) {
      if (buffers[index] == null) {
        buffers[index] = directFloats(elements);
      }
      return buffers[index];
    }

    private int elements(int positions) {
      return model.layers() * 2 * batch * model.heads() * positions * model.headDim();
    }

    /** The past of every layer: slices of the current buffer, which is laid out [layers, 2, B, heads, T, headDim]. */
    void bindRead(OrtEnvironment env, Map<String, OnnxTensor> inputs, int positions) throws OrtException {
      bind(env, buffer(current), positions, pastNames, inputs);
    }

    /** Pins every layer's present into its slice of the spare buffer, in the same layout. */
    void bindWrite(OrtEnvironment env, Map<String, ? super OnnxTensor> outputs, int positions) throws OrtException {
      bind(env, buffer(1 - current), positions, presentNames, outputs);
    }

    private void bind(OrtEnvironment env, FloatBuffer buffer, int positions, List<String> names,
        Map<String, ? super OnnxTensor> tensors) throws OrtException {
      int perTensor = batch * model.heads() * positions * model.headDim();
      long[] shape = {batch, model.heads(), positions, model.headDim()};
      for (int i = 0; i < names.size(); i++) {
        tensors.put(names.get(i), OnnxTensor.createTensor(env, buffer.slice(i * perTensor, perTensor), shape));
      }
    }

    OnnxTensor logitsTensor(OrtEnvironment env) throws OrtException {
      return OnnxTensor.createTensor(env, logitBuffer.clear().limit(batch * model.vocabSize()),
          new long[] {batch, model.vocabSize()});
    }

    void advance(int newLength) {
      current = 1 - current;
      length = newLength;
    }

    void copyLogits(float[] out) {
      logitBuffer.clear().get(out, 0, batch * model.vocabSize());
    }

    @Override
    public int batchSize() {
      return batch;
    }

    @Override
    public FloatBuffer keysAndValues() {
      return buffer(current).slice(0, elements(length));
    }

    @Override
    public FloatBuffer reshape(int batchSize, int newLength) {
      if (batchSize < 1 || batchSize > maxBatch || newLength < 0 || newLength >= capacity) {
        throw new EngineException("cannot reshape a KV cache sized for " + maxBatch + " sequences of " + capacity
            + " positions to " + batchSize + " x " + newLength + " (a decode step needs one free position)");
      }
      current = 1 - current; // the old layout stays readable in the other buffer
      batch = batchSize;
      length = newLength;
      return buffer(current).slice(0, elements(newLength));
    }

    @Override
    public HostKvCache newCache(int maxBatchSize, int newCapacity) {
      return new OrtKvCache(maxBatchSize, newCapacity);
    }

    @Override
    public int length() {
      return length;
    }

    @Override
    public void close() {
      // Direct buffers are freed with their owner; nothing native is held between calls.
    }
  }
}
