package io.vlaserve.policy.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ShippedModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelPackageTest {
  @TempDir Path directory;

  @Test
  void shippedPackageHasTheWordListFormatWhichStillLoads() {
    ModelPackage model = ShippedModel.load();
    assertEquals(ModelPackage.FORMAT_WORD_LIST, model.manifest().path("format").asString());
  }

  @Test
  void packedKvCachePackageIsRefusedWithTheWayToConvertIt() throws IOException {
    copyShippedWithFormat(ModelPackage.FORMAT_PACKED_KV);
    InvalidModelPackageException e = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(directory));
    assertTrue(e.getMessage().contains("kv_io.py " + directory), e.getMessage());
    assertTrue(e.getMessage().contains(ModelPackage.FORMAT_WORD_LIST), e.getMessage());
  }

  @Test
  void unknownFormatNamesTheExpectedOne() throws IOException {
    copyShippedWithFormat("vla-serve-model/9");
    InvalidModelPackageException e = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(directory));
    assertTrue(e.getMessage().contains("\"vla-serve-model/9\" (expected: \"" + ModelPackage.FORMAT + "\" or \""
        + ModelPackage.FORMAT_WORD_LIST + "\")"),
        e.getMessage());
  }

  private void copyShippedWithFormat(String format) throws IOException {
    try (var files = Files.list(ShippedModel.DIRECTORY)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Files.copy(file, directory.resolve(file.getFileName()));
      }
    }
    Path manifest = directory.resolve("model.json");
    String text = Files.readString(manifest);
    String current = "\"format\": \"" + ModelPackage.FORMAT_WORD_LIST + "\"";
    assertTrue(text.contains(current), "the shipped manifest says " + current);
    Files.writeString(manifest, text.replace(current, "\"format\": \"" + format + "\""));
  }
}
