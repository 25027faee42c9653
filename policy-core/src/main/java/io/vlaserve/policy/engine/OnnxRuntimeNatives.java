package io.vlaserve.policy.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The process's ONNX Runtime environment, loaded so that the process leaves nothing behind in the
 * temporary directory (a pod's {@code /tmp} is a small emptyDir shared by everything in it).
 *
 * <p>ONNX Runtime's own loader copies its native libraries into a new {@code onnxruntime-java*}
 * directory under {@code java.io.tmpdir} and registers the directory for deletion on exit before the
 * libraries in it; the JVM deletes in reverse order, so it tries the directory while it still holds
 * the libraries, and every process leaves an empty directory behind (a killed one leaves the
 * libraries too). Here the libraries are copied into a directory of our own, loaded from there
 * through {@code onnxruntime.native.path}, and registered for deletion on exit in the order that
 * works: the libraries, then the directory. They stay while the process runs, as ONNX Runtime's own
 * copies do (it may look for files beside its library). ONNX Runtime still creates its own
 * directory, but nothing goes into it, so it too is gone at exit. A process that
 * sets {@code onnxruntime.native.path} or {@code onnxruntime.native.<library>.path} itself keeps its
 * choice.
 *
 * <p>A killed process (SIGKILL, the OOM killer, a container stopped past its grace period) runs no
 * exit hooks and leaves its 28 MB of libraries, and a restarted container finds them in the pod's
 * {@code /tmp}, which outlives it. So each process holds a file lock in its directory for as long as
 * it runs (the kernel releases it however the process ends), and the next one to load removes the
 * directories whose lock nobody holds, and ONNX Runtime's own empty directories, once they are
 * older than {@link #LEFTOVER_AGE} (a process that has just created its directory may not have
 * locked it yet).
 *
 * <p>ONNX Runtime 1.29 on Linux also starts Microsoft's 1DS telemetry uploader when its environment
 * is created: it writes {@code mat-debug-<pid>.log} and {@code .ses} into {@code $TMPDIR} (default
 * {@code /tmp}), a device id and an event database under {@code ~/.cache/Microsoft/DeveloperTools},
 * and sends usage events. Only the environment variable {@link #TELEMETRY_OPT_OUT}{@code =1}, read
 * before the uploader starts, prevents all of that, and a JVM cannot set its own environment: the
 * images and the build's test forks set it, and this class logs a warning once when it
 * is missing (and switches ONNX Runtime's telemetry events off, which stops the per-session events
 * but not the files).
 *
 * <p>Thread-safe: the environment is created once, on first use.
 */
public final class OnnxRuntimeNatives {
  /** The environment variable with which ONNX Runtime never starts its telemetry. */
  public static final String TELEMETRY_OPT_OUT = "ORT_DISABLE_TELEMETRY";

  private static final System.Logger log = System.getLogger(OnnxRuntimeNatives.class.getName());
  private static final String NATIVE_PATH = "onnxruntime.native.path";
  private static final List<String> LIBRARIES = List.of("onnxruntime", "onnxruntime4j_jni");
  static final String OWN_DIRECTORY_PREFIX = "vla-onnxruntime";
  /** ONNX Runtime's own loader's directories. */
  static final String ORT_DIRECTORY_PREFIX = "onnxruntime-java";
  static final String LOCK_FILE = ".lock";
  /** Younger leftovers are left alone: their process may be starting. */
  static final java.time.Duration LEFTOVER_AGE = java.time.Duration.ofMinutes(1);
  /** Held open, locked, while the process runs. */
  private static java.nio.channels.FileChannel ownLock;

  private OnnxRuntimeNatives() {}

  /** The shared ONNX Runtime environment; its native libraries are loaded on the first call. */
  public static OrtEnvironment environment() {
    return Holder.ENVIRONMENT;
  }

  private static final class Holder {
    static final OrtEnvironment ENVIRONMENT = load();
  }

  private static OrtEnvironment load() {
    if (System.getenv(TELEMETRY_OPT_OUT) == null || System.getenv(TELEMETRY_OPT_OUT).isBlank()) {
      log.log(Level.WARNING, "{0} is not set: ONNX Runtime starts its telemetry uploader, which writes"
          + " mat-debug-<pid>.log and .ses into $TMPDIR and a device id under ~/.cache/Microsoft and sends"
          + " usage events; set {0}=1 in the environment that starts this JVM", TELEMETRY_OPT_OUT);
    }
    OrtEnvironment environment = loadedFromOwnDirectory();
    try {
      environment.setTelemetry(false);
    } catch (OrtException e) {
      log.log(Level.DEBUG, "ONNX Runtime telemetry events could not be switched off: {0}", e.getMessage());
    }
    return environment;
  }

  private static OrtEnvironment loadedFromOwnDirectory() {
    String platform = platform();
    if (platform == null || System.getProperty(NATIVE_PATH) != null || LIBRARIES.stream()
        .anyMatch(library -> System.getProperty("onnxruntime.native." + library + ".path") != null)) {
      return OrtEnvironment.getEnvironment(); // the caller's choice, or a platform we do not know: ONNX Runtime's loader
    }
    Path temporary = Path.of(System.getProperty("java.io.tmpdir"));
    removeLeftovers(temporary, java.time.Instant.now());
    Path directory;
    try {
      directory = Files.createTempDirectory(temporary, OWN_DIRECTORY_PREFIX);
    } catch (IOException e) {
      throw new UncheckedIOException("no temporary directory for ONNX Runtime's native libraries", e);
    }
    // Deleted in reverse order of registration at exit: the libraries first, then the lock, then
    // their directory.
    directory.toFile().deleteOnExit();
    try {
      Path lock = directory.resolve(LOCK_FILE);
      ownLock = java.nio.channels.FileChannel.open(lock, java.nio.file.StandardOpenOption.CREATE_NEW,
          java.nio.file.StandardOpenOption.WRITE);
      ownLock.lock();
      lock.toFile().deleteOnExit();
    } catch (IOException e) {
      throw new UncheckedIOException("could not lock " + directory + " for this process", e);
    }
    try {
      for (String library : LIBRARIES) {
        String name = System.mapLibraryName(library);
        try (InputStream in = OrtEnvironment.class.getResourceAsStream("/ai/onnxruntime/native/" + platform + "/" + name)) {
          if (in == null) {
            return OrtEnvironment.getEnvironment(); // not in this jar: ONNX Runtime finds it on the library path
          }
          Path file = directory.resolve(name);
          file.toFile().deleteOnExit();
          Files.copy(in, file);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not copy ONNX Runtime's native libraries into " + directory, e);
    }
    System.setProperty(NATIVE_PATH, directory.toString());
    try {
      return OrtEnvironment.getEnvironment();
    } finally {
      System.clearProperty(NATIVE_PATH);
    }
  }

  /**
   * Removes, from {@code temporary}, what killed processes left: this class's directories whose lock
   * no process holds, and ONNX Runtime's own directories if empty, each older than {@link
   * #LEFTOVER_AGE} at {@code now}. Best effort: whatever cannot be removed stays.
   */
  static void removeLeftovers(Path temporary, java.time.Instant now) {
    List<Path> candidates;
    try (var entries = Files.newDirectoryStream(temporary,
        "{" + OWN_DIRECTORY_PREFIX + "," + ORT_DIRECTORY_PREFIX + "}*")) {
      candidates = new java.util.ArrayList<>();
      entries.forEach(candidates::add);
    } catch (IOException e) {
      return;
    }
    for (Path directory : candidates) {
      try {
        if (!Files.isDirectory(directory, java.nio.file.LinkOption.NOFOLLOW_LINKS)
            || Files.getLastModifiedTime(directory).toInstant().isAfter(now.minus(LEFTOVER_AGE))) {
          continue;
        }
        if (directory.getFileName().toString().startsWith(ORT_DIRECTORY_PREFIX)) {
          Files.delete(directory); // only if empty: ONNX Runtime's loader of a running process fills it
        } else if (unlocked(directory.resolve(LOCK_FILE))) {
          try (var files = Files.list(directory)) {
            for (Path file : files.toList()) {
              Files.delete(file);
            }
          }
          Files.delete(directory);
          log.log(Level.INFO, "removed {0}, left by a process that was killed", directory);
        }
      } catch (IOException | RuntimeException e) {
        log.log(Level.DEBUG, "left {0} in place: {1}", directory, e.toString());
      }
    }
  }

  /**
   * Whether no process holds the lock in {@code lock}. A directory old enough and without one was
   * left by a version before the lock (a live one's libraries stay mapped even so).
   */
  private static boolean unlocked(Path lock) throws IOException {
    if (!Files.exists(lock, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return true;
    }
    try (var channel = java.nio.channels.FileChannel.open(lock, java.nio.file.StandardOpenOption.WRITE)) {
      var held = channel.tryLock();
      if (held == null) {
        return false;
      }
      held.release();
      return true;
    } catch (java.nio.channels.OverlappingFileLockException heldByThisProcess) {
      return false;
    }
  }

  /** ONNX Runtime's name for the directory of this platform's libraries in its jar, or null. */
  private static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    String osName = os.contains("linux") ? "linux" : os.contains("mac") || os.contains("darwin") ? "osx"
        : os.contains("win") ? "win" : null;
    String archName = arch.equals("amd64") || arch.equals("x86_64") ? "x64" : arch.equals("aarch64") ? "aarch64" : null;
    return osName == null || archName == null || System.getProperty("java.vendor", "").contains("Android") ? null
        : osName + "-" + archName;
  }
}
