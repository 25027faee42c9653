package io.vlaserve.planner.resume;

import java.util.Objects;

/**
 * A resume token that does not resume a session, with why as a {@link Reason} and in words that
 * say what to do. Messages name no secret and no other robot.
 */
public final class ResumeTokenException extends Exception {
  /** Why a token was refused, in the order {@link ResumeTokens#verify} checks. */
  public enum Reason {
    /** Not a token: not URL-safe base64, truncated, trailing bytes, a field out of bounds. */
    MALFORMED,
    /** A token, or its session snapshot, in a format this gateway does not read (a newer one, mid-rollout). */
    UNKNOWN_VERSION,
    /** Signed with a key this gateway does not hold: retired after its overlap window, or not rolled out yet. */
    UNKNOWN_KEY,
    /** The signature does not match the content: forged or altered. */
    BAD_SIGNATURE,
    /** Past its expiry. */
    EXPIRED,
    /** Issued later than this gateway's clock allows: the replicas' clocks disagree. */
    NOT_YET_VALID,
    /** Issued to another robot than the caller. */
    OTHER_ROBOT,
    /** Its session was already resumed from this connection epoch or a later one. */
    REPLAYED
  }

  private final Reason reason;

  public ResumeTokenException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }
}
