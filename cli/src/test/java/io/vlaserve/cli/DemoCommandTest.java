package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code vla demo} as a user runs it, with one robot: four services as child processes from the
 * built jars, a simulated robot through robot-client, the report. Whether the policy succeeds is
 * the model's business (about 90%); the demo's is that the session reaches an outcome, the report
 * describes it, and every process is gone afterwards.
 */
class DemoCommandTest {
  @Test
  void runsTheWholeSuiteWithOneRobotAndWritesTheReport(@TempDir Path logs) throws Exception {
    long before = ProcessHandle.current().descendants().count();
    int exit = VlaCommand.commandLine().execute("demo", "--robots", "1", "--timeout", "180", "--actions", "500",
        "--log-dir", logs.toString());
    assertEquals(0, exit, "every session reached an outcome and the tokenizer held its bounds");

    JsonNode report = JsonMapper.builder().build().readTree(logs.resolve("report.json").toFile());
    assertEquals(1, report.get("tasks").asInt());
    assertEquals(1, report.get("robots").size());
    assertTrue(report.get("robots").get(0).get("outcome").asText().matches("SUCCEEDED|FAILED"), report.toString());
    assertTrue(report.get("control_step_latency").get("steps").asLong() > 0, "steps went through the gateway");
    assertTrue(report.get("controller_period_error").get("ticks").asLong() > 0, "the bridge's loop ran");
    assertTrue(report.get("subgoals").has("move to the red block") || report.get("subgoals").size() > 0);
    for (String chart : new String[] {"latency-cdf.png", "controller-jitter.png", "trajectory.png"}) {
      byte[] png = Files.readAllBytes(logs.resolve(chart));
      assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', chart + " is a PNG");
    }
    assertEquals(before, ProcessHandle.current().descendants().count(), "no service process is left behind");
  }
}
