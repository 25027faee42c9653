package io.vlaserve.policy;

import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Path;

/** The model package the project ships, which tests load (never skipped: it is part of the repo). */
public final class ShippedModel {
  public static final Path DIRECTORY = Path.of("..", "models", "tiny-vla").toAbsolutePath().normalize();

  private ShippedModel() {}

  public static ModelPackage load() {
    return ModelPackage.load(DIRECTORY);
  }
}
