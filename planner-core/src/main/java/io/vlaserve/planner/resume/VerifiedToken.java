package io.vlaserve.planner.resume;

import io.vlaserve.planner.session.SessionSnapshot;
import java.time.Instant;
import java.util.Objects;

/**
 * A resume token that passed {@link ResumeTokens#verify}: the session it carries, and when it was
 * signed and with which key. Whether it was already used is {@link ResumeLedger}'s to say.
 *
 * @param snapshot the session to restore; its robot is the caller
 * @param keyId the key it was signed with
 * @param issuedAt when it was signed, on the signing replica's wall clock
 * @param expiresAt when it stops resuming
 */
public record VerifiedToken(SessionSnapshot snapshot, String keyId, Instant issuedAt, Instant expiresAt) {
  public VerifiedToken {
    Objects.requireNonNull(snapshot, "snapshot");
    Objects.requireNonNull(keyId, "keyId");
    Objects.requireNonNull(issuedAt, "issuedAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }

  public String sessionId() {
    return snapshot.sessionId();
  }

  /** The connection the token was issued for; the resumed connection is the next one. */
  public long connectionEpoch() {
    return snapshot.connectionEpoch();
  }
}
