package io.vlaserve.policy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ShippedModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX Runtime loads once per JVM, and this test JVM has loaded it long before, so the engine is
 * loaded and closed in a JVM of its own whose temporary directory ({@code java.io.tmpdir} and
 * {@code $TMPDIR}) and home directory are fresh and must stay empty.
 */
class OnnxRuntimeNativesTest {

  /** The child JVM: loads the shipped model's engine and closes it. */
  static final class LoadAndClose {
    public static void main(String[] args) {
      try (var engine = new OnnxRuntimeEngine(ShippedModel.load(), 1)) {
        System.out.println("loaded " + engine.name());
      }
    }
  }

  @Test
  void loadingAnEngineAndClosingItLeavesNothingInTheTemporaryOrHomeDirectory(@TempDir Path scratch)
      throws Exception {
    Path tmp = Files.createDirectory(scratch.resolve("tmp"));
    Path home = Files.createDirectory(scratch.resolve("home"));
    ProcessBuilder child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + tmp, "-Duser.home=" + home,
        "-cp", System.getProperty("java.class.path"), LoadAndClose.class.getName())
        .redirectErrorStream(true);
    Map<String, String> environment = child.environment();
    environment.put(OnnxRuntimeNatives.TELEMETRY_OPT_OUT, "1"); // as the images and the build set it
    environment.put("TMPDIR", tmp.toString());
    environment.put("HOME", home.toString());
    environment.remove("XDG_CACHE_HOME");
    Process process = child.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the child JVM did not exit: " + output);
    assertEquals(0, process.exitValue(), output);
    assertTrue(output.contains("loaded onnxruntime"), output);
    assertEquals(List.of(), contents(tmp), "left in the temporary directory");
    assertEquals(List.of(), contents(home), "left in the home directory");
  }

  private static List<String> contents(Path directory) throws IOException {
    try (Stream<Path> files = Files.walk(directory)) {
      return files.filter(file -> !file.equals(directory)).map(file -> directory.relativize(file).toString()).sorted()
          .toList();
    }
  }
}
