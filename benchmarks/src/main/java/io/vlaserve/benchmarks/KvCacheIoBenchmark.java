package io.vlaserve.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vlaserve.policy.engine.KvCacheNames;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.HdrHistogram.Histogram;

/**
 * One decode step of the shipped graph (a KV cache tensor per layer and per key/value, format
 * vla-serve-model/2) against the same graph with the packed cache tensor of format /1, alternating
 * run by run in one process, at several batch sizes and cache lengths; both bound to pinned
 * buffers as the engine binds them. Also checks that both give the same logits and cache, bit for
 * bit.
 *
 * <pre>
 * git show 7f8a74a:models/tiny-vla/decode.onnx > target/decode-packed.onnx   # the last packed graph
 * java --enable-native-access=ALL-UNNAMED -Dvla.home=$PWD -cp benchmarks/target/benchmarks.jar \
 *     io.vlaserve.benchmarks.KvCacheIoBenchmark target/decode-packed.onnx [runs per cell, default 400]
 * </pre>
 */
public final class KvCacheIoBenchmark {
  private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || !Files.isRegularFile(Path.of(args[0]))) {
      System.err.println("usage: KvCacheIoBenchmark <packed decode.onnx> [runs]  (see the class comment for how to get it)");
      System.exit(2);
    }
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 400;
    ModelPackage model = BenchmarkScene.load().model();
    System.out.printf("load before: %s%n", Files.readString(Path.of("/proc/loadavg")).trim());
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(1);
      options.setInterOpNumThreads(1);
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession packed = ENV.createSession(args[0], options);
          OrtSession perLayer = ENV.createSession(model.decodeGraph().toString(), options)) {
        System.out.println("| batch | cache length T | packed past_kv p50 (ms) | per-layer p50 (ms) | speed-up | bit-identical |");
        System.out.println("|---:|---:|---:|---:|---:|---|");
        for (int batch : new int[] {1, 8, 21, 32}) {
          for (int length : new int[] {model.promptLength(), model.promptLength() + 13, model.promptLength() + 26}) {
            cell(model, packed, perLayer, batch, length, runs);
          }
        }
      }
    }
    System.out.printf("load after: %s%n", Files.readString(Path.of("/proc/loadavg")).trim());
  }

  private static void cell(ModelPackage model, OrtSession packed, OrtSession perLayer, int batch, int length, int runs)
      throws Exception {
    int layers = model.layers();
    int perTensor = batch * model.heads() * length * model.headDim();
    int perTensorOut = batch * model.heads() * (length + 1) * model.headDim();
    SplittableRandom random = new SplittableRandom(batch * 1000L + length);
    FloatBuffer past = floats(2 * layers * perTensor);
    for (int i = 0; i < past.capacity(); i++) {
      past.put(i, (float) (random.nextDouble() * 2 - 1));
    }
    FloatBuffer presentPacked = floats(2 * layers * perTensorOut);
    FloatBuffer presentPerLayer = floats(2 * layers * perTensorOut);
    FloatBuffer logitsPacked = floats(batch * model.vocabSize());
    FloatBuffer logitsPerLayer = floats(batch * model.vocabSize());
    LongBuffer tokens = longs(batch);
    LongBuffer positions = longs(batch);
    for (int r = 0; r < batch; r++) {
      tokens.put(r, model.vocabSize() - 1 - r);
      positions.put(r, length);
    }
    FloatBuffer mask = floats(batch * (length + 1));
    for (int i = 0; i < mask.capacity(); i++) {
      mask.put(i, 1f);
    }
    Histogram packedTimes = new Histogram(3);
    Histogram perLayerTimes = new Histogram(3);
    for (int run = 0; run < 2 * runs + 100; run++) {
      boolean usePacked = run % 2 == 0;
      Map<String, OnnxTensor> inputs = new HashMap<>();
      Map<String, OnnxValue> outputs = new HashMap<>();
      inputs.put("token_ids", OnnxTensor.createTensor(ENV, tokens, new long[] {batch, 1}));
      inputs.put("position_ids", OnnxTensor.createTensor(ENV, positions, new long[] {batch, 1}));
      inputs.put("attention_mask", OnnxTensor.createTensor(ENV, mask, new long[] {batch, length + 1}));
      long[] packedShape = {layers, 2, batch, model.heads(), length, model.headDim()};
      if (usePacked) {
        inputs.put("past_kv", OnnxTensor.createTensor(ENV, past, packedShape));
        packedShape[4] = length + 1;
        outputs.put("present_kv", OnnxTensor.createTensor(ENV, presentPacked, packedShape));
        outputs.put("logits", OnnxTensor.createTensor(ENV, logitsPacked, new long[] {batch, model.vocabSize()}));
      } else {
        for (int i = 0; i < 2 * layers; i++) {
          inputs.put(KvCacheNames.past(layers).get(i), OnnxTensor.createTensor(ENV, past.slice(i * perTensor, perTensor),
              new long[] {batch, model.heads(), length, model.headDim()}));
          outputs.put(KvCacheNames.present(layers).get(i), OnnxTensor.createTensor(ENV,
              presentPerLayer.slice(i * perTensorOut, perTensorOut),
              new long[] {batch, model.heads(), length + 1, model.headDim()}));
        }
        outputs.put("logits", OnnxTensor.createTensor(ENV, logitsPerLayer, new long[] {batch, model.vocabSize()}));
      }
      long started = System.nanoTime();
      try (OrtSession.Result ignored = (usePacked ? packed : perLayer).run(inputs, outputs)) {
        long micros = (System.nanoTime() - started) / 1000;
        if (run >= 100) { // warm-up
          (usePacked ? packedTimes : perLayerTimes).recordValue(micros);
        }
      }
      inputs.values().forEach(OnnxTensor::close);
      outputs.values().forEach(OnnxValue::close);
    }
    boolean identical = presentPacked.equals(presentPerLayer) && logitsPacked.equals(logitsPerLayer);
    double packedP50 = packedTimes.getValueAtPercentile(50) / 1000.0;
    double perLayerP50 = perLayerTimes.getValueAtPercentile(50) / 1000.0;
    System.out.printf("| %d | %d | %.3f | %.3f | %.2fx | %s |%n", batch, length, packedP50, perLayerP50,
        packedP50 / perLayerP50, identical ? "yes" : "NO");
  }

  private static FloatBuffer floats(int count) {
    return ByteBuffer.allocateDirect(count * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static LongBuffer longs(int count) {
    return ByteBuffer.allocateDirect(count * 8).order(ByteOrder.nativeOrder()).asLongBuffer();
  }
}
