package io.vlaserve.policy.engine.tensorrt;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Serialized TensorRT engines ("plans") in a folder, one file per graph, named by a digest of
 * everything that makes a plan valid: the TensorRT version, the GPU (name and compute capability),
 * the SHA-256 of the ONNX graph (and of its external-data files, {@code <graph>.onnx.*}), the
 * precision and the optimization profile bounds. A change to any of them selects another file, so
 * stale plans are never loaded; they are only left behind (delete the folder to reclaim the space).
 * Each plan has a {@code .txt} file beside it with the full key. Files are written to a temporary
 * name and moved into place, so concurrent builders never see half a plan.
 */
final class PlanCache {
  static final String FORMAT = "vla-serve-tensorrt-plan/1";
  private static final int CHUNK = 64 << 20; // plans of large models exceed a 2 GiB ByteBuffer

  private final Path directory;

  PlanCache(Path directory) {
    this.directory = directory;
  }

  Path directory() {
    return directory;
  }

  /** Everything a plan depends on. */
  record Key(String modelName, String graph, String tensorRtVersion, String deviceName, String computeCapability,
      String onnxSha256, String precision, String profile) {

    String text() {
      return FORMAT + "\n"
          + "model=" + modelName + "\n"
          + "graph=" + graph + "\n"
          + "tensorrt=" + tensorRtVersion + "\n"
          + "device=" + deviceName + "\n"
          + "compute_capability=" + computeCapability + "\n"
          + "onnx_sha256=" + onnxSha256 + "\n"
          + "precision=" + precision + "\n"
          + "profile=" + profile + "\n";
    }

    String digest() {
      return sha256(text().getBytes(StandardCharsets.UTF_8));
    }

    /** E.g. {@code tiny-vla-decode-fp16-sm89-3f2a9c0d1e2b4f5a.plan}. */
    String fileName() {
      return safe(modelName) + "-" + safe(graph) + "-" + safe(precision) + "-sm" + safe(computeCapability.replace(".", ""))
          + "-" + digest().substring(0, 16) + ".plan";
    }

    private static String safe(String part) {
      return part.replaceAll("[^A-Za-z0-9_.-]", "_");
    }
  }

  Path file(Key key) {
    return directory.resolve(key.fileName());
  }

  /**
   * SHA-256 over the ONNX file and any external-data files next to it named {@code <graph>.onnx.*},
   * in name order.
   */
  static String onnxDigest(Path onnx) throws IOException {
    List<Path> files = new ArrayList<>();
    files.add(onnx);
    Path folder = onnx.toAbsolutePath().getParent();
    String prefix = onnx.getFileName() + ".";
    List<Path> external = new ArrayList<>();
    try (DirectoryStream<Path> siblings = Files.newDirectoryStream(folder, p -> p.getFileName().toString().startsWith(prefix)
        && Files.isRegularFile(p))) {
      siblings.forEach(external::add);
    }
    external.sort(null);
    files.addAll(external);
    MessageDigest digest = newDigest();
    byte[] buffer = new byte[1 << 16];
    for (Path file : files) {
      digest.update(file.getFileName().toString().getBytes(StandardCharsets.UTF_8));
      try (InputStream in = Files.newInputStream(file)) {
        for (int n; (n = in.read(buffer)) > 0; ) {
          digest.update(buffer, 0, n);
        }
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  static String sha256(byte[] bytes) {
    return HexFormat.of().formatHex(newDigest().digest(bytes));
  }

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** Reads a plan into native memory (the caller closes it), or returns null if there is none. */
  static BytePointer read(Path file) throws IOException {
    return read(file, CHUNK);
  }

  static BytePointer read(Path file, int chunkBytes) throws IOException {
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size == 0) {
        return null;
      }
      BytePointer plan = new BytePointer(size);
      try {
        for (long offset = 0; offset < size; ) {
          ByteBuffer chunk = view(plan, offset, Math.min(chunkBytes, size - offset));
          while (chunk.hasRemaining()) {
            if (channel.read(chunk, offset + chunk.position()) < 0) {
              throw new IOException(file + " ended early at byte " + (offset + chunk.position()) + " of " + size);
            }
          }
          offset += chunk.capacity();
        }
        return plan;
      } catch (IOException | RuntimeException e) {
        plan.close();
        throw e;
      }
    }
  }

  /** Writes {@code size} bytes at {@code data} to {@code file} (atomically) and the key beside it. */
  static void write(Path file, Pointer data, long size, String keyText) throws IOException {
    write(file, data, size, keyText, CHUNK);
  }

  static void write(Path file, Pointer data, long size, String keyText, int chunkBytes) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path partial = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".partial");
    try {
      BytePointer bytes = new BytePointer(data).capacity(size);
      try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        for (long offset = 0; offset < size; ) {
          ByteBuffer chunk = view(bytes, offset, Math.min(chunkBytes, size - offset));
          while (chunk.hasRemaining()) {
            channel.write(chunk);
          }
          offset += chunk.capacity();
        }
        channel.force(true);
      }
      Files.writeString(keyFile(file), keyText);
      try {
        Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(partial);
    }
  }

  static Path keyFile(Path plan) {
    String name = plan.getFileName().toString();
    return plan.resolveSibling(name.substring(0, name.length() - ".plan".length()) + ".txt");
  }

  /** {@code length} bytes of native memory from {@code offset}, as a buffer positioned at 0. */
  private static ByteBuffer view(BytePointer memory, long offset, long length) {
    BytePointer at = memory.getPointer(offset); // a new pointer at address + offset; memory is left as it is
    return at.position(0).limit(length).asByteBuffer();
  }
}
