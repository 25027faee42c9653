package io.vlaserve.controller.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Real scheduler calls on fresh threads: whichever the machine permits (root or CAP_SYS_NICE:
 * SCHED_FIFO; otherwise a refusal), what the thread reports of itself must match the outcome.
 */
class ThreadSchedulingTest {

  private static <T> T onFreshThread(java.util.function.Supplier<T> work) throws InterruptedException {
    AtomicReference<T> result = new AtomicReference<>();
    Thread thread = Thread.ofPlatform().start(() -> result.set(work.get()));
    thread.join();
    return result.get();
  }

  private static boolean linux() {
    return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
  }

  @Test
  void realtimeIsGrantedAsAskedOrRefusedWithTheReasonAndTheThreadSaysTheSame() throws InterruptedException {
    assumeTrue(linux(), "scheduler calls are Linux's");
    String[] seen = new String[2];
    ThreadScheduling.Outcome outcome = onFreshThread(() -> {
      seen[0] = ThreadScheduling.describeCurrentThread();
      ThreadScheduling.Outcome o = ThreadScheduling.applyToCurrentThread(LoopScheduling.realtime(7));
      seen[1] = ThreadScheduling.describeCurrentThread();
      return o;
    });
    assertTrue(seen[0].startsWith("SCHED_OTHER"), seen[0]);
    if (outcome.description().startsWith("SCHED_FIFO")) {
      assertTrue(outcome.elevated());
      assertEquals("SCHED_FIFO priority 7", outcome.description());
      assertEquals("SCHED_FIFO priority 7", seen[1]);
    } else if (outcome.elevated()) {
      assertTrue(outcome.description().startsWith("nice " + ThreadScheduling.FALLBACK_NICE + " (SCHED_FIFO priority 7 refused"),
          outcome.description());
      assertEquals("SCHED_OTHER nice " + ThreadScheduling.FALLBACK_NICE, seen[1]);
    } else {
      assertTrue(outcome.description().startsWith("normal: SCHED_FIFO priority 7 and nice -10 refused"),
          outcome.description());
      assertEquals(seen[0], seen[1], "a refused request changes nothing");
    }
  }

  @Test
  void normalAsksForNothing() throws InterruptedException {
    assumeTrue(linux(), "scheduler calls are Linux's");
    List<String> seen = onFreshThread(() -> {
      String before = ThreadScheduling.describeCurrentThread();
      ThreadScheduling.Outcome outcome = ThreadScheduling.applyToCurrentThread(LoopScheduling.NORMAL);
      return List.of(before, ThreadScheduling.describeCurrentThread(), outcome.description(),
          String.valueOf(outcome.elevated()));
    });
    assertEquals(seen.get(0), seen.get(1));
    assertEquals("normal (real-time scheduling not requested)", seen.get(2));
    assertEquals("false", seen.get(3));
  }

  @Test
  void priorityOutsideSchedFifoRangeIsRefusedAtConfiguration() {
    assertThrows(IllegalArgumentException.class, () -> LoopScheduling.realtime(0));
    assertThrows(IllegalArgumentException.class, () -> LoopScheduling.realtime(100));
    assertFalse(LoopScheduling.NORMAL.realtime());
  }

  @Test
  void aLoopReportsWhatItsThreadGot() throws InterruptedException {
    java.util.concurrent.CountDownLatch ticked = new java.util.concurrent.CountDownLatch(1);
    ControlLoop loop = new ControlLoop("scheduling-test", 1_000_000, new SystemLoopClock(0),
        List.of(nominal -> ticked.countDown()), LoopScheduling.realtime(5));
    assertEquals("not started", loop.scheduling());
    loop.start();
    try {
      assertTrue(ticked.await(60, java.util.concurrent.TimeUnit.SECONDS), "the loop never ticked");
      String scheduling = loop.scheduling();
      assertTrue(scheduling.startsWith("SCHED_FIFO priority 5") || scheduling.startsWith("nice ")
          || scheduling.startsWith("normal: "), scheduling);
      assertEquals(!scheduling.startsWith("normal"), loop.schedulingElevated());
    } finally {
      loop.close();
    }
  }
}
