package io.vlaserve.service;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Decides which events of a stream anyone can trigger (bad input, plaintext connections) get a log
 * line: at most one per interval, counting the ones left out, so the log is never theirs to flood.
 * Time comes from an injected clock. Thread-safe.
 */
public final class LogThrottle {
  /** {@link #admit()}'s answer for an event that gets no line. */
  public static final long SKIP = -1;

  private final long intervalNanos;
  private final LongSupplier nanoClock;
  private boolean loggedOnce;
  private long lastLogged;
  private long suppressed;

  /**
   * @param interval at most one line per interval
   * @param nanoClock monotonic nanoseconds
   */
  public LogThrottle(Duration interval, LongSupplier nanoClock) {
    if (interval.isNegative()) {
      throw new IllegalArgumentException("interval " + interval + " (expected: >= 0)");
    }
    this.intervalNanos = interval.toNanos();
    this.nanoClock = nanoClock;
  }

  /**
   * Reports one event.
   *
   * @return {@link #SKIP} if it gets no line, else how many events were left out since the last line
   */
  public synchronized long admit() {
    long now = nanoClock.getAsLong();
    if (loggedOnce && now - lastLogged < intervalNanos) {
      suppressed++;
      return SKIP;
    }
    loggedOnce = true;
    lastLogged = now;
    long left = suppressed;
    suppressed = 0;
    return left;
  }
}
