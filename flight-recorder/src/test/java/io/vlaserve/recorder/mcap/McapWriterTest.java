package io.vlaserve.recorder.mcap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class McapWriterTest {

  /** Two channels, 1,000 messages in chunks of about 4 KiB. */
  static byte[] recording(McapWriter.Compression compression) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (McapWriter writer = McapWriter.to(bytes, new McapWriter.Options("", "vla-serve test", 4096, compression))) {
      int steps = writer.schema("vla.common.v1.ActionChunk", "protobuf", new byte[] {1, 2, 3});
      int chunks = writer.channel(steps, "/arm-1/chunks", "protobuf", Map.of("robot", "arm-1"));
      int states = writer.channel(0, "/arm-1/state", "json", Map.of());
      for (int i = 0; i < 1000; i++) {
        long t = 1_000_000_000L + i * 1_000_000L;
        if (i % 10 == 0) {
          writer.message(chunks, t, t + 5, ("chunk " + i).repeat(8).getBytes(StandardCharsets.UTF_8));
        }
        writer.message(states, t, t, ("{\"tick\":" + i + "}").getBytes(StandardCharsets.UTF_8));
      }
    }
    return bytes.toByteArray();
  }

  @ParameterizedTest
  @EnumSource(McapWriter.Compression.class)
  void everyMessageReadsBackThroughTheSummaryInOrderWithItsTimes(McapWriter.Compression compression)
      throws IOException {
    McapReader reader = McapReader.read(recording(compression));
    assertEquals("vla-serve test", reader.library());
    assertEquals("vla.common.v1.ActionChunk", reader.schemas().get(1).name());
    assertArrayEquals(new byte[] {1, 2, 3}, reader.schemas().get(1).data());
    assertEquals("/arm-1/chunks", reader.channels().get(0).topic());
    assertEquals(Map.of("robot", "arm-1"), reader.channels().get(0).metadata());
    assertEquals(0, reader.channels().get(1).schemaId());
    assertEquals(1100, reader.messages().size());
    McapReader.Statistics statistics = reader.statistics();
    assertEquals(1100, statistics.messageCount());
    assertEquals(Map.of(0, 100L, 1, 1000L), statistics.channelMessageCounts());
    assertEquals(1_000_000_000L, statistics.messageStartTime());
    assertEquals(1_999_000_000L, statistics.messageEndTime());
    assertTrue(statistics.chunkCount() > 5, statistics.chunkCount() + " chunks");
    long last = 0;
    long stateSequence = 0;
    for (McapReader.Message message : reader.messages()) {
      assertTrue(message.logTime() >= last);
      last = message.logTime();
      if (message.channelId() == 1) {
        assertEquals(stateSequence++, message.sequence());
        assertEquals("{\"tick\":" + (message.logTime() - 1_000_000_000L) / 1_000_000L + "}",
            new String(message.data(), StandardCharsets.UTF_8));
      } else {
        assertEquals(message.logTime() + 5, message.publishTime());
      }
    }
  }

  @Test
  void lz4ChunksAreSmallerThanUncompressedOnes() throws IOException {
    // The message indexes after each chunk stay uncompressed: 16 bytes per message.
    assertTrue(recording(McapWriter.Compression.LZ4).length < recording(McapWriter.Compression.NONE).length * 3 / 4);
  }

  @Test
  void aCorruptOrTruncatedFileIsRefusedSayingWhere() throws IOException {
    byte[] file = recording(McapWriter.Compression.NONE);
    byte[] truncated = java.util.Arrays.copyOf(file, file.length - 3);
    assertTrue(assertThrows(McapReader.McapFormatException.class, () -> McapReader.read(truncated)).getMessage()
        .startsWith("not an MCAP file"));
    // A flipped bit in the first chunk's records: its CRC no longer matches.
    byte[] flipped = file.clone();
    int firstMessage = indexOf(file, "{\"tick\":0}".getBytes(StandardCharsets.UTF_8));
    flipped[firstMessage] ^= 1;
    assertTrue(assertThrows(McapReader.McapFormatException.class, () -> McapReader.read(flipped)).getMessage()
        .endsWith("chunk CRC mismatch (corrupt chunk)"));
    byte[] summary = file.clone();
    summary[file.length - 60] ^= 1;
    assertThrows(McapReader.McapFormatException.class, () -> McapReader.read(summary));
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}
