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

  /** The child JVM: loads the shipped model's engine and closes it; with an argument, then waits to be killed. */
  static final class LoadAndClose {
    public static void main(String[] args) throws InterruptedException {
      try (var engine = new OnnxRuntimeEngine(ShippedModel.load(), 1)) {
        System.out.println("loaded " + engine.name());
        System.out.flush();
        if (args.length > 0) {
          Thread.sleep(Long.MAX_VALUE);
        }
      }
    }
  }

  @Test
  void aKilledProcessesLibrariesAreRemovedByTheNextProcessToLoad(@TempDir Path scratch) throws Exception {
    Path tmp = Files.createDirectory(scratch.resolve("tmp"));
    Path home = Files.createDirectory(scratch.resolve("home"));
    Process killed = child(tmp, home, "wait").start();
    // Its start-up lines until it has loaded; bounded, so a child that hangs fails the test instead of stalling it.
    var loaded = java.util.concurrent.CompletableFuture.supplyAsync(() -> new java.io.BufferedReader(
        new java.io.InputStreamReader(killed.getInputStream(), StandardCharsets.UTF_8)).lines()
        .anyMatch(line -> line.startsWith("loaded ")));
    try {
      assertTrue(loaded.get(120, TimeUnit.SECONDS), "the child JVM never loaded the engine");
    } finally {
      killed.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: no exit hooks
    }
    List<String> left = contents(tmp);
    assertTrue(left.stream().anyMatch(f -> f.startsWith(OnnxRuntimeNatives.OWN_DIRECTORY_PREFIX) && f.endsWith(".so")),
        "a killed process leaves its libraries: " + left);
    // As if a minute had passed: the next process to load removes them, and leaves nothing itself.
    try (Stream<Path> entries = Files.list(tmp)) {
      for (Path entry : entries.toList()) {
        Files.setLastModifiedTime(entry, java.nio.file.attribute.FileTime.from(
            java.time.Instant.now().minus(OnnxRuntimeNatives.LEFTOVER_AGE).minusSeconds(5)));
      }
    }
    Process next = child(tmp, home).start();
    String nextOutput = new String(next.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(next.waitFor(60, TimeUnit.SECONDS) && next.exitValue() == 0, nextOutput);
    assertEquals(List.of(), contents(tmp), "left in the temporary directory");
  }

  @Test
  void leftoversOfLiveOrStartingProcessesStay(@TempDir Path tmp) throws Exception {
    java.time.Instant now = java.time.Instant.now();
    java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.from(now.minus(OnnxRuntimeNatives.LEFTOVER_AGE).minusSeconds(5));
    Path live = Files.createDirectory(tmp.resolve(OnnxRuntimeNatives.OWN_DIRECTORY_PREFIX + "1"));
    Files.writeString(live.resolve("libonnxruntime.so"), "x");
    Path dead = Files.createDirectory(tmp.resolve(OnnxRuntimeNatives.OWN_DIRECTORY_PREFIX + "2"));
    Files.writeString(dead.resolve("libonnxruntime.so"), "x");
    Files.writeString(dead.resolve(OnnxRuntimeNatives.LOCK_FILE), "");
    Path starting = Files.createDirectory(tmp.resolve(OnnxRuntimeNatives.OWN_DIRECTORY_PREFIX + "3"));
    Path ortInUse = Files.createDirectory(tmp.resolve(OnnxRuntimeNatives.ORT_DIRECTORY_PREFIX + "4"));
    Files.writeString(ortInUse.resolve("libonnxruntime.so"), "x");
    Path ortEmpty = Files.createDirectory(tmp.resolve(OnnxRuntimeNatives.ORT_DIRECTORY_PREFIX + "5"));
    Path unrelated = Files.createDirectory(tmp.resolve("something-else"));
    try (var channel = java.nio.channels.FileChannel.open(live.resolve(OnnxRuntimeNatives.LOCK_FILE),
        java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
        var held = channel.lock()) {
      for (Path directory : List.of(live, dead, ortInUse, ortEmpty, unrelated)) {
        Files.setLastModifiedTime(directory, old);
      }
      OnnxRuntimeNatives.removeLeftovers(tmp, now);
      assertTrue(Files.exists(live.resolve("libonnxruntime.so")), "its process holds the lock");
      assertTrue(Files.notExists(dead), "nobody holds its lock");
      assertTrue(Files.exists(starting), "younger than a minute: its process may be locking it now");
      assertTrue(Files.exists(ortInUse.resolve("libonnxruntime.so")), "ONNX Runtime's own loader filled it");
      assertTrue(Files.notExists(ortEmpty), "an empty one of ONNX Runtime's");
      assertTrue(Files.exists(unrelated));
    }
  }

  private static ProcessBuilder child(Path tmp, Path home, String... args) {
    List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + tmp, "-Duser.home=" + home,
        "-cp", System.getProperty("java.class.path"), LoadAndClose.class.getName()));
    command.addAll(List.of(args));
    ProcessBuilder child = new ProcessBuilder(command).redirectErrorStream(true);
    Map<String, String> environment = child.environment();
    environment.put(OnnxRuntimeNatives.TELEMETRY_OPT_OUT, "1"); // as the images and the build set it
    environment.put("TMPDIR", tmp.toString());
    environment.put("HOME", home.toString());
    environment.remove("XDG_CACHE_HOME");
    return child;
  }

  @Test
  void loadingAnEngineAndClosingItLeavesNothingInTheTemporaryOrHomeDirectory(@TempDir Path scratch)
      throws Exception {
    Path tmp = Files.createDirectory(scratch.resolve("tmp"));
    Path home = Files.createDirectory(scratch.resolve("home"));
    ProcessBuilder child = child(tmp, home);
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
