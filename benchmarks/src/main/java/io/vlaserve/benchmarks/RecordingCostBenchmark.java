package io.vlaserve.benchmarks;

import com.google.protobuf.ByteString;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.PolicyResult;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.recorder.CameraFrames;
import io.vlaserve.recorder.FlightRecorder;
import io.vlaserve.recorder.ProtobufTopics;
import io.vlaserve.recorder.v1.ModelIdentity;
import io.vlaserve.recorder.v1.PolicyInference;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * What recording every inference in full costs policy-service, per inference, beside the inference
 * itself in the same run: (1) the serving thread's cost, the two {@code record} calls (frame and
 * inference) that only queue references; (2) the recorder's writer thread's CPU, which builds the
 * {@code PolicyInference}, PNG-encodes the frame, LZ4-compresses and writes both, measured as that
 * thread's CPU time over the run. The writer runs on another core, so (2) costs latency only where
 * the cores are saturated; on this 2-core machine it is the share of one inference's CPU a robot's
 * recording adds.
 *
 * <pre>
 * ./vla --version      # builds the jars
 * java --enable-native-access=ALL-UNNAMED -Dvla.home=$PWD -cp benchmarks/target/benchmarks.jar \
 *     io.vlaserve.benchmarks.RecordingCostBenchmark [iterations]
 * </pre>
 */
public final class RecordingCostBenchmark {
  public static void main(String[] args) throws Exception {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    BenchmarkScene scene = BenchmarkScene.load();
    ModelPackage model = scene.model();
    Path directory = Files.createTempDirectory("recording-cost");
    FlightRecorder.Topic inferences = ProtobufTopics.topic("/policy/inferences", PolicyInference.getDescriptor());
    FlightRecorder.Topic camera = CameraFrames.topic(model.camera());
    ModelIdentity identity = ModelIdentity.newBuilder().setName(model.name()).setVersion(model.version())
        .setSha256(model.graphsSha256()).setEngine("onnxruntime-cpu").build();
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Histogram inference = new Histogram(3);
    Histogram offer = new Histogram(3);
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1);
        FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(directory, "policy-service"))) {
      VlaPolicy policy = new VlaPolicy(model, engine);
      PolicyRequest request = scene.policyRequest();
      long writer = writerThreadId();
      recorder.recordFully("arm-1", true).get(30, TimeUnit.SECONDS);
      long writerCpuBefore = 0;
      for (int i = -200; i < iterations; i++) {
        if (i == 0) {
          inference.reset();
          offer.reset();
          writerCpuBefore = threads.getThreadCpuTime(writer);
        }
        long start = System.nanoTime();
        PolicyResult result = policy.infer(request);
        long inferred = System.nanoTime();
        long time = FlightRecorder.epochNanos();
        long sequence = i;
        recorder.record(camera, "arm-1", time, () -> CameraFrames.compressedImage(model.camera(), time,
            request.image(), model.imageWidth(), model.imageHeight()));
        recorder.record(inferences, "arm-1", time, () -> inference(identity, model, request, result, sequence)
            .toByteArray());
        long offered = System.nanoTime();
        inference.recordValue(inferred - start);
        offer.recordValue(offered - inferred);
      }
      recorder.recordFully("arm-1", false).get(120, TimeUnit.SECONDS); // the writer has taken everything
      long writerCpu = threads.getThreadCpuTime(writer) - writerCpuBefore;
      long bytes = 0;
      for (Path file : recorder.files()) {
        bytes += Files.size(file);
      }
      double inferenceMs = inference.getValueAtPercentile(50) / 1e6;
      double writerMs = writerCpu / 1e6 / iterations;
      System.out.printf("%d inferences of %s (chunk of %d), recorded in full; %d dropped%n", iterations,
          model.name(), model.chunkLength(), recorder.dropped());
      System.out.printf("inference:            p50 %.3f ms, p99 %.3f ms%n", inferenceMs,
          inference.getValueAtPercentile(99) / 1e6);
      System.out.printf("record calls (serving thread): p50 %.1f us, p99 %.1f us (%.2f%% of the inference p50)%n",
          offer.getValueAtPercentile(50) / 1e3, offer.getValueAtPercentile(99) / 1e3,
          100 * offer.getValueAtPercentile(50) / 1e6 / inferenceMs);
      System.out.printf("writer thread CPU:    %.3f ms per inference (%.1f%% of the inference p50's time)%n", writerMs,
          100 * writerMs / inferenceMs);
      System.out.printf("on disk:              %.1f kB per inference (MCAP, LZ4)%n", bytes / 1024.0 / (iterations + 200));
    }
  }

  /** The recorder's writer thread, started with the recorder. */
  private static long writerThreadId() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("flight-recorder-"))
        .findFirst().orElseThrow().threadId();
  }

  /** As policy-service's recording builds it. */
  private static PolicyInference inference(ModelIdentity identity, ModelPackage model, PolicyRequest request,
      PolicyResult result, long sequence) {
    PolicyInference.Builder built = PolicyInference.newBuilder().setRobotId("arm-1").setSession(1)
        .setObservationSequence(sequence).setModel(identity).setInstruction(request.instruction())
        .setImageRgb8(ByteString.copyFrom(request.image())).setImageWidth(model.imageWidth())
        .setImageHeight(model.imageHeight()).setChunkLength(request.chunkLength());
    for (float value : request.proprio()) {
      built.addProprio(value);
    }
    var chunk = built.getChunkBuilder().setActionProfile(model.actionProfile().name());
    for (double[] step : result.actions()) {
      var vector = chunk.addStepsBuilder();
      for (double value : step) {
        vector.addValues(value);
      }
    }
    for (int i = 0; i < result.tokens().length; i++) {
      chunk.addTokens(result.tokens()[i]).addTokenLogprobs(result.logProbabilities()[i]);
    }
    return built.build();
  }
}
