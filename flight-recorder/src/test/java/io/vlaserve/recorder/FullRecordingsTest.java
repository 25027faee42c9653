package io.vlaserve.recorder;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FullRecordingsTest {
  private static final FlightRecorder.Topic TOPIC = new FlightRecorder.Topic("/t", null, null, null, "json");
  private static final long S = 1_000_000_000L;

  private static void say(FlightRecorder recorder, String robot, long time) {
    recorder.record(TOPIC, robot, time, "{}".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void overlappingSessionsRecordUntilTheLastEndsAndConfiguredRobotsAlways(@TempDir Path dir) throws Exception {
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(dir, "svc"))) {
      FullRecordings full = new FullRecordings(recorder, Set.of("arm-9"));
      full.sessionStarted("arm-1");
      say(recorder, "arm-1", S);
      full.sessionStarted("arm-1"); // the next session before the last has ended
      full.sessionEnded("arm-1");
      say(recorder, "arm-1", 2 * S); // still recorded: one session is open
      full.sessionEnded("arm-1");
      say(recorder, "arm-1", 3 * S); // not in a full recording any more
      full.sessionEnded("arm-1"); // an end too many changes nothing
      full.seen("arm-9");
      full.sessionStarted("arm-9");
      full.sessionEnded("arm-9"); // configured: its recording goes on
      say(recorder, "arm-9", 4 * S);
      full.seen("arm-2"); // neither configured nor asked
      say(recorder, "arm-2", 5 * S);
      recorder.ringsHeld(); // the writer has taken everything so far
      assertEquals(1, recorder.files().size(), "arm-1's finished recording: " + recorder.files());
      assertEquals(2, io.vlaserve.recorder.mcap.McapReader.read(recorder.files().get(0)).messages().size());
    }
    // Closing finishes arm-9's recording too.
    try (var files = java.nio.file.Files.list(dir)) {
      assertEquals(2, files.filter(f -> f.toString().endsWith("-full.mcap")).count());
    }
  }
}
