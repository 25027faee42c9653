package io.vlaserve.recorder.mcap;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import net.jpountz.lz4.LZ4FrameInputStream;

/**
 * Reads an MCAP file through its summary: the footer, the summary section (schemas, channels,
 * statistics, chunk indexes), then each chunk the indexes point to, checking every CRC on the way.
 * For recordings this project writes (replay, export, tests); it refuses what it cannot verify
 * with a message saying where.
 *
 * <p>Immutable once read; thread-safe.
 */
public final class McapReader {
  /** A schema as recorded. */
  public record Schema(int id, String name, String encoding, byte[] data) {}

  /** A channel as recorded. */
  public record Channel(int id, int schemaId, String topic, String messageEncoding, Map<String, String> metadata) {}

  /** One message. */
  public record Message(int channelId, long sequence, long logTime, long publishTime, byte[] data) {}

  /** The summary's statistics. */
  public record Statistics(long messageCount, int schemaCount, long channelCount, long chunkCount,
      long messageStartTime, long messageEndTime, Map<Integer, Long> channelMessageCounts) {}

  private final String profile;
  private final String library;
  private final Map<Integer, Schema> schemas = new LinkedHashMap<>();
  private final Map<Integer, Channel> channels = new LinkedHashMap<>();
  private final List<Message> messages = new ArrayList<>();
  private Statistics statistics;

  private McapReader(byte[] file) {
    ByteBuffer buffer = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    if (file.length < 2 * McapWriter.MAGIC.length + 29
        || !Arrays.equals(Arrays.copyOf(file, 8), McapWriter.MAGIC)
        || !Arrays.equals(Arrays.copyOfRange(file, file.length - 8, file.length), McapWriter.MAGIC)) {
      throw new McapFormatException("not an MCAP file: magic missing at the start or the end (truncated?)");
    }
    buffer.position(8);
    if (buffer.get() != McapWriter.OP_HEADER) {
      throw new McapFormatException("offset 8: the first record is not a header");
    }
    long headerLength = buffer.getLong();
    profile = string(buffer);
    library = string(buffer);
    if (buffer.position() != 17 + headerLength) {
      throw new McapFormatException("offset 8: the header's length disagrees with its content");
    }

    int footerStart = file.length - 8 - 29;
    buffer.position(footerStart);
    if (buffer.get() != McapWriter.OP_FOOTER || buffer.getLong() != 20) {
      throw new McapFormatException("offset " + footerStart + ": no footer before the trailing magic");
    }
    long summaryStart = buffer.getLong();
    buffer.getLong();
    long summaryCrc = Integer.toUnsignedLong(buffer.getInt());
    if (summaryStart == 0) {
      throw new McapFormatException("no summary section: this reader reads indexed files only");
    }
    if (summaryCrc != 0) {
      CRC32 crc = new CRC32();
      crc.update(file, (int) summaryStart, footerStart + 1 + 8 + 16 - (int) summaryStart);
      if (crc.getValue() != summaryCrc) {
        throw new McapFormatException("summary CRC " + Long.toHexString(crc.getValue()) + " != footer's "
            + Long.toHexString(summaryCrc) + " (corrupt summary)");
      }
    }
    buffer.position((int) summaryStart);
    List<long[]> chunkIndexes = new ArrayList<>();
    while (buffer.position() < footerStart) {
      int opcode = buffer.get() & 0xff;
      long length = buffer.getLong();
      int end = Math.toIntExact(buffer.position() + length);
      switch (opcode) {
        case McapWriter.OP_SCHEMA -> {
          Schema schema = schema(buffer);
          schemas.put(schema.id(), schema);
        }
        case McapWriter.OP_CHANNEL -> {
          Channel channel = channel(buffer);
          channels.put(channel.id(), channel);
        }
        case McapWriter.OP_STATISTICS -> statistics = statistics(buffer);
        case McapWriter.OP_CHUNK_INDEX -> {
          buffer.getLong();
          buffer.getLong();
          long chunkOffset = buffer.getLong();
          long chunkLength = buffer.getLong();
          chunkIndexes.add(new long[] {chunkOffset, chunkLength});
        }
        default -> { }
      }
      buffer.position(end);
    }
    for (long[] index : chunkIndexes) {
      readChunk(file, buffer, (int) index[0]);
    }
  }

  /** Reads and verifies {@code file}. */
  public static McapReader read(Path file) throws IOException {
    return new McapReader(Files.readAllBytes(file));
  }

  /** Reads and verifies an MCAP file's bytes. */
  public static McapReader read(byte[] file) {
    return new McapReader(file);
  }

