package io.vlaserve.planner.session;

import java.util.Arrays;

/**
 * The last {@link #WINDOW} observation-to-chunk delays of a session and their p90: what a committed
 * prefix must cover ({@link CommittedActions#prefixLength}). Not thread-safe.
 */
public final class RecentDelays {
  /** Delays kept. */
  public static final int WINDOW = 20;

  private final long[] delays = new long[WINDOW];
  private int count;
  private int next;

  /** Records one delay, nanoseconds (a negative one, from skewed clocks, counts as 0). */
  public void add(long delayNanos) {
    delays[next] = Math.max(0, delayNanos);
    next = (next + 1) % WINDOW;
    count = Math.min(WINDOW, count + 1);
  }

  /** The p90 of the delays kept, nanoseconds; 0 before the first. */
  public long p90() {
    if (count == 0) {
      return 0;
    }
    long[] recent = Arrays.copyOf(delays, count);
    Arrays.sort(recent);
    return recent[(int) Math.min(recent.length - 1, Math.floor(0.9 * recent.length))];
  }
}
