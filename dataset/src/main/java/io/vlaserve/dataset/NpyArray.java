package io.vlaserve.dataset;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A NumPy {@code .npy} array read whole into memory (little-endian C-order arrays of the dtypes
 * {@link NpyWriter} writes). For tests, evaluation and tooling, not for huge files. Immutable.
 */
public record NpyArray(String descr, int[] shape, ByteBuffer data) {
  private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
  private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

  public static NpyArray read(Path path) throws IOException {
    byte[] bytes = Files.readAllBytes(path);
    ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if ((bytes[0] & 0xff) != 0x93 || !new String(bytes, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
      throw new IOException(path + ": not a .npy file");
    }
    int major = bytes[6];
    int headerLength = major == 1 ? buffer.getShort(8) & 0xffff : buffer.getInt(8);
    int dataStart = (major == 1 ? 10 : 12) + headerLength;
    String header = new String(bytes, major == 1 ? 10 : 12, headerLength, StandardCharsets.US_ASCII);
    Matcher descr = DESCR.matcher(header);
    Matcher shape = SHAPE.matcher(header);
    if (!descr.find() || !shape.find() || header.contains("'fortran_order': True")) {
      throw new IOException(path + ": unsupported header " + header.strip());
    }
    int[] dims = Arrays.stream(shape.group(1).split(","))
        .map(String::strip).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
    ByteBuffer data = ByteBuffer.wrap(bytes, dataStart, bytes.length - dataStart).slice().order(ByteOrder.LITTLE_ENDIAN);
    return new NpyArray(descr.group(1), dims, data);
  }

  /** Number of elements. */
  public long size() {
    long n = 1;
    for (int d : shape) {
      n *= d;
    }
    return n;
  }

  public double getDouble(long index) {
    return switch (descr) {
      case "<f8" -> data.getDouble((int) (index * 8));
      case "<f4" -> data.getFloat((int) (index * 4));
      case "<i4" -> data.getInt((int) (index * 4));
      case "|u1" -> data.get((int) index) & 0xff;
      default -> throw new IllegalStateException("unsupported dtype " + descr);
    };
  }

  public int getInt(long index) {
    return switch (descr) {
      case "<i4" -> data.getInt((int) (index * 4));
      case "|u1" -> data.get((int) index) & 0xff;
      default -> throw new IllegalStateException("not an integer dtype: " + descr);
    };
  }
}
