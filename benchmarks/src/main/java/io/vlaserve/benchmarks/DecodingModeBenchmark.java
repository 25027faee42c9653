package io.vlaserve.benchmarks;

import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * Chunk latency of autoregressive KV-cache decoding against parallel decoding (one pass for every
 * action token), in process, the same scene and instruction, interleaved round by round so both
 * share the machine's noise: the shipped tiny VLA against its parallel-decoding variant, trained on
 * the same data with the same recipe. At batch 1 and at batch 8 (eight robots' observations run
 * together, as the scheduler's lockstep groups do).
 *
 * <pre>
 * ./vla --version      # builds the jars
 * java -cp benchmarks/target/benchmarks.jar io.vlaserve.benchmarks.DecodingModeBenchmark [iterations] \
 *     [autoregressive package] [parallel package]
 * </pre>
 */
public final class DecodingModeBenchmark {
  public static void main(String[] args) {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 400;
    BenchmarkScene scene = BenchmarkScene.load();
    Path home = scene.home();
    ModelPackage autoregressive = ModelPackage.load(home.resolve(args.length > 1 ? args[1] : "models/tiny-vla"));
    ModelPackage parallel = ModelPackage.load(home.resolve(args.length > 2 ? args[2] : "models/tiny-vla-parallel"));
    if (parallel.decoding() != ModelPackage.Decoding.PARALLEL
        || autoregressive.decoding() != ModelPackage.Decoding.AUTOREGRESSIVE) {
      throw new IllegalArgumentException("expected an autoregressive and a parallel-decoding package, got "
          + autoregressive.decoding() + " and " + parallel.decoding());
    }
    try (OnnxRuntimeEngine arEngine = new OnnxRuntimeEngine(autoregressive, 1);
        OnnxRuntimeEngine parallelEngine = new OnnxRuntimeEngine(parallel, 1)) {
      VlaPolicy ar = new VlaPolicy(autoregressive, arEngine);
      VlaPolicy par = new VlaPolicy(parallel, parallelEngine);
      PolicyRequest one = new PolicyRequest(scene.frame(), scene.instruction(), scene.proprio(),
          autoregressive.chunkLength(), SamplingParams.GREEDY);
      List<PolicyRequest> eight = Collections.nCopies(8, one);
      System.out.printf("%s: %d tokens per chunk, %d graph runs; %s: %d tokens, 1 graph run%n",
          autoregressive.name(), autoregressive.actionTokens(), autoregressive.actionTokens(), parallel.name(),
          parallel.actionTokens());
      List<Histogram> histograms = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        histograms.add(new Histogram(3));
      }
      int warmup = Math.max(30, iterations / 10);
      for (int i = -warmup; i < iterations; i++) {
        long a = System.nanoTime();
        ar.infer(one);
        long b = System.nanoTime();
        par.infer(one);
        long c = System.nanoTime();
        ar.infer(eight);
        long d = System.nanoTime();
        par.infer(eight);
        long e = System.nanoTime();
        if (i >= 0) {
          histograms.get(0).recordValue((b - a) / 1000);
          histograms.get(1).recordValue((c - b) / 1000);
          histograms.get(2).recordValue((d - c) / 1000);
          histograms.get(3).recordValue((e - d) / 1000);
        }
      }
      System.out.println("| decoding | batch | samples | p50 (ms) | p90 | p99 | mean | chunks/s at p50 |");
      System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
      row("autoregressive, KV cache", 1, histograms.get(0));
      row("parallel, one pass", 1, histograms.get(1));
      row("autoregressive, KV cache", 8, histograms.get(2));
      row("parallel, one pass", 8, histograms.get(3));
      System.out.printf("parallel speed-up at p50: %.1fx at batch 1, %.1fx at batch 8%n",
          (double) histograms.get(0).getValueAtPercentile(50) / histograms.get(1).getValueAtPercentile(50),
          (double) histograms.get(2).getValueAtPercentile(50) / histograms.get(3).getValueAtPercentile(50));
    }
  }

  private static void row(String name, int batch, Histogram h) {
    System.out.printf("| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.0f |%n", name, batch, h.getTotalCount(),
        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
        h.getMean() / 1000.0, batch * 1e6 / h.getValueAtPercentile(50));
  }
}
