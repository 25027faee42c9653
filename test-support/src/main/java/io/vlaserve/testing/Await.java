package io.vlaserve.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waiting in tests for something that happens on another thread or process: polls a condition
 * until it holds. The time limit is a generous guard against a hang, never what a test asserts, so
 * a slow machine only makes a test slower, not red.
 */
public final class Await {
  /** How long a test waits before it calls a condition hung. */
  public static final Duration DEFAULT_LIMIT = Duration.ofSeconds(120);
  private static final long POLL_MILLIS = 5;

  private Await() {}

  /**
   * Returns once {@code condition} holds.
   *
   * @param what the condition in words, for the failure ("the first session is registered")
   * @throws AssertionError naming {@code what} when it did not hold within {@link #DEFAULT_LIMIT}
   */
  public static void until(BooleanSupplier condition, String what) throws InterruptedException {
    until(condition, DEFAULT_LIMIT, () -> what);
  }

  /**
   * Returns once {@code condition} holds, or throws after {@code limit} with {@code what} (computed
   * then, so it can show the state that was waited on).
   */
  public static void until(BooleanSupplier condition, Duration limit, Supplier<String> what)
      throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out after " + limit.toSeconds() + " s waiting until " + what.get());
      }
      Thread.sleep(POLL_MILLIS);
    }
  }
}
