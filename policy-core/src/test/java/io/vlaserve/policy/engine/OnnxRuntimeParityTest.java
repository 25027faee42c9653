package io.vlaserve.policy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ModelCheck;
import io.vlaserve.policy.ShippedModel;
import io.vlaserve.policy.model.ModelPackage;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime (Java) reproduces the logits PyTorch recorded at export time, for the prefill and
 * for several decode steps through the KV cache, batched.
 */
class OnnxRuntimeParityTest {

  @Test
  void shippedModelMatchesItsRecordedPytorchLogits() {
    ModelPackage model = ShippedModel.load();
    double tolerance = model.parityTolerance();
    assertTrue(tolerance > 0 && tolerance <= 1e-4, "tolerance " + tolerance);
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1)) {
      ModelCheck.Finding parity = ModelCheck.parity(model, engine);
      assertEquals(ModelCheck.Status.OK, parity.status(), parity.detail());
      assertTrue(parity.detail().matches("\\d+ cases, .*"), parity.detail());
      System.out.println("parity: " + parity.detail());
    }
  }

  @Test
  void theGraphsAreShapedAsTheManifestSays() {
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(ShippedModel.load(), 1)) {
      assertEquals(java.util.List.of(), engine.shapeProblems());
    }
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
}
