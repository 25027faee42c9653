package io.vlaserve.dataset;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Streams one array to a NumPy {@code .npy} file (format version 1.0, little-endian, C order) whose
 * first dimension is only known at the end: the header is written with room to spare and rewritten
 * with the final row count on {@link #close()}. Not thread-safe.
 */
public final class NpyWriter implements AutoCloseable {
  /** The dtypes the project writes, with NumPy's descriptors and their sizes in bytes. */
  public enum Dtype {
    UINT8("|u1", 1), INT32("<i4", 4), FLOAT32("<f4", 4), FLOAT64("<f8", 8);

    final String descr;
    final int size;

    Dtype(String descr, int size) {
      this.descr = descr;
      this.size = size;
    }
  }

  /** Magic + version + header length + header: a multiple of 64 bytes, as NumPy recommends. */
  static final int HEADER_BYTES = 128;

  private final Path path;
  private final Dtype dtype;
  private final int[] rowShape;
  private final int rowElements;
  private final OutputStream out;
  private final ByteBuffer scratch;
  private long rows;

  public NpyWriter(Path path, Dtype dtype, int... rowShape) throws IOException {
    this.path = path;
    this.dtype = dtype;
    this.rowShape = rowShape.clone();
    int elements = 1;
    for (int n : rowShape) {
      elements *= n;
    }
    this.rowElements = elements;
    this.out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 16);
    this.scratch = ByteBuffer.allocate(Math.max(8, elements * dtype.size)).order(ByteOrder.LITTLE_ENDIAN);
    out.write(header(0));
  }

  private byte[] header(long rowCount) {
    StringBuilder shape = new StringBuilder("(").append(rowCount);
    if (rowShape.length == 0) {
      shape.append(',');
    }
    for (int n : rowShape) {
      shape.append(", ").append(n);
    }
    shape.append(')');
    String dict = "{'descr': '" + dtype.descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    int length = HEADER_BYTES - 10;
    if (dict.length() + 1 > length) {
      throw new IllegalStateException("npy header too long: " + dict);
    }
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    header.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
    header.putShort((short) length);
    header.put(dict.getBytes(StandardCharsets.US_ASCII));
    while (header.position() < HEADER_BYTES - 1) {
      header.put((byte) ' ');
    }
    header.put((byte) '\n');
    return header.array();
  }

  public void writeRow(byte[] values) throws IOException {
    checkLength(values.length);
    out.write(values);
    rows++;
  }

  public void writeRow(int... values) throws IOException {
    checkLength(values.length);
    scratch.clear();
    for (int v : values) {
      scratch.putInt(v);
    }
    out.write(scratch.array(), 0, scratch.position());
    rows++;
  }

  public void writeRow(float... values) throws IOException {
    checkLength(values.length);
    scratch.clear();
    for (float v : values) {
      scratch.putFloat(v);
    }
    out.write(scratch.array(), 0, scratch.position());
    rows++;
  }

  public void writeRow(double... values) throws IOException {
    checkLength(values.length);
    scratch.clear();
    for (double v : values) {
      if (dtype == Dtype.FLOAT32) {
        scratch.putFloat((float) v);
      } else {
        scratch.putDouble(v);
      }
    }
    out.write(scratch.array(), 0, scratch.position());
    rows++;
  }

  private void checkLength(int length) {
    if (length != rowElements) {
      throw new IllegalArgumentException(path.getFileName() + ": row of " + length + " values (expected: " + rowElements + ")");
    }
  }

  public long rows() {
    return rows;
  }

  @Override
  public void close() throws IOException {
    out.close();
    try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
      file.write(header(rows));
    }
  }
}
