package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ClockEstimatorTest {
  private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

  /** An exchange with the gateway {@code offsetMs} ahead, {@code outMs}/{@code backMs} on the wire, 1 ms inside. */
  private static boolean exchange(ClockEstimator estimator, long startMs, long offsetMs, long outMs, long backMs) {
    Instant t0 = T.plusMillis(startMs);
    Instant t1 = t0.plusMillis(outMs + offsetMs);
    Instant t2 = t1.plusMillis(1);
    Instant t3 = t2.minusMillis(offsetMs).plusMillis(backMs);
    return estimator.add(t0, t1, t2, t3);
  }

  @Test
  void aSymmetricExchangeGivesTheExactOffsetAndTheWireRoundTrip() {
    ClockEstimator estimator = new ClockEstimator(4);
    assertTrue(estimator.estimate().isEmpty());
    exchange(estimator, 0, -250, 3, 3);
    ClockEstimate estimate = estimator.estimate().orElseThrow();
    assertEquals(Duration.ofMillis(-250), estimate.offset());
    assertEquals(Duration.ofMillis(6), estimate.roundTrip());
    assertEquals(1, estimate.samples());
    assertEquals(T.minusMillis(250), estimate.toGatewayTime(T));
    assertEquals(T, estimate.toRobotTime(T.minusMillis(250)));
  }

  @Test
  void theQuickestRecentExchangeWinsAndOldOnesAgeOut() {
    ClockEstimator estimator = new ClockEstimator(3);
    exchange(estimator, 0, 100, 1, 1);      // quickest, but will age out
    exchange(estimator, 10, 100, 40, 2);   // queued on the way out: skewed by 19 ms
    exchange(estimator, 20, 100, 2, 3);
    assertEquals(Duration.ofMillis(100), estimator.estimate().orElseThrow().offset());
    exchange(estimator, 30, 100, 5, 30);
    ClockEstimate estimate = estimator.estimate().orElseThrow();
    assertEquals(Duration.ofMillis(5), estimate.roundTrip(), "the 2 + 3 ms exchange is now the best");
    assertEquals(100, estimate.offset().toMillis(), 1);
    assertEquals(3, estimate.samples());
  }

  @Test
  void anExchangeWithANegativeRoundTripIsIgnored() {
    ClockEstimator estimator = new ClockEstimator(2);
    assertFalse(estimator.add(T, T, T.plusMillis(10), T.plusMillis(5)));
    assertTrue(estimator.estimate().isEmpty());
  }
}
