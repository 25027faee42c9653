package io.vlaserve.policy.engine.tensorrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** How load failures become reasons a person can act on (the failures JavaCPP really raises). */
class TensorRtAvailabilityTest {

  /** JavaCPP wraps the dynamic linker's message: "no jniX in java.library.path", caused by the real one. */
  private static UnsatisfiedLinkError javacpp(String jni, String linkerMessage) {
    UnsatisfiedLinkError outer = new UnsatisfiedLinkError("no " + jni + " in java.library.path: /usr/lib64:/lib64");
    outer.initCause(new UnsatisfiedLinkError("/root/.javacpp/cache/x.jar/org/bytedeco/cuda/linux-x86_64/lib" + jni
        + ".so: " + linkerMessage));
    return outer;
  }

  @Test
  void missingDriver() {
    String reason = TensorRtAvailability.explain(javacpp("jnicudart",
        "libcuda.so.1: cannot open shared object file: No such file or directory"));
    assertTrue(reason.startsWith("libcuda.so.1 not found: no NVIDIA driver on this machine"), reason);
  }

  @Test
  void missingCudaRuntimeLibraries() {
    assertTrue(TensorRtAvailability.explain(javacpp("jnicudart",
        "libcudart.so.13: cannot open shared object file: No such file or directory"))
        .startsWith("libcudart.so.13 not found: the CUDA 13 runtime is not installed"));
    String cublas = TensorRtAvailability.explain(javacpp("jnicublas",
        "libcublasLt.so.13: cannot open shared object file: No such file or directory"));
    assertTrue(cublas.startsWith("libcublasLt.so.13 not found") && cublas.contains("-Pgpu"), cublas);
    assertTrue(TensorRtAvailability.explain(javacpp("jnicudnn",
        "libcudnn_graph.so.9: cannot open shared object file: No such file or directory")).contains("cuDNN 9"));
  }

  @Test
  void missingTensorRt() {
    String reason = TensorRtAvailability.explain(javacpp("jninvinfer",
        "libnvinfer.so.10: cannot open shared object file: No such file or directory"));
    assertTrue(reason.startsWith("libnvinfer.so.10 not found: TensorRT 10 is not installed"), reason);
    assertTrue(TensorRtAvailability.explain(javacpp("jninvonnxparser",
        "libnvonnxparser.so.10: cannot open shared object file: No such file or directory"))
        .startsWith("libnvonnxparser.so.10 not found: TensorRT 10"));
  }

  @Test
  void laterAccessToAFailedClassStillNamesTheLibrary() {
    // The second touch of a class whose static initializer failed: NoClassDefFoundError, caused by an
    // ExceptionInInitializerError that only carries the outer message.
    NoClassDefFoundError again = new NoClassDefFoundError("Could not initialize class org.bytedeco.cuda.global.cudart");
    again.initCause(new ExceptionInInitializerError("Exception java.lang.UnsatisfiedLinkError: no jnicudart in"
        + " java.library.path [in thread \"main\"]"));
    String reason = TensorRtAvailability.explain(again);
    assertTrue(reason.startsWith("the CUDA/TensorRT native libraries could not be loaded"), reason);
    assertTrue(reason.contains("no jnicudart"), reason);
  }

  @Test
  void mismatchedVersionsAndMissingJars() {
    String symbol = TensorRtAvailability.explain(new UnsatisfiedLinkError(
        "/x/libjninvinfer.so: /usr/lib/libnvinfer.so.10: undefined symbol: _ZN8nvinfer110getVersionEv"));
    assertTrue(symbol.contains("do not match") && symbol.contains("TensorRT 10.15"), symbol);
    String jar = TensorRtAvailability.explain(new NoClassDefFoundError("org/bytedeco/tensorrt/global/nvinfer"));
    assertTrue(jar.startsWith("the TensorRT Java bindings are not on the class path"), jar);
  }

  @Test
  void versionsAndComputeCapability() {
    assertEquals("13.1", TensorRtAvailability.cudaVersion(13010));
    assertEquals("12.9", TensorRtAvailability.cudaVersion(12090));
    assertTrue(TensorRtAvailability.supported(7, 5));
    assertTrue(TensorRtAvailability.supported(8, 0));
    assertTrue(TensorRtAvailability.supported(12, 0));
    assertFalse(TensorRtAvailability.supported(7, 0));
    assertFalse(TensorRtAvailability.supported(6, 1));
  }
}