  private void readChunk(byte[] file, ByteBuffer buffer, int offset) {
    buffer.position(offset);
    if ((buffer.get() & 0xff) != McapWriter.OP_CHUNK) {
      throw new McapFormatException("offset " + offset + ": a chunk index points at no chunk");
    }
    buffer.getLong();
    buffer.getLong();
    buffer.getLong();
    long uncompressedSize = buffer.getLong();
    long uncompressedCrc = Integer.toUnsignedLong(buffer.getInt());
    String compression = string(buffer);
    int recordsLength = Math.toIntExact(buffer.getLong());
    byte[] records = decompress(compression, file, buffer.position(), recordsLength, uncompressedSize, offset);
    if (uncompressedCrc != 0) {
      CRC32 crc = new CRC32();
      crc.update(records);
      if (crc.getValue() != uncompressedCrc) {
        throw new McapFormatException("offset " + offset + ": chunk CRC mismatch (corrupt chunk)");
      }
    }
    ByteBuffer chunk = ByteBuffer.wrap(records).order(ByteOrder.LITTLE_ENDIAN);
    while (chunk.hasRemaining()) {
      int opcode = chunk.get() & 0xff;
      long length = chunk.getLong();
      int end = Math.toIntExact(chunk.position() + length);
      if (opcode == McapWriter.OP_MESSAGE) {
        int channel = chunk.getShort() & 0xffff;
        long sequence = Integer.toUnsignedLong(chunk.getInt());
        long logTime = chunk.getLong();
        long publishTime = chunk.getLong();
        byte[] data = new byte[end - chunk.position()];
        chunk.get(data);
        messages.add(new Message(channel, sequence, logTime, publishTime, data));
      }
      chunk.position(end);
    }
  }

  private static byte[] decompress(String compression, byte[] file, int start, int length, long uncompressedSize,
      int chunkOffset) {
    switch (compression) {
      case "" -> {
        return Arrays.copyOfRange(file, start, start + length);
      }
      case "lz4" -> {
        try (LZ4FrameInputStream lz4 = new LZ4FrameInputStream(new ByteArrayInputStream(file, start, length))) {
          byte[] out = lz4.readAllBytes();
          if (out.length != uncompressedSize) {
            throw new McapFormatException("offset " + chunkOffset + ": chunk decompresses to " + out.length
                + " bytes, not " + uncompressedSize);
          }
          return out;
        } catch (IOException e) {
          throw new McapFormatException("offset " + chunkOffset + ": corrupt lz4 chunk: " + e.getMessage());
        }
      }
      default -> throw new McapFormatException("offset " + chunkOffset + ": compression '" + compression
          + "' (this reader knows '' and 'lz4')");
    }
  }

  private static Schema schema(ByteBuffer buffer) {
    int id = buffer.getShort() & 0xffff;
    String name = string(buffer);
    String encoding = string(buffer);
    byte[] data = new byte[buffer.getInt()];
    buffer.get(data);
    return new Schema(id, name, encoding, data);
  }

  private static Channel channel(ByteBuffer buffer) {
    int id = buffer.getShort() & 0xffff;
    int schemaId = buffer.getShort() & 0xffff;
    String topic = string(buffer);
    String encoding = string(buffer);
    int mapEnd = buffer.getInt() + buffer.position();
    Map<String, String> metadata = new TreeMap<>();
    while (buffer.position() < mapEnd) {
      metadata.put(string(buffer), string(buffer));
    }
    return new Channel(id, schemaId, topic, encoding, metadata);
  }

  private static Statistics statistics(ByteBuffer buffer) {
    long messageCount = buffer.getLong();
    int schemaCount = buffer.getShort() & 0xffff;
    long channelCount = Integer.toUnsignedLong(buffer.getInt());
    buffer.getInt();
    buffer.getInt();
    long chunkCount = Integer.toUnsignedLong(buffer.getInt());
    long start = buffer.getLong();
    long end = buffer.getLong();
    int mapEnd = buffer.getInt() + buffer.position();
    Map<Integer, Long> counts = new TreeMap<>();
    while (buffer.position() < mapEnd) {
      counts.put(buffer.getShort() & 0xffff, buffer.getLong());
    }
    return new Statistics(messageCount, schemaCount, channelCount, chunkCount, start, end, counts);
  }

  private static String string(ByteBuffer buffer) {
    byte[] utf8 = new byte[buffer.getInt()];
    buffer.get(utf8);
    return new String(utf8, StandardCharsets.UTF_8);
  }

  public String profile() {
    return profile;
  }

  public String library() {
    return library;
  }

  public Map<Integer, Schema> schemas() {
    return java.util.Collections.unmodifiableMap(schemas);
  }

  public Map<Integer, Channel> channels() {
    return java.util.Collections.unmodifiableMap(channels);
  }

  /** Every message, in file order (chunk by chunk). */
  public List<Message> messages() {
    return java.util.Collections.unmodifiableList(messages);
  }

  public Statistics statistics() {
    return statistics;
  }

  /** A file this reader cannot verify, with where and why. */
  public static final class McapFormatException extends RuntimeException {
    McapFormatException(String message) {
      super(message);
    }
  }
}
