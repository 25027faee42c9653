package io.vlaserve.policy.server;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one call's work in the order it was handed in: on the calling thread (the gRPC transport's
 * event loop) when the work is cheap and nothing handed in earlier is still waiting or running, else
 * on {@code workers}, one task at a time. A session's raw frames at the model's size are queued
 * where they arrive, with no thread hand-off; a JPEG to decode goes to a worker, and every frame
 * after it waits its turn behind it, so the scheduler still sees the session's observations in
 * arrival order (newest-wins supersession depends on that). Thread-safe.
 */
final class InlineOrOffload {
  private static final Logger log = LoggerFactory.getLogger(InlineOrOffload.class);

  private final Executor workers;
  private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
  private boolean busy; // a task runs (inline or on a worker) or a worker is about to drain the queue

  InlineOrOffload(Executor workers) {
    this.workers = workers;
  }

  /**
   * Runs {@code task} now on this thread if {@code cheap} and this order is idle, else after everything
   * handed in before it, on a worker. A task's exception is logged and does not stop the ones after it.
   */
  void execute(Runnable task, boolean cheap) {
    boolean inline;
    synchronized (this) {
      inline = cheap && !busy;
      if (!inline) {
        queue.addLast(task);
        if (busy) {
          return; // whoever is busy drains it, in turn
        }
      }
      busy = true;
    }
    if (!inline) {
      startDrain();
      return;
    }
    try {
      task.run();
    } catch (RuntimeException e) {
      log.error("A call's task failed", e);
    } finally {
      boolean more;
      synchronized (this) {
        more = !queue.isEmpty(); // handed in while this one ran: they follow it, off this thread
        busy = more;
      }
      if (more) {
        startDrain();
      }
    }
  }

  private void startDrain() {
    try {
      workers.execute(this::drain);
    } catch (RejectedExecutionException e) {
      drain(); // shutting down: the tasks still run (and are refused by a closed scheduler), none is lost
    }
  }

  private void drain() {
    while (true) {
      Runnable next;
      synchronized (this) {
        next = queue.pollFirst();
        if (next == null) {
          busy = false;
          return;
        }
      }
      try {
        next.run();
      } catch (RuntimeException e) {
        log.error("A call's task failed", e);
      }
    }
  }
}
