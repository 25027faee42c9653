package io.vlaserve.policy;

import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Path;

/** A package loaded with a one-thread ONNX Runtime engine and its policy: what most model tests need. */
record LoadedModel(ModelPackage model, OnnxRuntimeEngine engine, VlaPolicy policy) implements AutoCloseable {

  static LoadedModel load(Path directory) {
    ModelPackage model = ModelPackage.load(directory);
    OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1);
    return new LoadedModel(model, engine, new VlaPolicy(model, engine));
  }

  @Override
  public void close() {
    engine.close();
  }
}
