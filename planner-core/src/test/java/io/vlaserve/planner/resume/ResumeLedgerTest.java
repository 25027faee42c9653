package io.vlaserve.planner.resume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vlaserve.planner.resume.ResumeTokenException.Reason;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** One replica's memory of resumed sessions, on a wall clock the test moves. */
class ResumeLedgerTest {
  private static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");
  private static final Instant EXPIRY = T0.plus(Duration.ofMinutes(10));

  private final MutableClock clock = new MutableClock(T0);
  private final ResumeLedger ledger = new ResumeLedger(3, clock);

  @Test
  void aTokenResumesItsSessionOnceAndOlderEpochsNotAtAll() throws Exception {
    ledger.claim("s1", 2, EXPIRY);

    ResumeTokenException replay = assertThrows(ResumeTokenException.class, () -> ledger.claim("s1", 2, EXPIRY));
    assertEquals(Reason.REPLAYED, replay.reason());
    assertEquals("session s1 was already resumed from connection 2 and this token is for connection 2: a resume token"
        + " works once; present the one from the latest SessionAccepted, or open a new session without a resume"
        + " token", replay.getMessage());
    assertEquals(Reason.REPLAYED, assertThrows(ResumeTokenException.class, () -> ledger.claim("s1", 1, EXPIRY))
        .reason());
  }

  @Test
  void theTokenOfTheResumedConnectionResumesAgain() throws Exception {
    ledger.claim("s1", 0, EXPIRY);
    ledger.claim("s1", 1, EXPIRY);
    ledger.claim("s1", 2, EXPIRY);
    assertEquals(1, ledger.size());
  }

  @Test
  void otherSessionsAreTheirOwn() throws Exception {
    ledger.claim("s1", 0, EXPIRY);
    ledger.claim("s2", 0, EXPIRY);
    assertEquals(2, ledger.size());
  }

  @Test
  void anEntryIsForgottenOnceItsTokensExpired() throws Exception {
    ledger.claim("s1", 4, EXPIRY);
    clock.advance(Duration.ofMinutes(10));
    // Such a token is refused as expired by ResumeTokens already; the ledger need not remember it.
    ledger.claim("s1", 4, EXPIRY.plus(Duration.ofMinutes(10)));
    assertEquals(Reason.REPLAYED, assertThrows(ResumeTokenException.class,
        () -> ledger.claim("s1", 4, EXPIRY)).reason());
  }

  @Test
  void anEntryIsKeptUntilTheLatestExpiryItWasClaimedWith() throws Exception {
    ledger.claim("s1", 1, EXPIRY);
    ledger.claim("s1", 2, T0.plus(Duration.ofMinutes(1)));
    clock.advance(Duration.ofMinutes(5));
    assertEquals(Reason.REPLAYED, assertThrows(ResumeTokenException.class,
        () -> ledger.claim("s1", 2, EXPIRY)).reason());
  }

  @Test
  void theLeastRecentlyUsedSessionMakesRoomAndCountsAsForgottenEarlyWhileItsTokensLive() throws Exception {
    ledger.claim("s1", 0, EXPIRY);
    ledger.claim("s2", 0, EXPIRY);
    ledger.claim("s3", 0, EXPIRY);
    assertThrows(ResumeTokenException.class, () -> ledger.claim("s1", 0, EXPIRY));

    ledger.claim("s4", 0, EXPIRY);

    assertEquals(3, ledger.size());
    assertEquals(1, ledger.forgottenEarly());
    // s2 was the least recently used; s1 was looked at since.
    ledger.claim("s2", 0, EXPIRY);
    assertEquals(Reason.REPLAYED, assertThrows(ResumeTokenException.class,
        () -> ledger.claim("s1", 0, EXPIRY)).reason());
  }

  @Test
  void makingRoomFromAnExpiredEntryIsNotForgettingEarly() throws Exception {
    ledger.claim("s1", 0, T0.plus(Duration.ofMinutes(1)));
    ledger.claim("s2", 0, EXPIRY);
    ledger.claim("s3", 0, EXPIRY);
    clock.advance(Duration.ofMinutes(2));

    ledger.claim("s4", 0, EXPIRY);

    assertEquals(0, ledger.forgottenEarly());
  }

  @Test
  void theCapacityMustBePositive() {
    assertEquals("capacity: 0 (expected > 0)",
        assertThrows(IllegalArgumentException.class, () -> new ResumeLedger(0, clock)).getMessage());
  }
}
