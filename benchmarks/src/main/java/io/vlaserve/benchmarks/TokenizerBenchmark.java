package io.vlaserve.benchmarks;

import io.vlaserve.tokenizer.ActionDimension;
import io.vlaserve.tokenizer.ActionProfile;
import io.vlaserve.tokenizer.ActionTokenizer;
import io.vlaserve.tokenizer.ProfileRegistry;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Encode + decode of 7-DoF actions, one at a time and in batches of {@value #BATCH}, against the
 * naive numpy-style port. Run with {@code -prof gc}: {@code gc.alloc.rate.norm} is bytes per
 * action, and must be ~0 for the batched path.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseParallelGC"})
public class TokenizerBenchmark {
  static final int BATCH = 1024;

  @Param({"widowx-bridge", "eef-delta-7dof"})
  String profile;

  private ActionTokenizer tokenizer;
  private NaiveOpenVlaTokenizer naive;
  private double[] actions;
  private int[] tokens;
  private double[] decoded;
  private double[] single;
  private int[] singleTokens;
  private double[] singleDecoded;
  private int next;

  @Setup
  public void setUp() {
    tokenizer = ProfileRegistry.builtin(profile).tokenizer();
    ActionProfile p = tokenizer.profile();
    double[] low = p.dimensions().stream().mapToDouble(ActionDimension::low).toArray();
    double[] high = p.dimensions().stream().mapToDouble(ActionDimension::high).toArray();
    boolean[] mask = new boolean[7];
    for (int d = 0; d < 7; d++) {
      mask[d] = p.dimensions().get(d).normalized();
    }
    naive = new NaiveOpenVlaTokenizer(low, high, mask, 256, 32000);
    SplittableRandom random = new SplittableRandom(42);
    actions = new double[BATCH * 7];
    for (int i = 0; i < actions.length; i++) {
      int d = i % 7;
      actions[i] = low[d] + random.nextDouble() * (high[d] - low[d]);
    }
    tokens = new int[actions.length];
    decoded = new double[actions.length];
    single = new double[7];
    singleTokens = new int[7];
    singleDecoded = new double[7];
  }

  /** One action through the allocation-free array API. */
  @Benchmark
  public double single() {
    System.arraycopy(actions, (next++ & (BATCH - 1)) * 7, single, 0, 7);
    tokenizer.encode(single, 0, singleTokens, 0, 1);
    tokenizer.decode(singleTokens, 0, singleDecoded, 0, 1);
    return singleDecoded[6];
  }

  /** A batch of actions; the score is per action. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public double batched() {
    tokenizer.encode(actions, 0, tokens, 0, BATCH);
    tokenizer.decode(tokens, 0, decoded, 0, BATCH);
    return decoded[BATCH * 7 - 1];
  }

  /** Baseline: the naive numpy-style port (same formulas, new arrays per call), per action. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void naiveBaseline(Blackhole hole) {
    for (int a = 0; a < BATCH; a++) {
      System.arraycopy(actions, a * 7, single, 0, 7);
      hole.consume(naive.decode(naive.encode(single)));
    }
  }
}
