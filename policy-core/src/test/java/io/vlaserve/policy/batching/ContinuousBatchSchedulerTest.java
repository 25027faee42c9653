package io.vlaserve.policy.batching;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.PolicyResult;
import io.vlaserve.policy.ShippedModel;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.engine.VlaEngine;
import io.vlaserve.policy.model.ModelPackage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The scheduler over the shipped model. No test depends on wall-clock time: the scheduler runs on a
 * fake clock where deadlines matter, and a gate in front of the engine holds it busy while a test
 * arranges the queue.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContinuousBatchSchedulerTest {
  private static final long NO_DEADLINE = Long.MAX_VALUE;

  private final ModelPackage model = ShippedModel.load();
  private final OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1);
  private final VlaPolicy policy = new VlaPolicy(model, engine);

  @AfterAll
  void close() {
    engine.close();
  }

  private PolicyRequest request(long seed, int chunkLength, SamplingParams sampling) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] image = new byte[model.imageWidth() * model.imageHeight() * 3];
    for (int i = 0; i < image.length; i++) {
      image[i] = (byte) (60 + random.nextInt(120));
    }
    float[] proprio = {0.5f + 0.01f * (seed % 7), -0.02f, 0.15f, 0, 0, 0, 1, seed % 2};
    return new PolicyRequest(image, model.skills().get((int) (seed % model.skills().size())), proprio, chunkLength,
        sampling);
  }

  private static SamplingParams sampled(long seed) {
    return new SamplingParams(1.0, 0, 0.9, seed);
  }

  /** The real engine, with a hook run before every decode step and a gate that can hold the first prefill. */
  private static final class GatedEngine implements VlaEngine {
    final VlaEngine engine;
    final AtomicInteger prefills = new AtomicInteger();
    final AtomicInteger decodes = new AtomicInteger();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release;
    volatile Consumer<Integer> beforeDecode = step -> {};

    GatedEngine(VlaEngine engine, boolean gated) {
      this.engine = engine;
      this.release = new CountDownLatch(gated ? 1 : 0);
    }

    @Override
    public String name() {
      return "gated";
    }

    @Override
    public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
      synchronized (this) {
        prefills.incrementAndGet();
        notifyAll();
      }
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      return engine.prefill(batch, logits, maxNewTokens);
    }

    @Override
    public void decode(KvCache cache, long[] tokenIds, long[] positionIds, float[] attentionMask, float[] logits) {
      beforeDecode.accept(decodes.incrementAndGet());
      engine.decode(cache, tokenIds, positionIds, attentionMask, logits);
    }

    @Override
    public void close() {}

    void awaitEntered() throws InterruptedException {
      assertTrue(entered.await(30, TimeUnit.SECONDS), "the scheduler never reached the engine");
    }

    /**
     * Waits until the {@code count}th prefill has begun (the bound only turns a hang into a failure).
     * Callable from the scheduler's own threads, e.g. from {@link #beforeDecode}.
     */
    synchronized void awaitPrefillsBegun(int count) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      try {
        while (prefills.get() < count) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            throw new AssertionError("prefill " + count + " never began (" + prefills.get() + " did)");
          }
          TimeUnit.NANOSECONDS.timedWait(this, left);
        }
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private static SchedulerConfig config(int maxBatch, int maxQueued, int maxPerRobot) {
    return new SchedulerConfig(maxBatch, maxBatch, Duration.ZERO, maxQueued, maxPerRobot, Duration.ofMillis(25));
  }

  private static <T> T await(CompletableFuture<T> future) throws Exception {
    return future.get(60, TimeUnit.SECONDS);
  }

  private static Throwable failure(CompletableFuture<?> future) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(60, TimeUnit.SECONDS));
    return e.getCause();
  }

  @Test
  void sequencesJoiningAndLeavingMidBatchGetTheChunksTheyGetAlone() throws Exception {
    GatedEngine gated = new GatedEngine(engine, true);
    List<PolicyRequest> requests = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      int chunk = i % 3 == 0 ? 2 : model.chunkLength(); // some leave early
      requests.add(request(100 + i, chunk, i % 4 == 0 ? SamplingParams.GREEDY : sampled(7 * i + 1)));
    }
    List<CompletableFuture<ScheduledResult>> futures = new ArrayList<>();
    List<CompletableFuture<ScheduledResult>> joiners = Collections.synchronizedList(new ArrayList<>());
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(8, 64, 64), System::nanoTime,
        BatchingListener.NONE)) {
      // The prefill thread takes one group at a time and hands it to the decode batch before it
      // starts the next, so "prefill n has begun" means every earlier group will join at the next
      // decode step. Prefills: 1 = robot-0 (held until all six are queued), 2 = robots 1..5 together.
      // The second half arrives inside the third decode step, while robot-0 is mid-chunk. The step is
      // held until prefill 4 (robot-7) begins, so robot-6 (prefill 3) and robots 1..5 join the next
      // step however slowly the machine runs the prefill thread; the rest follow as leavers free slots.
      gated.beforeDecode = step -> {
        if (step == 3) {
          joiners.add(scheduler.submit("robot-6", null, requests.get(6), NO_DEADLINE));
          gated.awaitPrefillsBegun(3); // robot-6 alone: nothing else was waiting
          for (int i = 7; i < 12; i++) {
            joiners.add(scheduler.submit("robot-" + i, null, requests.get(i), NO_DEADLINE));
          }
          gated.awaitPrefillsBegun(4);
        }
      };
      futures.add(scheduler.submit("robot-0", null, requests.get(0), NO_DEADLINE));
      gated.awaitEntered();
      for (int i = 1; i < 6; i++) {
        futures.add(scheduler.submit("robot-" + i, null, requests.get(i), NO_DEADLINE));
      }
      gated.release.countDown();
      await(futures.get(0)); // the hook has run by then: robot-0 needs 13 decode steps
      futures.addAll(joiners);
      List<ScheduledResult> results = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        ScheduledResult batched = await(futures.get(i));
        results.add(batched);
        PolicyResult alone = policy.infer(requests.get(i));
        assertArrayEquals(alone.tokens(), batched.result().tokens(), "request " + i + ": tokens");
        assertEquals(alone.actions().length, batched.result().actions().length);
        for (int s = 0; s < alone.actions().length; s++) {
          assertArrayEquals(alone.actions()[s], batched.result().actions()[s], "request " + i + " step " + s);
        }
        for (int t = 0; t < alone.tokens().length; t++) {
          assertEquals(alone.logProbabilities()[t], batched.result().logProbabilities()[t], 1e-4);
        }
      }
      // Decode step 4 ran robots 0..6 together: the first joiner shared steps with the whole first half.
      assertTrue(results.get(0).largestBatch() >= 7, "robot-0's largest batch " + results.get(0).largestBatch());
      assertTrue(results.get(6).largestBatch() >= 7, "robot-6's largest batch " + results.get(6).largestBatch());
    }
  }

  /** {@code request} with the first {@code steps} actions of another observation's chunk as its committed prefix. */
  private PolicyRequest withPrefix(PolicyRequest request, int steps, long seed) {
    double[][] committed = java.util.Arrays.copyOf(policy.infer(request(seed, model.chunkLength(),
        SamplingParams.GREEDY)).actions(), steps);
    return new PolicyRequest(request.image(), request.instruction(), request.proprio(), request.chunkLength(),
        request.sampling(), committed);
  }

  @Test
  void sequencesWithCommittedPrefixesOfEveryLengthShareABatchAndGetWhatTheyGetAlone() throws Exception {
    GatedEngine gated = new GatedEngine(engine, true);
    List<PolicyRequest> requests = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      PolicyRequest plain = request(500 + i, model.chunkLength(), i % 2 == 0 ? SamplingParams.GREEDY : sampled(i));
      requests.add(withPrefix(plain, i % model.chunkLength(), 600 + i)); // prefixes of 0..3 steps
    }
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(8, 64, 64), System::nanoTime,
        BatchingListener.NONE)) {
      List<CompletableFuture<ScheduledResult>> futures = new ArrayList<>();
      futures.add(scheduler.submit("robot-0", null, requests.get(0), NO_DEADLINE));
      gated.awaitEntered();
      for (int i = 1; i < requests.size(); i++) {
        futures.add(scheduler.submit("robot-" + i, null, requests.get(i), NO_DEADLINE));
      }
      gated.release.countDown();
      for (int i = 0; i < requests.size(); i++) {
        ScheduledResult batched = await(futures.get(i));
        PolicyResult alone = policy.infer(requests.get(i));
        int steps = model.chunkLength() - requests.get(i).prefixSteps();
        assertEquals(steps, batched.result().actions().length, "request " + i + ": the steps after its prefix");
        assertArrayEquals(alone.tokens(), batched.result().tokens(), "request " + i + ": tokens");
        for (int s = 0; s < steps; s++) {
          assertArrayEquals(alone.actions()[s], batched.result().actions()[s], "request " + i + " step " + s);
        }
        if (i > 0) {
          assertTrue(batched.largestBatch() >= requests.size() - 1, "request " + i + " decoded in a batch of "
              + batched.largestBatch());
        }
      }
    }
  }

  @Test
  void aRequestIsPrefilledWhileTheRunningBatchIsInADecodeStep() throws Exception {
    GatedEngine gated = new GatedEngine(engine, false);
    CountDownLatch inStep = new CountDownLatch(1);
    CountDownLatch endStep = new CountDownLatch(1);
    gated.beforeDecode = step -> {
      if (step == 2) {
        inStep.countDown();
        try {
          endStep.await();
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      }
    };
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(8, 64, 64), System::nanoTime,
        BatchingListener.NONE)) {
      var running = scheduler.submit("a", null, request(1, 4, SamplingParams.GREEDY), NO_DEADLINE);
      assertTrue(inStep.await(30, TimeUnit.SECONDS), "the first request never reached its second decode step");
      PolicyRequest joiner = request(2, 4, SamplingParams.GREEDY);
      var joining = scheduler.submit("b", null, joiner, NO_DEADLINE);
      // Admission must not wait for the scheduler thread, which is inside the held decode step.
      gated.awaitPrefillsBegun(2);
      endStep.countDown();
      await(running);
      assertArrayEquals(policy.infer(joiner).tokens(), await(joining).result().tokens());
    }
  }

  @Test
  void requestWhoseDeadlinePassesWhileQueuedIsDroppedBeforeAnyCompute() throws Exception {
    AtomicLong clock = new AtomicLong(1_000_000_000L);
    GatedEngine gated = new GatedEngine(engine, true);
    List<BatchingListener.DropReason> drops = Collections.synchronizedList(new ArrayList<>());
    BatchingListener listener = new BatchingListener() {
      @Override
      public void dropped(DropReason reason) {
        drops.add(reason);
      }
    };
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(1, 8, 8), clock::get,
        listener)) {
      var first = scheduler.submit("a", null, request(1, 4, SamplingParams.GREEDY), NO_DEADLINE);
      gated.awaitEntered();
      var late = scheduler.submit("b", null, request(2, 4, SamplingParams.GREEDY), clock.get() + 50_000_000L);
      clock.addAndGet(51_000_000L);
      gated.release.countDown();
      await(first);
      assertInstanceOf(RejectedException.DeadlineExceeded.class, failure(late));
      assertEquals(1, gated.prefills.get(), "the expired request never reached the engine");
      assertEquals(List.of(BatchingListener.DropReason.DEADLINE), drops);
    }
  }

  @Test
  void aRequestCancelledWhileQueuedLeavesTheQueueUncomputed() throws Exception {
    GatedEngine gated = new GatedEngine(engine, true);
    List<BatchingListener.DropReason> drops = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch dropped = new CountDownLatch(1);
    BatchingListener listener = new BatchingListener() {
      @Override
      public void dropped(DropReason reason) {
        drops.add(reason);
        dropped.countDown();
      }
    };
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(1, 8, 8), System::nanoTime,
        listener)) {
      var first = scheduler.submit("a", null, request(1, 4, SamplingParams.GREEDY), NO_DEADLINE);
      gated.awaitEntered();
      var abandoned = scheduler.submit("b", null, request(2, 4, SamplingParams.GREEDY), NO_DEADLINE);
      abandoned.cancel(false);
      gated.release.countDown();
      await(first);
      assertTrue(dropped.await(30, TimeUnit.SECONDS), "the cancelled request was not dropped");
      assertEquals(0, scheduler.waiting(), "it left the queue");
      var next = scheduler.submit("c", null, request(3, 4, SamplingParams.GREEDY), NO_DEADLINE);
      await(next);
      assertEquals(2, gated.prefills.get(), "the cancelled request never reached the engine");
      assertEquals(List.of(BatchingListener.DropReason.CANCELLED), drops);
    }
  }

  @Test
  void fullQueueRefusesWithARetryDelayAndAChattyRobotIsRefusedBeforeOthers() throws Exception {
    GatedEngine gated = new GatedEngine(engine, true);
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(1, 3, 2), System::nanoTime,
        BatchingListener.NONE)) {
      var running = scheduler.submit("a", null, request(1, 4, SamplingParams.GREEDY), NO_DEADLINE);
      gated.awaitEntered();
      var chatty1 = scheduler.submit("chatty", null, request(2, 4, SamplingParams.GREEDY), NO_DEADLINE);
      var chatty2 = scheduler.submit("chatty", null, request(3, 4, SamplingParams.GREEDY), NO_DEADLINE);
      var perRobot = assertThrows(RejectedException.Overloaded.class,
          () -> scheduler.submit("chatty", null, request(4, 4, SamplingParams.GREEDY), NO_DEADLINE));
      assertTrue(perRobot.getMessage().contains("robot chatty"), perRobot.getMessage());
      var other = scheduler.submit("b", null, request(5, 4, SamplingParams.GREEDY), NO_DEADLINE);
      var full = assertThrows(RejectedException.Overloaded.class,
          () -> scheduler.submit("c", null, request(6, 4, SamplingParams.GREEDY), NO_DEADLINE));
      assertTrue(full.getMessage().contains("3 requests waiting"), full.getMessage());
      assertTrue(full.retryAfter().compareTo(Duration.ofMillis(25)) >= 0, "retry after " + full.retryAfter());
      assertEquals(3, scheduler.waiting());
      gated.release.countDown();
      for (var future : List.of(running, chatty1, chatty2, other)) {
        assertEquals(4, await(future).result().actions().length);
      }
    }
  }

  @Test
  void robotsAreAdmittedInTurnSoAChattyOneCannotStarveTheOthers() throws Exception {
    GatedEngine gated = new GatedEngine(engine, true);
    List<String> completed = Collections.synchronizedList(new ArrayList<>());
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(1, 16, 8), System::nanoTime,
        BatchingListener.NONE)) {
      List<CompletableFuture<?>> all = new ArrayList<>();
      all.add(scheduler.submit("chatty", null, request(1, 1, SamplingParams.GREEDY), NO_DEADLINE)
          .thenRun(() -> completed.add("chatty")));
      gated.awaitEntered();
      for (int i = 0; i < 5; i++) {
        all.add(scheduler.submit("chatty", null, request(10 + i, 1, SamplingParams.GREEDY), NO_DEADLINE)
            .thenRun(() -> completed.add("chatty")));
      }
      for (String quiet : List.of("quiet-1", "quiet-2")) {
        all.add(scheduler.submit(quiet, null, request(20, 1, SamplingParams.GREEDY), NO_DEADLINE)
            .thenRun(() -> completed.add(quiet)));
      }
      gated.release.countDown();
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      assertEquals(List.of("chatty", "chatty", "quiet-1", "quiet-2", "chatty", "chatty", "chatty", "chatty"), completed);
    }
  }

  @Test
  void aSessionsNewestObservationSupersedesItsQueuedOne() throws Exception {
    GatedEngine gated = new GatedEngine(engine, true);
    SessionKey session = new SessionKey("robot", 1);
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(1, 8, 8), System::nanoTime,
        BatchingListener.NONE)) {
      var running = scheduler.submit("other", null, request(1, 4, SamplingParams.GREEDY), NO_DEADLINE);
      gated.awaitEntered();
      var older = scheduler.submit("robot", session, request(2, 4, SamplingParams.GREEDY), NO_DEADLINE);
      var newer = scheduler.submit("robot", session, request(3, 4, SamplingParams.GREEDY), NO_DEADLINE);
      assertInstanceOf(RejectedException.Superseded.class, failure(older));
      assertEquals(1, scheduler.waiting());
      gated.release.countDown();
      await(running);
      assertArrayEquals(policy.infer(request(3, 4, SamplingParams.GREEDY)).tokens(), await(newer).result().tokens());
      assertEquals(2, gated.prefills.get(), "the superseded observation was never computed");
    }
  }

  @Test
  void anEngineWhoseCachesCannotBeRearrangedIsRunInLockstepGroupsWithTheSameResults() throws Exception {
    /** A cache the scheduler cannot see into, as a GPU engine's would be. */
    record Opaque(KvCache inner) implements KvCache {
      @Override
      public int batchSize() {
        return inner.batchSize();
      }

      @Override
      public int length() {
        return inner.length();
      }

      @Override
      public void close() {
        inner.close();
      }
    }
    VlaEngine opaque = new VlaEngine() {
      @Override
      public String name() {
        return "opaque";
      }

      @Override
      public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
        return new Opaque(engine.prefill(batch, logits, maxNewTokens));
      }

      @Override
      public void decode(KvCache cache, long[] tokenIds, long[] positionIds, float[] attentionMask, float[] logits) {
        engine.decode(((Opaque) cache).inner(), tokenIds, positionIds, attentionMask, logits);
      }

      @Override
      public void close() {}
    };
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, opaque), config(8, 64, 64), System::nanoTime,
        BatchingListener.NONE)) {
      List<CompletableFuture<ScheduledResult>> futures = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        futures.add(scheduler.submit("robot-" + i, null, withPrefix(request(300 + i, 4, sampled(i)), i % 3, 700 + i),
            NO_DEADLINE));
      }
      for (int i = 0; i < 5; i++) {
        PolicyResult alone = policy.infer(withPrefix(request(300 + i, 4, sampled(i)), i % 3, 700 + i));
        ScheduledResult lockstep = await(futures.get(i));
        assertArrayEquals(alone.tokens(), lockstep.result().tokens(), "request " + i);
        assertEquals(4 - i % 3, lockstep.result().actions().length, "request " + i + ": the steps after its prefix");
      }
    }
  }

  @Test
  void aSessionComputesOneObservationAtATimeSoItsNextOneCanStillBeSuperseded() throws Exception {
    GatedEngine gated = new GatedEngine(engine, false);
    SessionKey session = new SessionKey("robot", 1);
    List<CompletableFuture<ScheduledResult>> later = Collections.synchronizedList(new ArrayList<>());
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(4, 8, 8), System::nanoTime,
        BatchingListener.NONE)) {
      // Submitted from inside decode steps of the session's first observation, so their timing is exact.
      gated.beforeDecode = step -> {
        if (step == 1) {
          later.add(scheduler.submit("robot", session, request(2, 4, SamplingParams.GREEDY), NO_DEADLINE));
          later.add(scheduler.submit("other", null, request(5, 4, SamplingParams.GREEDY), NO_DEADLINE));
        } else if (step == 5) {
          later.add(scheduler.submit("robot", session, request(3, 4, SamplingParams.GREEDY), NO_DEADLINE));
        }
      };
      var first = scheduler.submit("robot", session, request(1, 4, SamplingParams.GREEDY), NO_DEADLINE);
      await(first);
      assertInstanceOf(RejectedException.Superseded.class, failure(later.get(0)),
          "the second observation waited while the first computed, so the third replaced it");
      await(later.get(1));
      assertArrayEquals(policy.infer(request(3, 4, SamplingParams.GREEDY)).tokens(), await(later.get(2)).result().tokens());
      assertEquals(3, gated.prefills.get(), "first, the other robot's and the third; never the superseded one");
    }
  }

  @Test
  void anErrorInADecodeStepFailsThatBatchAloneAndTheSchedulerGoesOn() throws Exception {
    GatedEngine gated = new GatedEngine(engine, false);
    AtomicInteger thrown = new AtomicInteger();
    gated.beforeDecode = step -> {
      if (thrown.getAndIncrement() == 0) {
        throw new OutOfMemoryError("test: no memory for this decode step");
      }
    };
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, gated), config(4, 64, 64), System::nanoTime,
        BatchingListener.NONE)) {
      var victim = scheduler.submit("a", null, request(400, 2, sampled(1)), NO_DEADLINE);
      Throwable failure = failure(victim);
      assertInstanceOf(OutOfMemoryError.class, failure, "the request in the failed step is answered with the error");
      var next = scheduler.submit("b", null, request(401, 2, sampled(2)), NO_DEADLINE);
      assertArrayEquals(policy.infer(request(401, 2, sampled(2))).tokens(), await(next).result().tokens(),
          "the scheduler thread lives on and the next request gets the chunk it gets alone");
    }
  }

  @Test
  void anErrorInAPrefillFailsThatGroupAloneAndThePrefillThreadGoesOn() throws Exception {
    AtomicInteger prefills = new AtomicInteger();
    VlaEngine failingOnce = new io.vlaserve.policy.engine.ForwardingVlaEngine(engine) {
      @Override
      public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
        if (prefills.getAndIncrement() == 0) {
          throw new StackOverflowError("test: the first prefill fails");
        }
        return super.prefill(batch, logits, maxNewTokens);
      }

      @Override
      public void close() {}
    };
    try (var scheduler = new ContinuousBatchScheduler(new VlaPolicy(model, failingOnce), config(4, 64, 64),
        System::nanoTime, BatchingListener.NONE)) {
      assertInstanceOf(StackOverflowError.class, failure(scheduler.submit("a", null, request(410, 2, sampled(1)),
          NO_DEADLINE)));
      // Its slot was freed: four more (the batch's capacity) still fit at once.
      List<CompletableFuture<ScheduledResult>> next = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        next.add(scheduler.submit("r" + i, null, request(411 + i, 2, sampled(i)), NO_DEADLINE));
      }
      for (int i = 0; i < 4; i++) {
        assertArrayEquals(policy.infer(request(411 + i, 2, sampled(i))).tokens(), await(next.get(i)).result().tokens());
      }
    }
  }

  @Test
  void requestsThatDoNotFitTheModelAreRefusedAtSubmission() {
    try (var scheduler = new ContinuousBatchScheduler(policy, config(4, 8, 8), System::nanoTime, BatchingListener.NONE)) {
      var tooLong = request(1, model.chunkLength() + 1, SamplingParams.GREEDY);
      var e = assertThrows(IllegalArgumentException.class, () -> scheduler.submit("a", null, tooLong, NO_DEADLINE));
      assertTrue(e.getMessage().contains("chunk length"), e.getMessage());
    }
  }
}
