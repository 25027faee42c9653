package io.vlaserve.robot.client;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polls a condition with a generous timeout: the tests never depend on the machine's speed. */
final class Await {
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  private Await() {}

  static void until(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what.get());
      }
      Thread.sleep(5);
    }
  }
}
