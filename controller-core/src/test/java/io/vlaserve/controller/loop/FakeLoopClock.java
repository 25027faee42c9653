package io.vlaserve.controller.loop;

/**
 * A loop clock that only moves when the loop waits (by the deadline plus a scripted wake-up
 * latency) or when a test advances it (to model compute time).
 */
final class FakeLoopClock implements LoopClock {
  long now;
  private final long[] wakeLatencies;
  private int wakes;

  FakeLoopClock(long start, long... wakeLatencies) {
    this.now = start;
    this.wakeLatencies = wakeLatencies.length == 0 ? new long[] {0} : wakeLatencies;
  }

  @Override
  public long nanoTime() {
    return now;
  }

  @Override
  public void sleepUntil(long deadlineNanos) {
    if (now < deadlineNanos) {
      now = deadlineNanos + wakeLatencies[wakes++ % wakeLatencies.length];
    }
  }
}
