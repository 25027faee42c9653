package io.vlaserve.policy.engine.tensorrt;

import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicReference;
import org.bytedeco.tensorrt.nvinfer.ILogger;

/**
 * The {@code nvinfer1::ILogger} TensorRT reports to: forwards to {@link System.Logger} (errors as
 * ERROR, warnings as WARNING, info as DEBUG, verbose as TRACE) and remembers the last error so that
 * a failed call can say why. One per process: TensorRT keeps a raw pointer to it in every builder,
 * runtime and parser, and those cannot be destroyed from Java (see {@link TensorRtEngine}), so it must
 * never be garbage collected.
 */
final class TensorRtLogger extends ILogger {
  private static final System.Logger LOG = System.getLogger("io.vlaserve.policy.engine.tensorrt.TensorRT");

  private final ThreadLocal<String> lastErrorOnThread = new ThreadLocal<>();
  private final AtomicReference<String> lastError = new AtomicReference<>();

  private TensorRtLogger() {}

  /** Created on first use, after {@link TensorRtAvailability#probe()} has loaded the libraries. */
  static TensorRtLogger get() {
    return Holder.INSTANCE;
  }

  private static final class Holder {
    static final TensorRtLogger INSTANCE = new TensorRtLogger();
  }

  @Override
  public void log(Severity severity, String message) {
    try {
      int value = severity.intern().value;
      if (value <= Severity.kERROR.value) {
        lastErrorOnThread.set(message);
        lastError.set(message);
        LOG.log(Level.ERROR, "TensorRT: {0}", message);
      } else if (value == Severity.kWARNING.value) {
        LOG.log(Level.WARNING, "TensorRT: {0}", message);
      } else if (value == Severity.kINFO.value) {
        LOG.log(Level.DEBUG, "TensorRT: {0}", message);
      } else {
        LOG.log(Level.TRACE, "TensorRT: {0}", message);
      }
    } catch (RuntimeException e) {
      // never let an exception unwind into TensorRT's native frames
    }
  }

  /** Forgets this thread's last error; call before a TensorRT call whose failure should be explained. */
  void clear() {
    lastErrorOnThread.remove();
  }

  /**
   * The last error TensorRT logged on this thread since {@link #clear()}, else the last one on any
   * thread (the builder logs from its own threads), else a note that it said nothing.
   */
  String lastError() {
    String message = lastErrorOnThread.get();
    if (message == null) {
      message = lastError.get();
    }
    return message == null ? "TensorRT logged no error message" : "TensorRT: " + message;
  }
}
