package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ReconnectPolicyTest {
  @Test
  void waitsGrowExponentiallyUpToTheMaximum() {
    ReconnectPolicy policy = ReconnectPolicy.defaults().withBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))
        .withJitter(0);
    SplittableRandom random = new SplittableRandom(1);
    assertEquals(Duration.ofMillis(100), policy.backoff(0, random));
    assertEquals(Duration.ofMillis(200), policy.backoff(1, random));
    assertEquals(Duration.ofMillis(800), policy.backoff(3, random));
    assertEquals(Duration.ofSeconds(1), policy.backoff(4, random));
    assertEquals(Duration.ofSeconds(1), policy.backoff(60, random));
  }

  @Test
  void jitterSpreadsWaitsWithinItsFraction() {
    ReconnectPolicy policy = ReconnectPolicy.defaults().withBackoff(Duration.ofMillis(100), Duration.ofSeconds(10))
        .withJitter(0.2);
    SplittableRandom random = new SplittableRandom(7);
    long min = Long.MAX_VALUE;
    long max = 0;
    for (int i = 0; i < 1000; i++) {
      long wait = policy.backoff(2, random).toNanos();
      min = Math.min(min, wait);
      max = Math.max(max, wait);
    }
    assertTrue(min >= Duration.ofMillis(320).toNanos() && max <= Duration.ofMillis(480).toNanos(), min + ".." + max);
    assertTrue(max - min > Duration.ofMillis(100).toNanos(), "the waits are spread: " + min + ".." + max);
  }

  @Test
  void fatalCodesAndOkAreNotRetriedAndGivingUpIsCountedFromTheLoss() {
    ReconnectPolicy policy = ReconnectPolicy.defaults().withGiveUpAfter(Duration.ofSeconds(2));
    assertTrue(policy.retryable(Status.UNAVAILABLE));
    assertTrue(policy.retryable(Status.FAILED_PRECONDITION), "e.g. the bridge still holds the old link");
    for (Status fatal : new Status[] {Status.NOT_FOUND, Status.INVALID_ARGUMENT, Status.PERMISSION_DENIED, Status.OK}) {
      assertFalse(policy.retryable(fatal), fatal.toString());
    }
    assertTrue(policy.keepTrying(Duration.ofMillis(1999).toNanos()));
    assertFalse(policy.keepTrying(Duration.ofSeconds(2).toNanos()));
    assertFalse(ReconnectPolicy.never().keepTrying(0));
  }

  @Test
  void badParametersAreRefusedWithWhatWasExpected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ReconnectPolicy.defaults().withBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
    assertTrue(e.getMessage().contains("expected"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ReconnectPolicy.defaults().withJitter(1.5));
  }
}
