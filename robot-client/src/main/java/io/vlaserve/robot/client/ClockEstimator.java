package io.vlaserve.robot.client;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * NTP-style clock offset and round-trip estimation from probe exchanges, with no transport: feed
 * it the four times of each exchange, read the {@link ClockEstimate}.
 *
 * <p>For an exchange sent at {@code t0} (robot clock), received at {@code t1} and answered at
 * {@code t2} (gateway clock) and received back at {@code t3} (robot clock):
 * {@code offset = ((t1 - t0) + (t2 - t3)) / 2} and {@code roundTrip = (t3 - t0) - (t2 - t1)}. The
 * estimate is the sample with the shortest round trip among the last {@code window} ones: queueing
 * only ever lengthens one direction, so the quickest exchange is the least skewed, and keeping only
 * recent ones follows a drifting clock. Thread-safe.
 */
public final class ClockEstimator {
  private final long[] offsets;
  private final long[] roundTrips;
  private int next;
  private int count;

  /**
   * An estimator choosing from the last {@code window} samples.
   *
   * @param window how many recent samples to choose from (at least 1)
   */
  public ClockEstimator(int window) {
    if (window < 1) {
      throw new IllegalArgumentException("window: " + window + " (expected: >= 1)");
    }
    offsets = new long[window];
    roundTrips = new long[window];
  }

  /**
   * Adds one exchange. An exchange whose round trip comes out negative (a clock stepped during it)
   * is ignored.
   *
   * @return whether the sample was kept
   */
  public boolean add(Instant robotSent, Instant gatewayReceived, Instant gatewaySent, Instant robotReceived) {
    long t0 = nanos(robotSent);
    long t1 = nanos(gatewayReceived);
    long t2 = nanos(gatewaySent);
    long t3 = nanos(robotReceived);
    long roundTrip = (t3 - t0) - (t2 - t1);
    if (roundTrip < 0) {
      return false;
    }
    // Halve each difference first: epoch nanoseconds summed could overflow.
    long offset = (t1 - t0) / 2 + (t2 - t3) / 2;
    synchronized (this) {
      offsets[next] = offset;
      roundTrips[next] = roundTrip;
      next = (next + 1) % offsets.length;
      count = Math.min(count + 1, offsets.length);
    }
    return true;
  }

  /** The current estimate, or empty before the first sample. */
  public synchronized Optional<ClockEstimate> estimate() {
    if (count == 0) {
      return Optional.empty();
    }
    int best = 0;
    for (int i = 1; i < count; i++) {
      if (roundTrips[i] < roundTrips[best]) {
        best = i;
      }
    }
    return Optional.of(new ClockEstimate(Duration.ofNanos(offsets[best]), Duration.ofNanos(roundTrips[best]), count));
  }

  private static long nanos(Instant time) {
    return time.getEpochSecond() * 1_000_000_000L + time.getNano();
  }
}
