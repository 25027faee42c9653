package io.vlaserve.deploy;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Reads tar archives (ustar, with PAX and GNU long names) as image tools write them: enough to list
 * a container image's files and read its small JSON members, without a dependency. Not thread-safe.
 */
final class TarArchive {
  /** One member: its path without a leading "./" or "/", and what the header says about it. */
  record Entry(String path, char type, int mode, long uid, long size, byte[] content) {
    boolean isDirectory() {
      return type == '5';
    }
  }

  private TarArchive() {}

  /**
   * Every member of {@code input} (gunzipped first if it is gzip), with the content of those for
   * which {@code keepContent} holds.
   */
  static Map<String, Entry> read(InputStream input, java.util.function.Predicate<String> keepContent) throws IOException {
    BufferedInputStream buffered = new BufferedInputStream(input, 1 << 16);
    buffered.mark(2);
    int first = buffered.read();
    int second = buffered.read();
    buffered.reset();
    InputStream in = first == 0x1f && second == 0x8b ? new GZIPInputStream(buffered, 1 << 16) : buffered;

    Map<String, Entry> entries = new LinkedHashMap<>();
    byte[] header = new byte[512];
    String longName = null;
    while (readFully(in, header)) {
      if (isZero(header)) {
        break;
      }
      String name = string(header, 0, 100);
      String prefix = string(header, 345, 155);
      if (!prefix.isEmpty() && "ustar".equals(string(header, 257, 5))) {
        name = prefix + "/" + name;
      }
      char type = header[156] == 0 ? '0' : (char) header[156];
      long size = number(header, 124, 12);
      byte[] data = type == 'x' || type == 'L' || keepContent.test(normalise(longName != null ? longName : name))
          ? in.readNBytes((int) size) : null;
      if (data == null) {
        in.skipNBytes(size);
      }
      in.skipNBytes((512 - size % 512) % 512);
      switch (type) {
        case 'x' -> longName = paxPath(data);
        case 'L' -> longName = new String(data, StandardCharsets.UTF_8).replace("\0", "");
        case 'g' -> { }
        default -> {
          String path = normalise(longName != null ? longName : name);
          entries.put(path, new Entry(path, type, (int) number(header, 100, 8), number(header, 108, 8), size, data));
          longName = null;
        }
      }
    }
    return entries;
  }

  private static String paxPath(byte[] data) {
    String records = new String(data, StandardCharsets.UTF_8);
    int at = 0;
    while (at < records.length()) {
      int space = records.indexOf(' ', at);
      int length = Integer.parseInt(records.substring(at, space));
      String record = records.substring(space + 1, at + length - 1);
      if (record.startsWith("path=")) {
        return record.substring(5);
      }
      at += length;
    }
    return null;
  }

  private static String normalise(String path) {
    String p = path;
    while (p.startsWith("./") || p.startsWith("/")) {
      p = p.substring(p.startsWith("./") ? 2 : 1);
    }
    return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  private static boolean readFully(InputStream in, byte[] block) throws IOException {
    int n = in.readNBytes(block, 0, block.length);
    if (n == 0) {
      return false;
    }
    if (n != block.length) {
      throw new IOException("truncated tar header (" + n + " of 512 bytes)");
    }
    return true;
  }

  private static boolean isZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private static String string(byte[] header, int offset, int length) {
    int end = offset;
    while (end < offset + length && header[end] != 0) {
      end++;
    }
    return new String(header, offset, end - offset, StandardCharsets.UTF_8);
  }

  /** Octal, or base-256 when the first byte's high bit is set (GNU, for large values). */
  private static long number(byte[] header, int offset, int length) {
    if ((header[offset] & 0x80) != 0) {
      long value = header[offset] & 0x7f;
      for (int i = 1; i < length; i++) {
        value = (value << 8) | (header[offset + i] & 0xff);
      }
      return value;
    }
    String text = string(header, offset, length).trim();
    return text.isEmpty() ? 0 : Long.parseLong(text, 8);
  }
}
