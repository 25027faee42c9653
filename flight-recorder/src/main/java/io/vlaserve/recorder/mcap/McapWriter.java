package io.vlaserve.recorder.mcap;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import net.jpountz.lz4.LZ4FrameOutputStream;

/**
 * Writes an MCAP file (https://mcap.dev/spec, version 0): messages in chunks, each compressed and
 * followed by its message indexes, then a summary section (schemas, channels, statistics, chunk
 * indexes) with summary offsets and a footer, so a reader can seek without scanning.
 *
 * <p>Schemas and channels are written to the data section when registered, before any message
 * that uses them, and again in the summary. Every CRC the format has is written (data section,
 * each chunk's uncompressed records, summary). Timestamps are nanoseconds.
 *
 * <p>Not thread-safe: one thread (a recorder's writer thread) owns it.
 */
public final class McapWriter implements Closeable {
  /** The eight bytes every MCAP file starts and ends with. */
  static final byte[] MAGIC = {(byte) 0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n'};

  static final int OP_HEADER = 0x01;
  static final int OP_FOOTER = 0x02;
  static final int OP_SCHEMA = 0x03;
  static final int OP_CHANNEL = 0x04;
  static final int OP_MESSAGE = 0x05;
  static final int OP_CHUNK = 0x06;
  static final int OP_MESSAGE_INDEX = 0x07;
  static final int OP_CHUNK_INDEX = 0x08;
  static final int OP_STATISTICS = 0x0B;
  static final int OP_SUMMARY_OFFSET = 0x0E;
  static final int OP_DATA_END = 0x0F;

  /** How chunks are compressed. */
  public enum Compression {
    NONE(""),
    LZ4("lz4");

    final String name;

    Compression(String name) {
      this.name = name;
    }
  }

  /**
   * @param profile the header's profile, e.g. "" or "ros2"
   * @param library who wrote the file
   * @param chunkSize uncompressed bytes after which a chunk is closed
   * @param compression how chunks are compressed
   */
  public record Options(String profile, String library, int chunkSize, Compression compression) {
    public Options {
      if (chunkSize < 1) {
        throw new IllegalArgumentException("chunkSize: " + chunkSize + " (expected: > 0)");
      }
    }

    /** 1 MiB LZ4 chunks, as mcap's own writers default to. */
    public static Options defaults(String library) {
      return new Options("", library, 1 << 20, Compression.LZ4);
    }
  }

  private record Schema(int id, String name, String encoding, byte[] data) {}

  private record Channel(int id, int schemaId, String topic, String messageEncoding, Map<String, String> metadata) {}

  private record ChunkIndex(long startTime, long endTime, long chunkOffset, long chunkLength,
      Map<Integer, Long> messageIndexOffsets, long messageIndexLength, String compression, long compressedSize,
      long uncompressedSize) {}

  private final CountingOutput out;
  private final Options options;
  private final List<Schema> schemas = new ArrayList<>();
  private final List<Channel> channels = new ArrayList<>();
  private final List<ChunkIndex> chunkIndexes = new ArrayList<>();
  private final Map<Integer, Long> channelMessageCounts = new TreeMap<>();
  private final Map<Integer, Integer> sequences = new LinkedHashMap<>();
  private long messageCount;
  private long messageStartTime = Long.MAX_VALUE;
  private long messageEndTime;
  private int chunkCount;
  private boolean closed;

  // The open chunk: its records, uncompressed, and each channel's (log time, offset) entries.
  private final Record chunkRecords = new Record();
  private final Map<Integer, List<long[]>> chunkMessageIndex = new TreeMap<>();
  private long chunkStartTime = Long.MAX_VALUE;
  private long chunkEndTime;

  private McapWriter(OutputStream stream, Options options) throws IOException {
    this.out = new CountingOutput(stream);
    this.options = options;
    out.write(MAGIC);
    Record header = new Record();
    header.string(options.profile());
    header.string(options.library());
    writeRecord(OP_HEADER, header);
  }

  /** Creates {@code file} (replacing it) and writes the header. */
  public static McapWriter create(Path file, Options options) throws IOException {
    return new McapWriter(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16), options);
  }

  /** Writes to {@code stream}, which the writer closes. */
  public static McapWriter to(OutputStream stream, Options options) throws IOException {
    return new McapWriter(stream, options);
  }

  /**
   * Registers a schema, e.g. a protobuf {@code FileDescriptorSet} with encoding "protobuf".
   *
   * @return its id, from 1
   */
  public int schema(String name, String encoding, byte[] data) throws IOException {
    Schema schema = new Schema(schemas.size() + 1, name, encoding, data.clone());
    schemas.add(schema);
    writeRecord(OP_SCHEMA, schemaRecord(schema));
    return schema.id();
  }

