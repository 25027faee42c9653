package io.vlaserve.policy.engine.tensorrt;

import static org.bytedeco.cuda.global.cudart.cudaDevAttrComputeCapabilityMajor;
import static org.bytedeco.cuda.global.cudart.cudaDevAttrComputeCapabilityMinor;
import static org.bytedeco.cuda.global.cudart.cudaDeviceGetAttribute;
import static org.bytedeco.cuda.global.cudart.cudaDriverGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaErrorInsufficientDriver;
import static org.bytedeco.cuda.global.cudart.cudaErrorNoDevice;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceProperties;

import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.tensorrt.global.nvinfer;
import org.bytedeco.tensorrt.global.nvonnxparser;

/**
 * The native half of {@link TensorRtAvailability#probe()}: kept in its own class so that a missing
 * bindings jar surfaces as a {@link NoClassDefFoundError} inside the probe's try block.
 */
final class NativeProbe {
  private NativeProbe() {}

  /** Fills {@code probe} step by step; throws LinkageErrors from the loads, which the caller explains. */
  static void run(TensorRtAvailability.Probe probe) {
    // 1. The CUDA runtime bindings: libjnicudart links libcuda.so.1 (driver) and libcudart.so.13.
    Loader.load(cudart.class);
    int[] value = new int[1];
    if (cudaDriverGetVersion(value) == 0 && value[0] > 0) {
      probe.cudaDriverVersion = TensorRtAvailability.cudaVersion(value[0]);
    }

    // 2. The TensorRT bindings: nvinfer (which also loads cuBLAS, cuDNN and NVRTC) and the ONNX parser.
    Loader.load(nvinfer.class);
    Loader.load(nvonnxparser.class);
    int major = nvinfer.getInferLibMajorVersion();
    probe.tensorRtVersion = major + "." + nvinfer.getInferLibMinorVersion() + "." + nvinfer.getInferLibPatchVersion()
        + "." + nvinfer.getInferLibBuildVersion();
    if (major != 10) {
      probe.reason = "libnvinfer is TensorRT " + probe.tensorRtVersion + ", but the Java bindings are for TensorRT 10"
          + " (install TensorRT 10.15 or build with -Pgpu; see docs/gpu.md)";
      return;
    }

    // 3. A device.
    int status = cudaGetDeviceCount(value);
    if (status == cudaErrorInsufficientDriver) {
      probe.reason = "the NVIDIA driver is too old for CUDA 13 ("
          + (probe.cudaDriverVersion == null ? "it reports no CUDA version" : "it supports CUDA " + probe.cudaDriverVersion)
          + "); install driver R580 or newer (see docs/gpu.md)";
      return;
    }
    if (status == cudaErrorNoDevice || (status == 0 && value[0] == 0)) {
      probe.reason = "no CUDA device: the NVIDIA driver is installed but sees no GPU (check nvidia-smi,"
          + " CUDA_VISIBLE_DEVICES and the container's GPU access)";
      return;
    }
    if (status != 0) {
      probe.reason = "no usable CUDA device: cudaGetDeviceCount failed with " + Cuda.describe(status);
      return;
    }

    // 4. Its compute capability.
    int device = TensorRtAvailability.DEVICE;
    int[] minor = new int[1];
    Cuda.check(cudaDeviceGetAttribute(value, cudaDevAttrComputeCapabilityMajor, device), "reading the compute capability");
    Cuda.check(cudaDeviceGetAttribute(minor, cudaDevAttrComputeCapabilityMinor, device), "reading the compute capability");
    probe.computeCapability = value[0] + "." + minor[0];
    try (cudaDeviceProp properties = new cudaDeviceProp()) {
      if (cudaGetDeviceProperties(properties, device) == 0) {
        probe.deviceName = properties.name().getString().trim();
      }
    }
    String device0 = (probe.deviceName == null ? "CUDA device " + device : probe.deviceName)
        + " (compute capability " + probe.computeCapability + ")";
    if (!TensorRtAvailability.supported(value[0], minor[0])) {
      probe.reason = device0 + " is older than CUDA 13 and TensorRT 10.15 support (compute capability "
          + TensorRtAvailability.MIN_COMPUTE_MAJOR + "." + TensorRtAvailability.MIN_COMPUTE_MINOR
          + " or newer, i.e. Turing or later)";
      return;
    }
    probe.available = true;
    probe.reason = "TensorRT " + probe.tensorRtVersion + " on " + device0 + ", CUDA driver "
        + probe.cudaDriverVersion;
  }
}
