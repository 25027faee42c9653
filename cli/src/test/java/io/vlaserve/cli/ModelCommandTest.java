package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code vla model check} on the shipped package and on broken copies of it. */
class ModelCommandTest {
  private static final Path SHIPPED = Path.of("..", "models", "tiny-vla");

  @TempDir Path dir;

  private record Run(int exit, String out) {}

  private static Run check(Path model) {
    StringWriter out = new StringWriter();
    CommandLine commandLine = VlaCommand.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(out, true));
    return new Run(commandLine.execute("model", "check", model.toString()), out.toString());
  }

  /** A copy of the shipped package (the files it names; tooling left out). */
  private Path copy(String name) throws IOException {
    Path copy = Files.createDirectories(dir.resolve(name));
    try (Stream<Path> files = Files.list(SHIPPED)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Files.copy(file, copy.resolve(file.getFileName()));
      }
    }
    return copy;
  }

  private static void replace(Path file, String from, String to) throws IOException {
    String text = Files.readString(file);
    assertTrue(text.contains(from), file + " contains " + from);
    Files.writeString(file, text.replaceFirst(java.util.regex.Pattern.quote(from), java.util.regex.Matcher.quoteReplacement(to)));
  }

  @Test
  void theShippedPackageIsServable() {
    Run run = check(SHIPPED);
    assertEquals(0, run.exit(), run.out());
    for (String check : new String[] {"manifest", "graphs", "shapes", "text", "chunk", "parity"}) {
      assertTrue(run.out().lines().anyMatch(l -> l.startsWith(check) && l.contains(" ok ")), check + ": " + run.out());
    }
    assertTrue(run.out().contains("servable"), run.out());
  }

  @Test
  void aVocabularySizeTheGraphsDoNotHaveIsNamedWithTheShape() throws IOException {
    Path model = copy("padded");
    // vllm-omni#6271's kind of mistake: a padded vocabulary size that is not the logits' width.
    replace(model.resolve("model.json"), "\n \"vocab_size\": 320", "\n \"vocab_size\": 384"); // the model's, not the tokenizer's
    Run run = check(model);
    assertEquals(1, run.exit(), run.out());
    assertTrue(run.out().lines().anyMatch(l -> l.startsWith("shapes") && l.contains("FAILED")
        && l.contains("logits") && l.contains("vocab_size")), run.out());
    assertTrue(run.out().contains("NOT servable"), run.out());
  }

  @Test
  void graphsThatComputeSomethingElseFailParity() throws IOException {
    Path model = copy("drifted");
    // The recorded logits of the first case no longer match: as if the graphs were exported wrong.
    String parity = Files.readString(model.resolve("parity.json"));
    int at = parity.indexOf("\"prefill_logits\":[") + "\"prefill_logits\":[".length();
    Files.writeString(model.resolve("parity.json"), parity.substring(0, at) + "100.0, " + parity.substring(at));
    Run run = check(model);
    assertEquals(1, run.exit(), run.out());
    assertTrue(run.out().lines().anyMatch(l -> l.startsWith("parity") && l.contains("FAILED")), run.out());
  }

  @Test
  void aSkillWithWordsTheVocabularyLacksIsNamed() throws IOException {
    Path model = copy("unknown-words");
    replace(model.resolve("model.json"), "\"skills\": [", "\"skills\": [\"juggle the red block\", ");
    Run run = check(model);
    assertEquals(1, run.exit(), run.out());
    assertTrue(run.out().lines().anyMatch(l -> l.startsWith("text") && l.contains("juggle the red block")), run.out());
  }

  @Test
  void aFolderWithoutAManifestSaysSoAndSkipsTheRest() {
    Run run = check(dir);
    assertEquals(1, run.exit(), run.out());
    assertTrue(run.out().lines().anyMatch(l -> l.startsWith("manifest") && l.contains("model.json not found")),
        run.out());
    assertTrue(run.out().lines().anyMatch(l -> l.startsWith("parity") && l.contains("skipped")), run.out());
  }
}
