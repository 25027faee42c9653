package io.vlaserve.controller.loop;

import java.util.concurrent.locks.LockSupport;

/**
 * {@link System#nanoTime} with a park-then-spin wait: the thread parks until shortly before the
 * deadline, then busy-waits the rest, because a park's wake-up is late by tens of microseconds
 * (more under load) while a spin is late by well under one.
 *
 * <p>Stateless apart from its configuration; thread-safe and allocation-free.
 */
public final class SystemLoopClock implements LoopClock {
  private final long spinNanos;

  /**
   * Creates a clock.
   *
   * @param spinNanos how long before a deadline to stop parking and start spinning; 50-100 us
   *     covers a typical Linux timer slack, 0 never spins
   */
  public SystemLoopClock(long spinNanos) {
    if (spinNanos < 0) {
      throw new IllegalArgumentException("spinNanos: " + spinNanos + " (expected: >= 0)");
    }
    this.spinNanos = spinNanos;
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public void sleepUntil(long deadlineNanos) {
    while (true) {
      long remaining = deadlineNanos - System.nanoTime();
      if (remaining <= 0) {
        return;
      }
      if (remaining > spinNanos) {
        LockSupport.parkNanos(remaining - spinNanos);
        // An interrupt makes every later park return at once; the loop checks its own stop flag,
        // so clearing the interrupt here only stops a busy loop.
        Thread.interrupted();
      } else {
        Thread.onSpinWait();
      }
    }
  }
}
