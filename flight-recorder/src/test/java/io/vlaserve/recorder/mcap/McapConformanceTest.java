package io.vlaserve.recorder.mcap;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The flight recorder's files read by the reference TypeScript reader, {@code @mcap/core}, through
 * its summary (footer, summary section, chunk indexes, every CRC validated), run with node:
 * schemas, channels, statistics, message count and every message's channel, sequence and times
 * must be what was written. {@code ./vla test} installs the reader from package-lock.json; without
 * node the test is skipped, except under CI, where that is a failure.
 */
class McapConformanceTest {
  private static final Path READER = Path.of("src", "test", "node").toAbsolutePath();

  @ParameterizedTest
  @EnumSource(McapWriter.Compression.class)
  void theReferenceReaderReadsWhatWasWritten(McapWriter.Compression compression, @TempDir Path dir) throws Exception {
    Path file = dir.resolve("recording.mcap");
    Files.write(file, McapWriterTest.recording(compression));
    JsonNode read = referenceRead(file);
    McapReader ours = McapReader.read(file);

    assertEquals("vla-serve test", read.get("library").asString());
    assertEquals(1, read.get("schemas").size());
    assertEquals("vla.common.v1.ActionChunk", read.get("schemas").get(0).get("name").asString());
    assertEquals("protobuf", read.get("schemas").get(0).get("encoding").asString());
    assertEquals(3, read.get("schemas").get(0).get("size").asInt());
    assertEquals(2, read.get("channels").size());
    assertEquals("/arm-1/chunks", read.get("channels").get(0).get("topic").asString());
    assertEquals("arm-1", read.get("channels").get(0).get("metadata").get("robot").asString());
    assertEquals(0, read.get("channels").get(1).get("schemaId").asInt());
    assertEquals(1100, read.get("statistics").get("messageCount").asLong());
    assertEquals(ours.statistics().chunkCount(), read.get("statistics").get("chunkCount").asLong());
    assertEquals(ours.statistics().chunkCount(), read.get("chunks").asLong());
    assertEquals("1000000000", read.get("statistics").get("messageStartTime").asString());
    assertEquals("1999000000", read.get("statistics").get("messageEndTime").asString());
    JsonNode messages = read.get("messages");
    assertEquals(ours.messages().size(), messages.size());
    for (int i = 0; i < messages.size(); i++) {
      McapReader.Message expected = ours.messages().get(i);
      JsonNode message = messages.get(i);
      assertEquals(expected.channelId(), message.get("channelId").asInt(), "message " + i);
      assertEquals(expected.sequence(), message.get("sequence").asLong(), "message " + i);
      assertEquals(Long.toString(expected.logTime()), message.get("logTime").asString(), "message " + i);
      assertEquals(Long.toString(expected.publishTime()), message.get("publishTime").asString(), "message " + i);
      assertEquals(expected.data().length, message.get("size").asInt(), "message " + i);
    }
  }

  private static JsonNode referenceRead(Path file) throws IOException, InterruptedException {
    if (!Files.isDirectory(READER.resolve("node_modules").resolve("@mcap").resolve("core"))) {
      String missing = "the reference MCAP reader is not installed in " + READER
          + " (./vla test installs it with npm ci; node and npm are needed)";
      if ("true".equals(System.getenv("CI"))) {
        throw new IllegalStateException(missing);
      }
      Assumptions.abort(missing);
    }
    Process node = new ProcessBuilder("node", READER.resolve("read-mcap.mjs").toString(), file.toString())
        .directory(READER.toFile()).redirectErrorStream(true).start();
    String output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!node.waitFor(120, TimeUnit.SECONDS) || node.exitValue() != 0) {
      throw new AssertionError("the reference reader failed on " + file + ":\n" + output);
    }
    return JsonMapper.builder().build().readTree(output);
  }
}
