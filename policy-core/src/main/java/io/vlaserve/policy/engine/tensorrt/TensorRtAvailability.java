package io.vlaserve.policy.engine.tensorrt;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether this process can run the {@link TensorRtEngine}, and if not, why, in words a person can act
 * on. Probing loads the JavaCPP CUDA and TensorRT bindings (which load the node's driver, CUDA 13
 * and TensorRT 10 libraries), then asks CUDA for a device and its compute capability. It never
 * throws.
 *
 * @param available true when the libraries load and device 0 can run TensorRT 10.15
 * @param reason when available, what was found; otherwise why not and what to do about it, e.g.
 *     "libcuda.so.1 not found: no NVIDIA driver on this machine (...)"
 * @param tensorRtVersion the loaded libnvinfer's version ("10.15.1.29"), or null if it was not loaded
 * @param cudaDriverVersion the CUDA version the installed driver supports ("13.1"), or null if no
 *     driver was found
 * @param deviceName CUDA device 0's name, or null if there is none
 * @param computeCapability CUDA device 0's compute capability ("8.9"), or null if there is none
 */
public record TensorRtAvailability(
    boolean available,
    String reason,
    String tensorRtVersion,
    String cudaDriverVersion,
    String deviceName,
    String computeCapability) {

  /** The CUDA device the engine runs on. Choose a GPU with {@code CUDA_VISIBLE_DEVICES}. */
  public static final int DEVICE = 0;

  /**
   * Oldest GPU generation supported: CUDA 13 and the TensorRT builds for it dropped Maxwell, Pascal
   * and Volta, so Turing (7.5) is the minimum.
   */
  public static final int MIN_COMPUTE_MAJOR = 7;

  /** See {@link #MIN_COMPUTE_MAJOR}. */
  public static final int MIN_COMPUTE_MINOR = 5;

  private static final String DOCS = "see docs/gpu.md";
  private static final Pattern MISSING_LIBRARY =
      Pattern.compile("(lib[\\w+.-]*?\\.so(?:\\.[\\w]+)*): cannot open shared object file");

  private static volatile TensorRtAvailability probed;

  /**
   * Probes once per process and remembers the answer: a native library that failed to load cannot
   * be loaded later in the same JVM, so the answer does not change.
   */
  public static TensorRtAvailability probe() {
    TensorRtAvailability result = probed;
    if (result == null) {
      synchronized (TensorRtAvailability.class) {
        result = probed;
        if (result == null) {
          result = probeNow();
          probed = result;
        }
      }
    }
    return result;
  }

  private static TensorRtAvailability probeNow() {
    Probe probe = new Probe();
    try {
      NativeProbe.run(probe);
    } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError, ExceptionInInitializerError, ...
      if (probe.reason == null) {
        probe.reason = explain(t);
      }
    }
    if (probe.reason == null) {
      probe.reason = "internal error: the TensorRT probe ended without a verdict";
    }
    return new TensorRtAvailability(probe.available, probe.reason, probe.tensorRtVersion, probe.cudaDriverVersion,
        probe.deviceName, probe.computeCapability);
  }

  /** What the probe found so far; filled in step by step so a failure keeps what was learnt. */
  static final class Probe {
    boolean available;
    String reason;
    String tensorRtVersion;
    String cudaDriverVersion;
    String deviceName;
    String computeCapability;
  }

  /**
   * Turns a failure to load the native bindings into a sentence naming what is missing and what to
   * install.
   */
  static String explain(Throwable failure) {
    List<String> messages = new ArrayList<>();
    for (Throwable t = failure; t != null && messages.size() < 16; t = t.getCause()) {
      messages.add(String.valueOf(t.getMessage()));
    }
    String all = String.join(" | ", messages);
    Matcher missing = MISSING_LIBRARY.matcher(all);
    if (missing.find()) {
      return missingLibrary(missing.group(1));
    }
    if (all.contains("libcuda.so")) {
      return missingLibrary("libcuda.so.1");
    }
    if (all.contains("undefined symbol") || all.contains("version `")) {
      return "the installed CUDA/TensorRT libraries do not match the Java bindings, which were built for CUDA 13.1"
          + " and TensorRT 10.15 (" + innermost(failure) + "); install those versions or build with -Pgpu; " + DOCS;
    }
    if (all.contains("not supported by") && all.contains("Platform")) {
      return "the TensorRT Java bindings exist for linux-x86_64 only; this is " + System.getProperty("os.name")
          + "/" + System.getProperty("os.arch");
    }
    if (all.contains("org.bytedeco.javacpp.cachedir") || all.contains("Could not create the cache")) {
      return "JavaCPP could not extract its native libraries (" + innermost(failure)
          + "); set -Dorg.bytedeco.javacpp.cachedir to a writable folder";
    }
    if (failure instanceof NoClassDefFoundError && !all.contains("Could not initialize class")) {
      return "the TensorRT Java bindings are not on the class path (" + failure.getMessage()
          + "): add org.bytedeco:tensorrt, cuda and javacpp with their linux-x86_64 jars";
    }
    return "the CUDA/TensorRT native libraries could not be loaded: " + innermost(failure) + "; " + DOCS;
  }

  private static String missingLibrary(String library) {
    String name = library.toLowerCase(Locale.ROOT);
    if (name.startsWith("libcuda.so")) {
      return "libcuda.so.1 not found: no NVIDIA driver on this machine (install the NVIDIA driver, R580 or newer"
          + " for CUDA 13, or run on a GPU node; " + DOCS + ")";
    }
    if (name.startsWith("libcudart")) {
      return library + " not found: the CUDA 13 runtime is not installed (install CUDA 13.x and put its lib64"
          + " folder on LD_LIBRARY_PATH, or build with -Pgpu to bundle it; " + DOCS + ")";
    }
    if (name.startsWith("libcublas") || name.startsWith("libcudnn") || name.startsWith("libnvrtc")) {
      return library + " not found: the JavaCPP TensorRT bindings also load cuBLAS, cuDNN 9 and NVRTC for CUDA 13"
          + " (install them next to CUDA 13, or build with -Pgpu to bundle them; " + DOCS + ")";
    }
    if (name.startsWith("libnvinfer") || name.startsWith("libnvonnxparser")) {
      return library + " not found: TensorRT 10 is not installed (install TensorRT 10.15 for CUDA 13 and put its"
          + " lib folder on LD_LIBRARY_PATH, or build with -Pgpu to bundle it; " + DOCS + ")";
    }
    return library + " not found: a library the CUDA/TensorRT bindings need is missing (" + DOCS + ")";
  }

  private static String innermost(Throwable failure) {
    Throwable t = failure;
    int depth = 0;
    while (t.getCause() != null && t.getCause() != t && depth++ < 16) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  /** "13.1" from CUDA's encoding 1000 * major + 10 * minor. */
  static String cudaVersion(int encoded) {
    return (encoded / 1000) + "." + (encoded % 1000) / 10;
  }

  static boolean supported(int major, int minor) {
    return major > MIN_COMPUTE_MAJOR || (major == MIN_COMPUTE_MAJOR && minor >= MIN_COMPUTE_MINOR);
  }

  @Override
  public String toString() {
    return (available ? "TensorRT available: " : "TensorRT unavailable: ") + reason;
  }
}