  /**
   * Registers a channel: a topic whose messages follow schema {@code schemaId} (0: no schema).
   *
   * @return its id, from 0
   */
  public int channel(int schemaId, String topic, String messageEncoding, Map<String, String> metadata)
      throws IOException {
    if (schemaId < 0 || schemaId > schemas.size()) {
      throw new IllegalArgumentException("schema " + schemaId + " is not registered");
    }
    Channel channel = new Channel(channels.size(), schemaId, topic, messageEncoding, new TreeMap<>(metadata));
    channels.add(channel);
    writeRecord(OP_CHANNEL, channelRecord(channel));
    return channel.id();
  }

  /** Writes one message on {@code channelId}, logged at {@code logTime} and published at {@code publishTime} (ns). */
  public void message(int channelId, long logTime, long publishTime, byte[] data) throws IOException {
    if (channelId < 0 || channelId >= channels.size()) {
      throw new IllegalArgumentException("channel " + channelId + " is not registered");
    }
    int sequence = sequences.merge(channelId, 1, Integer::sum) - 1;
    chunkMessageIndex.computeIfAbsent(channelId, id -> new ArrayList<>())
        .add(new long[] {logTime, chunkRecords.size()});
    Record message = new Record();
    message.u16(channelId);
    message.u32(sequence);
    message.u64(logTime);
    message.u64(publishTime);
    message.bytes(data);
    chunkRecords.record(OP_MESSAGE, message);
    chunkStartTime = Math.min(chunkStartTime, logTime);
    chunkEndTime = Math.max(chunkEndTime, logTime);
    messageStartTime = Math.min(messageStartTime, logTime);
    messageEndTime = Math.max(messageEndTime, logTime);
    messageCount++;
    channelMessageCounts.merge(channelId, 1L, Long::sum);
    if (chunkRecords.size() >= options.chunkSize()) {
      flushChunk();
    }
  }

  /** Closes the open chunk, if any; the next message starts a new one. */
  public void flushChunk() throws IOException {
    if (chunkRecords.size() == 0) {
      return;
    }
    byte[] uncompressed = chunkRecords.toByteArray();
    CRC32 crc = new CRC32();
    crc.update(uncompressed);
    byte[] compressed = compress(uncompressed);
    Record chunk = new Record();
    chunk.u64(chunkStartTime);
    chunk.u64(chunkEndTime);
    chunk.u64(uncompressed.length);
    chunk.u32(crc.getValue());
    chunk.string(options.compression().name);
    chunk.u64(compressed.length);
    chunk.bytes(compressed);
    long chunkOffset = out.position();
    writeRecord(OP_CHUNK, chunk);
    long chunkLength = out.position() - chunkOffset;
    Map<Integer, Long> indexOffsets = new TreeMap<>();
    long indexStart = out.position();
    for (Map.Entry<Integer, List<long[]>> entry : chunkMessageIndex.entrySet()) {
      indexOffsets.put(entry.getKey(), out.position());
      Record index = new Record();
      index.u16(entry.getKey());
      index.u32(entry.getValue().size() * 16L);
      for (long[] timeAndOffset : entry.getValue()) {
        index.u64(timeAndOffset[0]);
        index.u64(timeAndOffset[1]);
      }
      writeRecord(OP_MESSAGE_INDEX, index);
    }
    chunkIndexes.add(new ChunkIndex(chunkStartTime, chunkEndTime, chunkOffset, chunkLength, indexOffsets,
        out.position() - indexStart, options.compression().name, compressed.length, uncompressed.length));
    chunkCount++;
    chunkRecords.reset();
    chunkMessageIndex.clear();
    chunkStartTime = Long.MAX_VALUE;
    chunkEndTime = 0;
  }

  private byte[] compress(byte[] uncompressed) throws IOException {
    return switch (options.compression()) {
      case NONE -> uncompressed;
      case LZ4 -> {
        ByteArrayOutputStream compressed = new ByteArrayOutputStream(uncompressed.length / 2 + 64);
        try (LZ4FrameOutputStream lz4 = new LZ4FrameOutputStream(compressed)) {
          lz4.write(uncompressed);
        }
        yield compressed.toByteArray();
      }
    };
  }

