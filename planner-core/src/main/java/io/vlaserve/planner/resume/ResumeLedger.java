package io.vlaserve.planner.resume;

import io.vlaserve.planner.resume.ResumeTokenException.Reason;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One replica's memory of the sessions it resumed: per session id, the highest connection epoch a
 * token resumed it from. A token resumes a session once per epoch: a second token of that epoch or
 * an older one is a replay. Bounded, least recently used first out; an entry is forgotten once the
 * tokens it guards have expired, since {@link ResumeTokens#verify} refuses those anyway.
 *
 * <p>This is the in-memory half of replay protection; the package description gives the other
 * half (one Execute stream per robot at the bridge) and what the two together guarantee.
 *
 * <p>Thread-safe.
 */
public final class ResumeLedger {
  private record Resumed(long highestEpoch, Instant keepUntil) {}

  private final Clock clock;
  private final int capacity;
  private final Map<String, Resumed> resumed;
  /** Sessions forgotten while a token of theirs could still verify: the capacity is too small. */
  private long forgottenEarly;

  /**
   * @param capacity sessions remembered at most; > 0. Size it above the sessions a replica can see
   *     resumed within a token's lifetime
   * @param clock wall clock, the one {@link ResumeTokens} checks expiry with
   */
  public ResumeLedger(int capacity, Clock clock) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected > 0)");
    }
    this.capacity = capacity;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.resumed = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Resumed> eldest) {
        if (size() <= ResumeLedger.this.capacity) {
          return false;
        }
        if (ResumeLedger.this.clock.instant().isBefore(eldest.getValue().keepUntil())) {
          forgottenEarly++;
        }
        return true;
      }
    };
  }

  /** Claims {@code token}'s session and epoch; see {@link #claim(String, long, Instant)}. */
  public void claim(VerifiedToken token) throws ResumeTokenException {
    claim(token.sessionId(), token.connectionEpoch(), token.expiresAt());
  }

  /**
   * Records that {@code sessionId} is resumed from {@code connectionEpoch}, unless it was already
   * resumed from that epoch or a later one.
   *
   * @param expiresAt when the token presented expires: the entry is kept at least that long
   * @throws ResumeTokenException {@link Reason#REPLAYED} if this replica already resumed the
   *     session from {@code connectionEpoch} or later
   */
  public synchronized void claim(String sessionId, long connectionEpoch, Instant expiresAt)
      throws ResumeTokenException {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(expiresAt, "expiresAt");
    Instant now = clock.instant();
    Resumed entry = resumed.get(sessionId);
    if (entry != null && !now.isBefore(entry.keepUntil())) {
      resumed.remove(sessionId);
      entry = null;
    }
    if (entry != null && connectionEpoch <= entry.highestEpoch()) {
      throw new ResumeTokenException(Reason.REPLAYED, "session " + sessionId + " was already resumed from"
          + " connection " + entry.highestEpoch() + " and this token is for connection " + connectionEpoch
          + ": a resume token works once; present the one from the latest SessionAccepted, or open a new session"
          + " without a resume token");
    }
    Instant keepUntil = entry == null || expiresAt.isAfter(entry.keepUntil()) ? expiresAt : entry.keepUntil();
    resumed.put(sessionId, new Resumed(connectionEpoch, keepUntil));
  }

  /** Sessions remembered now, expired ones not yet dropped among them. */
  public synchronized int size() {
    return resumed.size();
  }

  /**
   * Sessions dropped for room while one of their tokens could still verify: on this replica, such
   * a token could be replayed once more (the bridge still refuses a second live stream). Above zero,
   * raise the capacity.
   */
  public synchronized long forgottenEarly() {
    return forgottenEarly;
  }
}
