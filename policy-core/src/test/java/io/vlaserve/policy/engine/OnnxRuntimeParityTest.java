package io.vlaserve.policy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ShippedModel;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * ONNX Runtime (Java) reproduces the logits PyTorch recorded at export time, for the prefill and
 * for several decode steps through the KV cache, batched.
 */
class OnnxRuntimeParityTest {

  @Test
  void shippedModelMatchesItsRecordedPytorchLogits() throws Exception {
    ModelPackage model = ShippedModel.load();
    JsonNode parity = JsonMapper.builder().build().readTree(Files.readString(model.parityFile()));
    double tolerance = model.parityTolerance();
    assertTrue(tolerance > 0 && tolerance <= 1e-4, "tolerance " + tolerance);
    int cases = 0;
    double worst = 0;
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1)) {
      for (JsonNode c : parity.get("cases")) {
        int batch = c.get("image_shape").get(0).intValue();
        byte[] images = new byte[c.get("image").size()];
        for (int i = 0; i < images.length; i++) {
          images[i] = (byte) c.get("image").get(i).intValue();
        }
        long[] instruction = longs(c.get("instruction_ids"));
        float[] proprio = floats(c.get("proprio"));
        float[] logits = new float[batch * model.vocabSize()];
        JsonNode steps = c.get("decode_steps");
        try (KvCache cache = engine.prefill(new PromptBatch(batch, images, instruction, proprio), logits, steps.size())) {
          worst = Math.max(worst, compare(floats(c.get("prefill_logits")), logits, tolerance, "prefill"));
          assertEquals(model.promptLength(), cache.length());
          int s = 0;
          for (JsonNode step : steps) {
            engine.decode(cache, longs(step.get("token_ids")), longs(step.get("position_ids")),
                floats(step.get("attention_mask")), logits);
            worst = Math.max(worst, compare(floats(step.get("logits")), logits, tolerance, "decode step " + s++));
          }
        }
        cases++;
      }
    }
    assertTrue(cases > 0, "parity.json holds cases");
    System.out.printf("parity: %d cases, largest |ORT - PyTorch| logit difference %.3g (tolerance %.1g)%n", cases, worst, tolerance);
  }

  @Test
  void askingForTheCudaProviderOnTheCpuBuildFailsWithWhatTheBuildHas() {
    org.junit.jupiter.api.Assumptions.assumeFalse(
        ai.onnxruntime.OrtEnvironment.getAvailableProviders().contains(ai.onnxruntime.OrtProvider.CUDA),
        "this ONNX Runtime build has the CUDA provider");
    EngineException e = org.junit.jupiter.api.Assertions.assertThrows(EngineException.class,
        () -> new OnnxRuntimeEngine(ShippedModel.load(), 1, 0));
    assertTrue(e.getMessage().contains("CUDA execution provider requested") && e.getMessage().contains("CPU"),
        e.getMessage());
  }

  private static double compare(float[] expected, float[] actual, double tolerance, String what) {
    assertEquals(expected.length, actual.length, what + " logits");
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      double difference = Math.abs(expected[i] - actual[i]);
      worst = Math.max(worst, difference);
      if (difference > tolerance) {
        throw new AssertionError(what + ": logit " + i + " is " + actual[i] + " in ONNX Runtime, " + expected[i]
            + " in PyTorch (difference " + difference + " > " + tolerance + ")");
      }
    }
    return worst;
  }

  static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).longValue();
    }
    return out;
  }

  static float[] floats(JsonNode array) {
    float[] out = new float[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).floatValue();
    }
    return out;
  }
}
