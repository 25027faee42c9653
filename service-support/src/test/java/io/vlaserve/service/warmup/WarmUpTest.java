package io.vlaserve.service.warmup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.boot.health.contributor.Status;

/** Warm-up gates health, runs each task its rounds, and never keeps a service from serving. */
class WarmUpTest {
  private final List<Runnable> launched = new ArrayList<>();

  private static WarmUpTask counting(String name, AtomicInteger runs) {
    return new WarmUpTask() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public void runOnce() {
        runs.incrementAndGet();
      }
    };
  }

  @Test
  void healthIsOutOfServiceUntilEveryTaskRanItsRounds() {
    AtomicInteger loop = new AtomicInteger();
    AtomicInteger step = new AtomicInteger();
    WarmUp warmUp = new WarmUp(List.of(counting("loop", loop), counting("step", step)), 7, Duration.ofMinutes(1),
        launched::add);
    warmUp.start();
    assertEquals(Status.OUT_OF_SERVICE, warmUp.health().getStatus());
    assertEquals(1, launched.size());
    launched.get(0).run();
    assertEquals(Status.UP, warmUp.health().getStatus());
    assertTrue(warmUp.done());
    assertEquals(7, loop.get());
    assertEquals(7, step.get());
    assertTrue(String.valueOf(warmUp.health().getDetails().get("loop")).startsWith("7 rounds in "),
        warmUp.health().getDetails().toString());
  }

  @Test
  void theTimeBudgetEndsATaskEarly() {
    AtomicInteger runs = new AtomicInteger();
    WarmUp warmUp = new WarmUp(List.of(counting("loop", runs)), 1_000, Duration.ZERO, launched::add);
    warmUp.start();
    launched.get(0).run();
    assertEquals(0, runs.get(), "a zero budget is spent before the first round");
    assertEquals(Status.UP, warmUp.health().getStatus());
  }

  @Test
  void aFailingTaskIsSkippedAndTheServiceStillServes() {
    AtomicInteger after = new AtomicInteger();
    WarmUpTask failing = new WarmUpTask() {
      @Override
      public String name() {
        return "broken";
      }

      @Override
      public void runOnce() {
        throw new IllegalStateException("no such path");
      }
    };
    WarmUp warmUp = new WarmUp(List.of(failing, counting("next", after)), 3, Duration.ofMinutes(1), launched::add);
    warmUp.start();
    launched.get(0).run();
    assertEquals(Status.UP, warmUp.health().getStatus());
    assertTrue(String.valueOf(warmUp.health().getDetails().get("broken")).startsWith("failed after 0 rounds"));
    assertEquals(3, after.get());
  }

  @Test
  void noTasksOrNoRoundsMeansServingAtOnce() {
    assertEquals(Status.UP, new WarmUp(List.of(), 50, Duration.ofSeconds(5), launched::add).health().getStatus());
    AtomicInteger runs = new AtomicInteger();
    WarmUp skipped = new WarmUp(List.of(counting("loop", runs)), 0, Duration.ofSeconds(5), launched::add);
    skipped.start();
    assertTrue(launched.isEmpty());
    assertEquals(Status.UP, skipped.health().getStatus());
    assertEquals(0, runs.get());
    assertFalse(skipped.health().getDetails().containsKey("loop"));
  }

  /** A task needing at most {@code most} rounds, counting its rounds and its finished() calls. */
  private static WarmUpTask bounded(int most, AtomicInteger runs, AtomicInteger finished, boolean fails) {
    return new WarmUpTask() {
      @Override
      public String name() {
        return "bounded";
      }

      @Override
      public int maxRounds() {
        return most;
      }

      @Override
      public void runOnce() {
        runs.incrementAndGet();
        if (fails) {
          throw new IllegalStateException("broken");
        }
      }

      @Override
      public void finished() {
        finished.incrementAndGet();
      }
    };
  }

  @Test
  void aTaskRunsAtMostTheRoundsItNeedsAndIsToldOnceItIsDoneEvenWhenItFails() {
    AtomicInteger runs = new AtomicInteger();
    AtomicInteger finished = new AtomicInteger();
    AtomicInteger failingRuns = new AtomicInteger();
    AtomicInteger failingFinished = new AtomicInteger();
    WarmUp warmUp = new WarmUp(List.of(bounded(3, runs, finished, false), bounded(3, failingRuns, failingFinished,
        true)), 50, Duration.ofMinutes(1), launched::add);
    warmUp.start();
    launched.get(0).run();
    assertEquals(3, runs.get(), "its own bound, below vla.warm-up.rounds");
    assertEquals(1, finished.get());
    assertEquals(1, failingRuns.get());
    assertEquals(1, failingFinished.get(), "a task that failed still frees what it used");
  }
}
