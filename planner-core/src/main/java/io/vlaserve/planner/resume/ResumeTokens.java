package io.vlaserve.planner.resume;

import io.vlaserve.planner.resume.ResumeTokenException.Reason;
import io.vlaserve.planner.session.SessionSnapshot;
import io.vlaserve.planner.session.SessionSnapshotCodec;
import io.vlaserve.planner.session.StrictUtf8;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs session snapshots into resume tokens a robot holds, and checks the tokens robots present,
 * so that any replica holding the keys can resume a session without a shared database.
 *
 * <p>A token is URL-safe base64 (no padding) of, big-endian:
 *
 * <pre>
 * u8   format version ({@value #VERSION})
 * u8   key id length, key id (ASCII, see {@link KeyRing})
 * u16  robot id length, robot id (UTF-8, at most {@value #MAX_ID_BYTES} bytes)
 * u16  session id length, session id (UTF-8, at most {@value #MAX_ID_BYTES} bytes)
 * i64  connection epoch
 * i64  issued at, Unix milliseconds (the signer's wall clock)
 * i64  expires at, Unix milliseconds
 * u32  snapshot length, snapshot ({@link SessionSnapshotCodec})
 * 32   HMAC-SHA256 under the key named, of every byte before it
 * </pre>
 *
 * The robot, session and epoch in the clear repeat the snapshot's, so a token can be judged before
 * its snapshot is decoded; a token whose two disagree is malformed. A token is not encrypted: the
 * robot may read its own task and plan.
 *
 * <p>{@link #verify} checks, in order, and refuses with the first {@link Reason} that applies:
 * malformed, unknown version, unknown key, bad signature, expired, not yet valid, other robot.
 * Replays are {@link ResumeLedger}'s to refuse.
 *
 * <p>Immutable and thread-safe. To rotate keys, make a new instance with the new {@link KeyRing}.
 */
public final class ResumeTokens {
  /** The token format written and read. */
  public static final int VERSION = 1;
  /** The longest robot or session id a token carries. */
  public static final int MAX_ID_BYTES = 256;

  private static final String ALGORITHM = "HmacSHA256";
  private static final int MAC_BYTES = 32;
  private static final int MAX_TOKEN_BYTES = 1 + 1 + 64 + 2 * (2 + MAX_ID_BYTES) + 3 * 8 + 4
      + SessionSnapshotCodec.MAX_BYTES + MAC_BYTES;
  /** Longer text cannot be a token: refused before it is decoded. */
  private static final int MAX_TOKEN_CHARS = (MAX_TOKEN_BYTES + 2) / 3 * 4;
  private static final String START_AFRESH = "; open a new session without a resume token";

  private final KeyRing keys;
  private final Clock clock;
  private final Duration lifetime;
  private final Duration allowedSkew;

  /**
   * @param keys the signing key and the keys that verify
   * @param clock wall clock; replicas' clocks must agree within {@code allowedSkew}
   * @param lifetime how long a token resumes after it is issued; > 0. It should outlast the longest
   *     subgoal plus a reconnect, since tokens are refreshed at subgoal changes
   * @param allowedSkew how far in this clock's future a token may have been issued; >= 0
   */
  public ResumeTokens(KeyRing keys, Clock clock, Duration lifetime, Duration allowedSkew) {
    this.keys = Objects.requireNonNull(keys, "keys");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.lifetime = Objects.requireNonNull(lifetime, "lifetime");
    this.allowedSkew = Objects.requireNonNull(allowedSkew, "allowedSkew");
    if (lifetime.isNegative() || lifetime.isZero()) {
      throw new IllegalArgumentException("lifetime: " + lifetime + " (expected > 0)");
    }
    if (allowedSkew.isNegative()) {
      throw new IllegalArgumentException("allowedSkew: " + allowedSkew + " (expected >= 0)");
    }
  }

  /**
   * A token for {@code snapshot}, signed with the signing key, valid from now for the lifetime.
   *
   * @throws IllegalArgumentException if the snapshot's robot or session id is longer than {@value
   *     #MAX_ID_BYTES} bytes or the snapshot does not fit its format
   */
  public String issue(SessionSnapshot snapshot) {
    byte[] robotId = snapshot.robotId().getBytes(StandardCharsets.UTF_8);
    byte[] sessionId = snapshot.sessionId().getBytes(StandardCharsets.UTF_8);
    if (robotId.length > MAX_ID_BYTES || sessionId.length > MAX_ID_BYTES) {
      throw new IllegalArgumentException("robot id of " + robotId.length + " and session id of " + sessionId.length
          + " UTF-8 bytes (expected <= " + MAX_ID_BYTES + " each)");
    }
    byte[] keyId = keys.signingKeyId().getBytes(StandardCharsets.US_ASCII);
    byte[] body = SessionSnapshotCodec.encode(snapshot);
    Instant issuedAt = clock.instant();
    ByteBuffer token = ByteBuffer.allocate(1 + 1 + keyId.length + 2 + robotId.length + 2 + sessionId.length + 3 * 8
        + 4 + body.length + MAC_BYTES);
    token.put((byte) VERSION);
    token.put((byte) keyId.length).put(keyId);
    token.putShort((short) robotId.length).put(robotId);
    token.putShort((short) sessionId.length).put(sessionId);
    token.putLong(snapshot.connectionEpoch());
    token.putLong(issuedAt.toEpochMilli());
    token.putLong(issuedAt.plus(lifetime).toEpochMilli());
    token.putInt(body.length).put(body);
    token.put(mac(keys.secret(keys.signingKeyId()), token.array(), token.position()));
    return Base64.getUrlEncoder().withoutPadding().encodeToString(token.array());
  }

  /**
   * The session {@code token} carries, if it is genuine, current and {@code callerRobotId}'s.
   *
   * @param callerRobotId the robot presenting the token, as the gateway knows it (its identity)
   * @throws ResumeTokenException with the first reason that applies, in the order the class lists
   */
  public VerifiedToken verify(String token, String callerRobotId) throws ResumeTokenException {
    Objects.requireNonNull(callerRobotId, "callerRobotId");
    if (token == null || token.isEmpty()) {
      throw new ResumeTokenException(Reason.MALFORMED, "the resume token is empty" + START_AFRESH);
    }
    if (token.length() > MAX_TOKEN_CHARS) {
      throw new ResumeTokenException(Reason.MALFORMED, "the resume token is " + token.length()
          + " characters long (expected <= " + MAX_TOKEN_CHARS + ")" + START_AFRESH);
    }
    byte[] bytes;
    try {
      bytes = Base64.getUrlDecoder().decode(token);
    } catch (IllegalArgumentException e) {
      throw new ResumeTokenException(Reason.MALFORMED, "the resume token is not URL-safe base64 (expected it exactly"
          + " as SessionAccepted.resume_token gave it)" + START_AFRESH);
    }
    if (bytes.length == 0) {
      throw new ResumeTokenException(Reason.MALFORMED, "the resume token is empty" + START_AFRESH);
    }
    int version = bytes[0] & 0xff;
    if (version != VERSION) {
      throw new ResumeTokenException(Reason.UNKNOWN_VERSION, "the resume token has format version " + version
          + " (this gateway reads " + VERSION + "; mid-rollout, a newer gateway may have issued it)" + START_AFRESH);
    }
    Fields fields = parse(bytes);

    byte[] secret = keys.secret(fields.keyId);
    if (secret == null) {
      throw new ResumeTokenException(Reason.UNKNOWN_KEY, "the resume token is signed with key '" + fields.keyId
          + "', which this gateway does not hold (keys: " + String.join(", ", keys.keyIds())
          + "): it was retired after its overlap window, or is not rolled out to every replica yet" + START_AFRESH);
    }
    byte[] expectedMac = mac(secret, bytes, fields.macOffset);
    byte[] presentedMac = Arrays.copyOfRange(bytes, fields.macOffset, bytes.length);
    if (!MessageDigest.isEqual(expectedMac, presentedMac)) {
      throw new ResumeTokenException(Reason.BAD_SIGNATURE, "the resume token's signature does not match its content:"
          + " it was altered or forged" + START_AFRESH);
    }

    Instant now = clock.instant();
    if (!now.isBefore(fields.expiresAt)) {
      throw new ResumeTokenException(Reason.EXPIRED, "the resume token expired at " + fields.expiresAt + " (now "
          + now + "); a robot gets a fresh one at every subgoal change" + START_AFRESH);
    }
    if (fields.issuedAt.isAfter(now.plus(allowedSkew))) {
      throw new ResumeTokenException(Reason.NOT_YET_VALID, "the resume token was issued at " + fields.issuedAt
          + ", later than this gateway's clock allows (now " + now + ", skew allowed " + allowedSkew.toMillis()
          + " ms): the gateway replicas' clocks disagree; check their time sync");
    }
    if (!fields.robotId.equals(callerRobotId)) {
      throw new ResumeTokenException(Reason.OTHER_ROBOT, "the resume token was issued to another robot, not '"
          + callerRobotId + "'; present the token this robot was given" + START_AFRESH);
    }

    SessionSnapshot snapshot;
    try {
      snapshot = SessionSnapshotCodec.decode(fields.snapshot);
    } catch (IllegalArgumentException e) {
      if (fields.snapshot.length > 0 && !SessionSnapshotCodec.reads(fields.snapshot[0] & 0xff)) {
        throw new ResumeTokenException(Reason.UNKNOWN_VERSION, "the resume token holds a session in format "
            + (fields.snapshot[0] & 0xff) + " (this gateway reads " + SessionSnapshotCodec.VERSION_WITHOUT_TRACE
            + ".." + SessionSnapshotCodec.VERSION + "; mid-rollout, a newer gateway may have issued it)"
            + START_AFRESH);
      }
      throw new ResumeTokenException(Reason.MALFORMED, "the resume token's session does not decode (" + e.getMessage()
          + ")" + START_AFRESH);
    }
    if (!snapshot.robotId().equals(fields.robotId) || !snapshot.sessionId().equals(fields.sessionId)
        || snapshot.connectionEpoch() != fields.connectionEpoch) {
      throw new ResumeTokenException(Reason.MALFORMED, "the resume token's header and session disagree on robot,"
          + " session or connection epoch" + START_AFRESH);
    }
    return new VerifiedToken(snapshot, fields.keyId, fields.issuedAt, fields.expiresAt);
  }

  /** A token's fields, read but not yet trusted. */
  private record Fields(String keyId, String robotId, String sessionId, long connectionEpoch, Instant issuedAt,
      Instant expiresAt, byte[] snapshot, int macOffset) {}

  private static Fields parse(byte[] bytes) throws ResumeTokenException {
    ByteBuffer in = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
    try {
      String keyId = readString(in, in.get() & 0xff, "key id");
      if (!KeyRing.isKeyId(keyId)) {
        throw malformed("its key id is not one (expected [A-Za-z0-9][A-Za-z0-9._-]{0,63})");
      }
      String robotId = readString(in, Short.toUnsignedInt(in.getShort()), "robot id");
      String sessionId = readString(in, Short.toUnsignedInt(in.getShort()), "session id");
      long connectionEpoch = in.getLong();
      Instant issuedAt = Instant.ofEpochMilli(in.getLong());
      Instant expiresAt = Instant.ofEpochMilli(in.getLong());
      int snapshotLength = in.getInt();
      if (snapshotLength < 0 || snapshotLength > SessionSnapshotCodec.MAX_BYTES) {
        throw malformed("its session is " + Integer.toUnsignedString(snapshotLength) + " bytes (expected <= "
            + SessionSnapshotCodec.MAX_BYTES + ")");
      }
      if (in.remaining() != snapshotLength + MAC_BYTES) {
        throw malformed(in.remaining() < snapshotLength + MAC_BYTES ? "it is truncated"
            : "it has bytes after its signature");
      }
      byte[] snapshot = new byte[snapshotLength];
      in.get(snapshot);
      return new Fields(keyId, robotId, sessionId, connectionEpoch, issuedAt, expiresAt, snapshot, in.position());
    } catch (BufferUnderflowException e) {
      throw malformed("it is truncated");
    }
  }

  private static String readString(ByteBuffer in, int length, String what) throws ResumeTokenException {
    if (length > MAX_ID_BYTES) {
      throw malformed("its " + what + " is " + length + " bytes (expected <= " + MAX_ID_BYTES + ")");
    }
    if (length > in.remaining()) {
      throw malformed("it is truncated");
    }
    Optional<String> text = StrictUtf8.read(in, length);
    if (text.isEmpty()) {
      throw malformed("its " + what + " is not UTF-8");
    }
    return text.get();
  }

  private static ResumeTokenException malformed(String what) {
    return new ResumeTokenException(Reason.MALFORMED, "the resume token is malformed: " + what + START_AFRESH);
  }

  private static byte[] mac(byte[] secret, byte[] bytes, int length) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(new SecretKeySpec(secret, ALGORITHM));
      mac.update(bytes, 0, length);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      // Every JDK ships HmacSHA256, and any key of >= 32 bytes is valid for it.
      throw new IllegalStateException(ALGORITHM + " is not available", e);
    }
  }
}