  /** Writes the last chunk, the summary and the footer, and closes the stream. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      flushChunk();
      Record dataEnd = new Record();
      dataEnd.u32(out.crc());
      writeRecord(OP_DATA_END, dataEnd);

      long summaryStart = out.position();
      out.resetCrc();
      List<long[]> groups = new ArrayList<>();
      long start = out.position();
      for (Schema schema : schemas) {
        writeRecord(OP_SCHEMA, schemaRecord(schema));
      }
      groups.add(new long[] {OP_SCHEMA, start, out.position() - start});
      start = out.position();
      for (Channel channel : channels) {
        writeRecord(OP_CHANNEL, channelRecord(channel));
      }
      groups.add(new long[] {OP_CHANNEL, start, out.position() - start});
      start = out.position();
      writeRecord(OP_STATISTICS, statistics());
      groups.add(new long[] {OP_STATISTICS, start, out.position() - start});
      start = out.position();
      for (ChunkIndex index : chunkIndexes) {
        writeRecord(OP_CHUNK_INDEX, chunkIndexRecord(index));
      }
      groups.add(new long[] {OP_CHUNK_INDEX, start, out.position() - start});

      long summaryOffsetStart = out.position();
      for (long[] group : groups) {
        if (group[2] == 0) {
          continue;
        }
        Record offset = new Record();
        offset.u8((int) group[0]);
        offset.u64(group[1]);
        offset.u64(group[2]);
        writeRecord(OP_SUMMARY_OFFSET, offset);
      }
      // The footer's CRC covers the summary, the summary offsets and the footer up to the CRC itself.
      Record footer = new Record();
      footer.u64(summaryStart);
      footer.u64(summaryOffsetStart);
      out.write(OP_FOOTER);
      writeU64(out, 8 + 8 + 4);
      out.write(footer.toByteArray());
      long summaryCrc = out.crc();
      byte[] crcBytes = new byte[4];
      for (int i = 0; i < 4; i++) {
        crcBytes[i] = (byte) (summaryCrc >>> (8 * i));
      }
      out.write(crcBytes);
      out.write(MAGIC);
    } finally {
      out.close();
    }
  }

  private Record statistics() {
    Record statistics = new Record();
    statistics.u64(messageCount);
    statistics.u16(schemas.size());
    statistics.u32(channels.size());
    statistics.u32(0);
    statistics.u32(0);
    statistics.u32(chunkCount);
    statistics.u64(messageCount == 0 ? 0 : messageStartTime);
    statistics.u64(messageEndTime);
    statistics.u32(channelMessageCounts.size() * 10L);
    for (Map.Entry<Integer, Long> entry : channelMessageCounts.entrySet()) {
      statistics.u16(entry.getKey());
      statistics.u64(entry.getValue());
    }
    return statistics;
  }

  private static Record schemaRecord(Schema schema) {
    Record record = new Record();
    record.u16(schema.id());
    record.string(schema.name());
    record.string(schema.encoding());
    record.bytes32(schema.data());
    return record;
  }

  private static Record channelRecord(Channel channel) {
    Record record = new Record();
    record.u16(channel.id());
    record.u16(channel.schemaId());
    record.string(channel.topic());
    record.string(channel.messageEncoding());
    Record map = new Record();
    for (Map.Entry<String, String> entry : channel.metadata().entrySet()) {
      map.string(entry.getKey());
      map.string(entry.getValue());
    }
    record.bytes32(map.toByteArray());
    return record;
  }

  private static Record chunkIndexRecord(ChunkIndex index) {
    Record record = new Record();
    record.u64(index.startTime());
    record.u64(index.endTime());
    record.u64(index.chunkOffset());
    record.u64(index.chunkLength());
    record.u32(index.messageIndexOffsets().size() * 10L);
    for (Map.Entry<Integer, Long> entry : index.messageIndexOffsets().entrySet()) {
      record.u16(entry.getKey());
      record.u64(entry.getValue());
    }
    record.u64(index.messageIndexLength());
    record.string(index.compression());
    record.u64(index.compressedSize());
    record.u64(index.uncompressedSize());
    return record;
  }

  private void writeRecord(int opcode, Record content) throws IOException {
    out.write(opcode);
    writeU64(out, content.size());
    content.writeTo(out);
  }

  private static void writeU64(OutputStream stream, long value) throws IOException {
    for (int i = 0; i < 8; i++) {
      stream.write((int) (value >>> (8 * i)));
    }
  }

  /** A record's content under construction, little-endian as MCAP is. */
  static final class Record extends ByteArrayOutputStream {
    void u8(int value) {
      write(value);
    }

    void u16(int value) {
      write(value);
      write(value >>> 8);
    }

    void u32(long value) {
      for (int i = 0; i < 4; i++) {
        write((int) (value >>> (8 * i)));
      }
    }

    void u64(long value) {
      for (int i = 0; i < 8; i++) {
        write((int) (value >>> (8 * i)));
      }
    }

    void string(String value) {
      byte[] utf8 = value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      u32(utf8.length);
      write(utf8, 0, utf8.length);
    }

    void bytes32(byte[] value) {
      u32(value.length);
      write(value, 0, value.length);
    }

    /** Bytes with no length prefix: the rest of a record, or a length written before. */
    void bytes(byte[] value) {
      write(value, 0, value.length);
    }

    void record(int opcode, Record content) {
      u8(opcode);
      u64(content.size());
      write(content.buf, 0, content.count);
    }
  }

  /** Counts bytes written and keeps a running CRC-32 of them. */
  private static final class CountingOutput extends OutputStream {
    private final OutputStream out;
    private final CRC32 crc = new CRC32();
    private long position;

    CountingOutput(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      crc.update(b);
      position++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      crc.update(b, off, len);
      position += len;
    }

    long position() {
      return position;
    }

    long crc() {
      return crc.getValue();
    }

    void resetCrc() {
      crc.reset();
    }

    @Override
    public void close() throws IOException {
      out.close();
    }
  }
}
