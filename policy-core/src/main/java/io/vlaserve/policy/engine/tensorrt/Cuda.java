package io.vlaserve.policy.engine.tensorrt;

import static org.bytedeco.cuda.global.cudart.cudaErrorMemoryAllocation;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaFreeHost;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorName;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMallocHost;
import static org.bytedeco.cuda.global.cudart.cudaMemGetInfo;

import io.vlaserve.policy.engine.EngineException;
import java.lang.System.Logger.Level;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

/** CUDA runtime calls with errors turned into {@link EngineException}s that say what failed. */
final class Cuda {
  private static final System.Logger LOG = System.getLogger(Cuda.class.getName());
  private static final long MIB = 1 << 20;

  private Cuda() {}

  static void check(int status, String what) {
    if (status != 0) {
      throw new EngineException(what + " failed: " + describe(status));
    }
  }

  /** "cudaErrorMemoryAllocation (out of memory)". */
  static String describe(int status) {
    String name = text(cudaGetErrorName(status));
    String description = text(cudaGetErrorString(status));
    return (name == null ? "CUDA error " + status : name) + (description == null ? "" : " (" + description + ")");
  }

  private static String text(BytePointer pointer) {
    return pointer == null || pointer.isNull() ? null : pointer.getString();
  }

  /** Device memory, 256-byte aligned. */
  static Pointer device(long bytes, String what) {
    Pointer pointer = new Pointer();
    int status = cudaMalloc(pointer, Math.max(bytes, 1));
    if (status == cudaErrorMemoryAllocation) {
      throw new EngineException("out of device memory: " + what + " needs " + mib(bytes) + freeMemory()
          + " (lower maxBatch or maxNewTokens, or free the GPU; see docs/gpu.md)");
    }
    check(status, "cudaMalloc of " + mib(bytes) + " for " + what);
    return pointer;
  }

  /** Page-locked host memory, so copies to and from the device run asynchronously at full speed. */
  static Pointer pinned(long bytes, String what) {
    Pointer pointer = new Pointer();
    check(cudaMallocHost(pointer, Math.max(bytes, 1)), "cudaMallocHost of " + mib(bytes) + " for " + what);
    return pointer;
  }

  static void freeDevice(Pointer pointer, String what) {
    if (pointer != null && !pointer.isNull()) {
      int status = cudaFree(pointer);
      if (status != 0) {
        LOG.log(Level.WARNING, "cudaFree of {0} failed: {1}", what, describe(status));
      }
      pointer.setNull();
    }
  }

  static void freePinned(Pointer pointer, String what) {
    if (pointer != null && !pointer.isNull()) {
      int status = cudaFreeHost(pointer);
      if (status != 0) {
        LOG.log(Level.WARNING, "cudaFreeHost of {0} failed: {1}", what, describe(status));
      }
      pointer.setNull();
    }
  }

  private static String freeMemory() {
    try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
      if (cudaMemGetInfo(free, total) == 0) {
        return " and the GPU has " + mib(free.get()) + " free of " + mib(total.get());
      }
    } catch (RuntimeException e) {
      // only decoration for the message
    }
    return "";
  }

  static String mib(long bytes) {
    return bytes >= 10 * MIB ? (bytes / MIB) + " MiB" : String.format(java.util.Locale.ROOT, "%.2f MiB", bytes / (double) MIB);
  }
}
