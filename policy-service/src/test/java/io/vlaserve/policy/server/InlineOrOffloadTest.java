package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class InlineOrOffloadTest {
  /** A worker pool the test runs by hand, so "on a worker" and "later" are explicit. */
  private static final class ManualWorkers implements Executor {
    final ArrayDeque<Runnable> pending = new ArrayDeque<>();

    @Override
    public void execute(Runnable command) {
      pending.add(command);
    }

    void runAll() {
      while (!pending.isEmpty()) {
        pending.poll().run();
      }
    }
  }

  private final ManualWorkers workers = new ManualWorkers();
  private final InlineOrOffload order = new InlineOrOffload(workers);
  private final List<String> ran = new CopyOnWriteArrayList<>();

  private Runnable task(String name) {
    return () -> ran.add(name);
  }

  @Test
  void aCheapTaskOnAnIdleOrderRunsOnTheCallingThreadAtOnce() {
    Thread caller = Thread.currentThread();
    order.execute(() -> ran.add(Thread.currentThread() == caller ? "inline" : "elsewhere"), true);
    assertEquals(List.of("inline"), ran);
    assertTrue(workers.pending.isEmpty(), "no worker was asked");
  }

  @Test
  void anExpensiveTaskGoesToAWorker() {
    order.execute(task("decode"), false);
    assertEquals(List.of(), ran, "not on the calling thread");
    workers.runAll();
    assertEquals(List.of("decode"), ran);
  }

  @Nested
  class ArrivalOrder {
    @Test
    void cheapTasksWaitBehindAnExpensiveOneStillPending() {
      order.execute(task("1 decode"), false);
      order.execute(task("2 raw"), true);
      order.execute(task("3 raw"), true);
      assertEquals(List.of(), ran, "the raw ones do not overtake the decode");
      workers.runAll();
      assertEquals(List.of("1 decode", "2 raw", "3 raw"), ran);
    }

    @Test
    void onceDrainedCheapTasksRunInlineAgain() {
      order.execute(task("1 decode"), false);
      workers.runAll();
      order.execute(task("2 raw"), true);
      assertEquals(List.of("1 decode", "2 raw"), ran);
      assertTrue(workers.pending.isEmpty());
    }

    @Test
    void tasksHandedInWhileAnInlineOneRunsFollowItOnAWorker() {
      order.execute(() -> {
        ran.add("1 raw");
        order.execute(task("2 raw"), true); // e.g. from another thread while this one still runs
        assertEquals(List.of("1 raw"), ran, "2 waits for 1 to finish");
      }, true);
      assertEquals(List.of("1 raw"), ran);
      workers.runAll();
      assertEquals(List.of("1 raw", "2 raw"), ran);
    }
  }

  @Test
  void aFailingTaskDoesNotStopTheOnesAfterIt() {
    order.execute(() -> {
      throw new IllegalStateException("bad frame");
    }, false);
    order.execute(task("next"), true);
    workers.runAll();
    assertEquals(List.of("next"), ran);
    order.execute(() -> {
      throw new IllegalStateException("bad frame");
    }, true);
    order.execute(task("after an inline failure"), true);
    assertEquals(List.of("next", "after an inline failure"), ran);
  }

  @Test
  void whenWorkersRefuseTheTasksRunOnTheCallingThreadRatherThanBeingLost() {
    InlineOrOffload closing = new InlineOrOffload(command -> {
      throw new RejectedExecutionException("shutting down");
    });
    closing.execute(task("decode"), false);
    closing.execute(task("raw"), true);
    assertEquals(List.of("decode", "raw"), ran);
  }
}
