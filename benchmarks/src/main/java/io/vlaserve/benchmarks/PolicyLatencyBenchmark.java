package io.vlaserve.benchmarks;

import io.grpc.ManagedChannel;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.decode.MaskedSampler;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.tokenizer.ActionTokenizer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Chunk latency of the shipped model, three ways side by side in one run, interleaved so they share
 * the machine's noise: (1) engine only — the in-process policy (prefill + KV-cache decoding of a
 * 4-step chunk); (2) end to end over gRPC — unary Infer against policy-service running as its own
 * process on loopback (the difference is the serving overhead); (3) the same decoding without a
 * KV cache — for every token the prompt is prefilled again and all earlier tokens re-fed.
 *
 * <pre>
 * ./vla --version      # builds the jars
 * java -cp benchmarks/target/benchmarks.jar io.vlaserve.benchmarks.PolicyLatencyBenchmark [iterations]
 * </pre>
 */
public final class PolicyLatencyBenchmark {
  public static void main(String[] args) throws Exception {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    BenchmarkScene scene = BenchmarkScene.load();
    Path home = scene.home();
    ModelPackage model = scene.model();
    byte[] frame = scene.frame();
    float[] proprio = scene.proprio();
    String instruction = scene.instruction();

    try (ServiceProcess service = ServiceProcess.start("policy-latency-service",
            home.resolve("policy-service/target/policy-service.jar"), home, List.of(),
            // Plaintext, said explicitly: the transport cost measured here excludes TLS, as in earlier runs.
            List.of("--vla.tls.insecure=true", "--vla.policy.model=" + home.resolve("models/tiny-vla"),
                "--spring.threads.virtual.enabled=" + System.getProperty("virtual", "true")), home.resolve("target"));
        OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1)) {
      service.awaitServing(Duration.ofSeconds(120));
      ManagedChannel channel = service.channel();
      try {
        VlaPolicy policy = new VlaPolicy(model, engine);
        PolicyRequest request = scene.policyRequest();
        InferRequest grpcRequest = scene.inferRequest();
        PolicyServiceGrpc.PolicyServiceBlockingStub stub = PolicyServiceGrpc.newBlockingStub(channel);

        int[] cached = policy.infer(request).tokens();
        int[] recomputed = recompute(model, engine, frame, instruction, proprio);
        List<Integer> remote = stub.withDeadlineAfter(30, TimeUnit.SECONDS).infer(grpcRequest).getChunk().getTokensList();
        if (!Arrays.equals(cached, recomputed) || !Arrays.equals(cached, remote.stream().mapToInt(Integer::intValue).toArray())) {
          throw new IllegalStateException("the three paths disagree: " + Arrays.toString(cached) + " / "
              + Arrays.toString(recomputed) + " / " + remote);
        }
        Histogram engineOnly = new Histogram(3);
        Histogram grpc = new Histogram(3);
        Histogram noCache = new Histogram(3);
        Histogram serverTotal = new Histogram(3);
        Histogram serverCompute = new Histogram(3);
        int warmup = Math.max(20, iterations / 10);
        for (int i = -warmup; i < iterations; i++) {
          long a = System.nanoTime();
          policy.infer(request);
          long b = System.nanoTime();
          var timing = stub.withDeadlineAfter(30, TimeUnit.SECONDS).infer(grpcRequest).getTiming();
          long c = System.nanoTime();
          if (i % 5 == 0) { // the slow path is sampled every fifth round to keep the run short
            recompute(model, engine, frame, instruction, proprio);
          }
          long d = System.nanoTime();
          if (i >= 0) {
            engineOnly.recordValue((b - a) / 1000);
            grpc.recordValue((c - b) / 1000);
            serverTotal.recordValue(micros(timing.getTotal()));
            serverCompute.recordValue(micros(timing.getPrefill()) + micros(timing.getDecode()));
            if (i % 5 == 0) {
              noCache.recordValue((d - c) / 1000);
            }
          }
        }
        System.out.printf("tokens per chunk: %d (%d steps x %d dims), identical on all three paths%n", cached.length,
            model.chunkLength(), model.actionDimensions());
        System.out.println("| path | samples | p50 (ms) | p90 | p99 | max | mean |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|");
        row("engine only, KV cache (in process)", engineOnly);
        row("end to end over gRPC (policy-service process)", grpc);
        row("engine only, no KV cache (prefix recomputed per token)", noCache);
        row("  inside policy-service: receipt to reply ready", serverTotal);
        row("  inside policy-service: prefill + decode", serverCompute);
        System.out.printf("serving overhead (gRPC - engine): p50 %.2f ms, p99 %.2f ms; KV cache speed-up at p50: %.1fx%n",
            (grpc.getValueAtPercentile(50) - engineOnly.getValueAtPercentile(50)) / 1000.0,
            (grpc.getValueAtPercentile(99) - engineOnly.getValueAtPercentile(99)) / 1000.0,
            (double) noCache.getValueAtPercentile(50) / engineOnly.getValueAtPercentile(50));
      } finally {
        channel.shutdownNow();
      }
    }
  }

  private static long micros(com.google.protobuf.Duration d) {
    return d.getSeconds() * 1_000_000 + d.getNanos() / 1000;
  }

  /** Greedy decoding without reusing a KV cache: prefill again and re-feed every earlier token. */
  static int[] recompute(ModelPackage model, OnnxRuntimeEngine engine, byte[] frame, String instruction, float[] proprio) {
    int dims = model.actionDimensions();
    int total = model.chunkLength() * dims;
    long[] ids = new long[model.text().maxTokens()];
    model.text().encode(instruction, ids, 0);
    ActionTokenizer tokenizer = model.actionProfile().tokenizer();
    MaskedSampler sampler = new MaskedSampler(256);
    float[] logits = new float[model.vocabSize()];
    float[] mask = new float[model.promptLength() + total];
    Arrays.fill(mask, 1f);
    int[] tokens = new int[total];
    for (int t = 0; t < total; t++) {
      try (KvCache cache = engine.prefill(new PromptBatch(1, frame, ids, proprio), logits, total)) {
        for (int k = 0; k < t; k++) {
          engine.decode(cache, new long[] {tokens[k]}, new long[] {cache.length()}, mask, logits);
        }
      }
      sampler.sample(logits, 0, tokenizer.allowedTokens(t % dims), SamplingParams.GREEDY, new SplittableRandom(0));
      tokens[t] = sampler.token();
    }
    return tokens;
  }

  private static void row(String name, Histogram h) {
    System.out.printf("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |%n", name, h.getTotalCount(),
        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
        h.getMaxValue() / 1000.0, h.getMean() / 1000.0);
  }
}
