package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code vla dataset generate}, with the shipped parallel model driving as the learner. */
class DatasetCommandTest {
  private static final Path LEARNER = Path.of("..", "models", "tiny-vla-parallel");

  @TempDir Path dir;

  private static int run(StringWriter out, String... args) {
    CommandLine commandLine = VlaCommand.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(out, true));
    return commandLine.execute(args);
  }

  @Test
  void aModelPackageDrivesAndItsStatisticsTokenizeTheRows() throws Exception {
    Path out = dir.resolve("onpolicy");
    StringWriter printed = new StringWriter();
    int exit = run(printed, "dataset", "generate", "--out", out.toString(), "--episodes", "3", "--seed", "7",
        "--learner", LEARNER.toString(), "--learner-prob", "1");
    assertEquals(0, exit, printed.toString());
    JsonNode meta = JsonMapper.builder().build().readTree(out.resolve("meta.json").toFile());
    assertEquals(3, meta.get("episodes").asInt());
    JsonNode onPolicy = meta.get("on_policy");
    // Every subgoal is the learner's (a task has three at least: move to, grasp, lift).
    assertTrue(onPolicy.get("subgoals_driven").asLong() >= 3 * 3, onPolicy.toString());
    assertTrue(onPolicy.get("rows").asLong() > 0, onPolicy.toString());
    assertEquals(1.0, onPolicy.get("learner_probability").asDouble());
    assertArrayEquals(Files.readAllBytes(LEARNER.resolve("dataset_statistics.json")),
        Files.readAllBytes(out.resolve("dataset_statistics.json")));
  }

  @Test
  void aLearnerProbabilityOutsideItsRangeIsRefused() {
    StringWriter printed = new StringWriter();
    int exit = run(printed, "dataset", "generate", "--out", dir.resolve("x").toString(), "--episodes", "1",
        "--learner", LEARNER.toString(), "--learner-prob", "0");
    assertNotEquals(0, exit);
    assertTrue(printed.toString().contains("learner probability: 0.0"), printed.toString());
  }
}
