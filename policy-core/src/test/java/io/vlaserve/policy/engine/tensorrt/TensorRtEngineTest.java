package io.vlaserve.policy.engine.tensorrt;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ShippedModel;
import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The TensorRT engine. Everywhere: the availability probe explains itself and never throws, and the
 * engine refuses to construct where TensorRT cannot run, quoting why. Where CUDA and TensorRT exist
 * (skipped elsewhere, with the probe's reason as the skip message): the shipped model's prefill and
 * decode logits match the PyTorch ones in parity.json (1e-3 in FP32, 5e-2 in FP16), and a second
 * engine loads the plans the first one cached. These run the KV cache layout the shipped graphs have
 * (packed or per-layer); {@link KvLayoutTest} covers the per-layer slicing without a GPU.
 */
class TensorRtEngineTest {
  private static final double FP32_TOLERANCE = 1e-3;
  private static final double FP16_TOLERANCE = 5e-2;

  @Test
  void probeNeverThrowsAndExplainsItself() {
    TensorRtAvailability probe = assertDoesNotThrow(TensorRtAvailability::probe);
    assertSame(probe, TensorRtAvailability.probe(), "probed once per process");
    assertNotNull(probe.reason());
    assertFalse(probe.reason().isBlank());
    if (probe.available()) {
      assertTrue(probe.tensorRtVersion().startsWith("10."), probe.tensorRtVersion());
      assertNotNull(probe.deviceName());
      assertNotNull(probe.computeCapability());
      assertNotNull(probe.cudaDriverVersion());
    } else {
      assertNull(probe.deviceName(), "no device without a usable driver: " + probe);
      assertTrue(probe.toString().startsWith("TensorRT unavailable: "));
    }
    System.out.println("TensorRT probe: " + probe);
  }

  @Test
  void constructionFailsWithTheProbeReasonWhereTensorRtCannotRun() {
    TensorRtAvailability probe = TensorRtAvailability.probe();
    Assumptions.assumeFalse(probe.available(), "TensorRT can run here (" + probe.reason() + ")");
    ModelPackage model = ShippedModel.load();
    for (boolean fp16 : new boolean[] {false, true}) {
      EngineException e = assertThrows(EngineException.class, () -> new TensorRtEngine(model, fp16));
      assertEquals("TensorRT engine unavailable: " + probe.reason(), e.getMessage());
    }
  }

  @Test
  void fp32MatchesPytorch(@TempDir Path planCache) throws Exception {
    assumeTensorRt();
    ModelPackage model = ShippedModel.load();
    Parity parity = Parity.load(model);
    try (TensorRtEngine engine = parity.engine(model, false, planCache)) {
      assertEquals("tensorrt-fp32", engine.name());
      double worst = parity.check(engine, model, FP32_TOLERANCE, new ArrayList<>());
      System.out.printf("TensorRT FP32 parity (%s KV cache I/O): %d cases, largest |TensorRT - PyTorch| logit"
          + " difference %.3g (tolerance %.0e)%n", engine.kvLayout(GraphShapes.DECODE), parity.cases.size(), worst,
          FP32_TOLERANCE);
    }
  }

  @Test
  void fp16MatchesPytorchLoosely(@TempDir Path planCache) throws Exception {
    assumeTensorRt();
    ModelPackage model = ShippedModel.load();
    Parity parity = Parity.load(model);
    try (TensorRtEngine engine = parity.engine(model, true, planCache)) {
      assertEquals("tensorrt-fp16", engine.name());
      double worst = parity.check(engine, model, FP16_TOLERANCE, new ArrayList<>());
      System.out.printf("TensorRT FP16 parity: %d cases, largest |TensorRT - PyTorch| logit difference %.3g (tolerance %.0e)%n",
          parity.cases.size(), worst, FP16_TOLERANCE);
    }
  }

  @Test
  void secondEngineLoadsTheCachedPlansFasterWithTheSameLogits(@TempDir Path planCache) throws Exception {
    assumeTensorRt();
    ModelPackage model = ShippedModel.load();
    Parity parity = Parity.load(model);
    List<float[]> first = new ArrayList<>();
    Duration built;
    try (TensorRtEngine engine = parity.engine(model, false, planCache)) {
      assertEquals(List.of(false, false), engine.plans().stream().map(TensorRtEngine.Plan::fromCache).toList());
      built = total(engine.plans());
      parity.check(engine, model, FP32_TOLERANCE, first);
      for (TensorRtEngine.Plan plan : engine.plans()) {
        assertTrue(Files.size(plan.file()) > 0, plan.toString());
        assertTrue(Files.readString(PlanCache.keyFile(plan.file())).contains("onnx_sha256="), plan.toString());
      }
      // the decode plan is keyed by the profile of the layout the graph has
      String firstPast = engine.kvLayout(GraphShapes.DECODE).pastNames(model.layers()).get(0);
      assertTrue(Files.readString(PlanCache.keyFile(engine.plans().get(1).file())).contains("; " + firstPast + " min "),
          engine.plans().get(1).toString());
    }
    List<float[]> second = new ArrayList<>();
    Duration loaded;
    try (TensorRtEngine engine = parity.engine(model, false, planCache)) {
      assertEquals(List.of(true, true), engine.plans().stream().map(TensorRtEngine.Plan::fromCache).toList());
      loaded = total(engine.plans());
      parity.check(engine, model, FP32_TOLERANCE, second);
    }
    assertTrue(loaded.compareTo(built) < 0, "loading (" + loaded + ") should beat building (" + built + ")");
    assertEquals(first.size(), second.size());
    for (int i = 0; i < first.size(); i++) {
      compare(first.get(i), second.get(i), 1e-5, "cached plan, logits " + i);
    }
    System.out.printf("TensorRT plan cache: built in %d ms, loaded in %d ms%n", built.toMillis(), loaded.toMillis());
  }

  @Test
  void refusesBatchesAndCachesOutsideItsProfile(@TempDir Path planCache) throws Exception {
    assumeTensorRt();
    ModelPackage model = ShippedModel.load();
    try (TensorRtEngine engine = new TensorRtEngine(model, false, 1, 2, planCache)) {
      int pixels = model.imageHeight() * model.imageWidth() * 3;
      int l = model.text().maxTokens();
      int p = model.proprioNames().size();
      float[] logits = new float[2 * model.vocabSize()];
      EngineException batch = assertThrows(EngineException.class, () -> engine.prefill(
          new PromptBatch(2, new byte[2 * pixels], new long[2 * l], new float[2 * p]), logits, 1));
      assertTrue(batch.getMessage().contains("1..1"), batch.getMessage());
      EngineException tokens = assertThrows(EngineException.class, () -> engine.prefill(
          new PromptBatch(1, new byte[pixels], new long[l], new float[p]), logits, 3));
      assertTrue(tokens.getMessage().contains("at most 2"), tokens.getMessage());
      long[] instruction = new long[l]; // <pad> ids: any valid ids do for a shape test
      try (KvCache cache = engine.prefill(new PromptBatch(1, new byte[pixels], instruction, new float[p]), logits, 1)) {
        float[] mask = new float[model.promptLength() + 1];
        java.util.Arrays.fill(mask, 1f);
        engine.decode(cache, new long[] {0}, new long[] {model.promptLength()}, mask, logits);
        EngineException full = assertThrows(EngineException.class, () -> engine.decode(cache, new long[] {0},
            new long[] {model.promptLength() + 1}, new float[model.promptLength() + 2], logits));
        assertTrue(full.getMessage().contains("KV cache full"), full.getMessage());
      }
    }
  }

  private static void assumeTensorRt() {
    TensorRtAvailability probe = TensorRtAvailability.probe();
    Assumptions.assumeTrue(probe.available(), probe.reason());
  }

  private static Duration total(List<TensorRtEngine.Plan> plans) {
    return plans.stream().map(TensorRtEngine.Plan::elapsed).reduce(Duration.ZERO, Duration::plus);
  }

  /** parity.json: the inputs and PyTorch logits recorded at export time. */
  private record Parity(List<JsonNode> cases, int maxBatch, int maxSteps) {
    static Parity load(ModelPackage model) throws Exception {
      assertNotNull(model.parityFile(), "the shipped model has a parity file");
      JsonNode root = JsonMapper.builder().build().readTree(Files.readString(model.parityFile()));
      List<JsonNode> cases = new ArrayList<>();
      root.get("cases").forEach(cases::add);
      assertFalse(cases.isEmpty(), "parity.json holds cases");
      int maxBatch = 1;
      int maxSteps = 1;
      for (JsonNode c : cases) {
        maxBatch = Math.max(maxBatch, c.get("image_shape").get(0).intValue());
        maxSteps = Math.max(maxSteps, c.get("decode_steps").size());
      }
      return new Parity(cases, maxBatch, maxSteps);
    }

    /** An engine with the production profile, widened if parity.json needs more. */
    TensorRtEngine engine(ModelPackage model, boolean fp16, Path planCache) {
      return new TensorRtEngine(model, fp16, Math.max(TensorRtEngine.DEFAULT_MAX_BATCH, maxBatch),
          Math.max(model.chunkLength() * model.actionDimensions(), maxSteps), planCache);
    }

    /** Runs every case; returns the largest difference and appends every logits array to {@code collected}. */
    double check(TensorRtEngine engine, ModelPackage model, double tolerance, List<float[]> collected) {
      double worst = 0;
      for (JsonNode c : cases) {
        int batch = c.get("image_shape").get(0).intValue();
        byte[] images = new byte[c.get("image").size()];
        for (int i = 0; i < images.length; i++) {
          images[i] = (byte) c.get("image").get(i).intValue();
        }
        float[] logits = new float[batch * model.vocabSize()];
        JsonNode steps = c.get("decode_steps");
        try (KvCache cache = engine.prefill(new PromptBatch(batch, images, longs(c.get("instruction_ids")),
            floats(c.get("proprio"))), logits, steps.size())) {
          worst = Math.max(worst, compare(floats(c.get("prefill_logits")), logits, tolerance, "prefill"));
          collected.add(logits.clone());
          assertEquals(model.promptLength(), cache.length());
          int s = 0;
          for (JsonNode step : steps) {
            engine.decode(cache, longs(step.get("token_ids")), longs(step.get("position_ids")),
                floats(step.get("attention_mask")), logits);
            worst = Math.max(worst, compare(floats(step.get("logits")), logits, tolerance, "decode step " + s++));
            collected.add(logits.clone());
          }
          assertEquals(model.promptLength() + steps.size(), cache.length());
        }
      }
      return worst;
    }
  }

  private static double compare(float[] expected, float[] actual, double tolerance, String what) {
    assertEquals(expected.length, actual.length, what + " logits");
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      double difference = Math.abs(expected[i] - actual[i]);
      if (!(difference <= tolerance)) { // NaN fails too
        throw new AssertionError(what + ": logit " + i + " is " + actual[i] + " in TensorRT, " + expected[i]
            + " expected (difference " + difference + " > " + tolerance + ")");
      }
      worst = Math.max(worst, difference);
    }
    return worst;
  }

  private static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).longValue();
    }
    return out;
  }

  private static float[] floats(JsonNode array) {
    float[] out = new float[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).floatValue();
    }
    return out;
  }
}
