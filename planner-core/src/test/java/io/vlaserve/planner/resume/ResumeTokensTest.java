package io.vlaserve.planner.resume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vlaserve.planner.PlannedSubgoal;
import io.vlaserve.planner.resume.ResumeTokenException.Reason;
import io.vlaserve.planner.session.SessionMachine.Phase;
import io.vlaserve.planner.session.SessionSnapshot;
import io.vlaserve.planner.session.SessionSnapshotCodec;
import io.vlaserve.planner.session.SessionSubgoal;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Tokens issued and checked on wall clocks the test moves; every refusal has its reason and says what to do. */
class ResumeTokensTest {
  private static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");
  private static final Duration LIFETIME = Duration.ofMinutes(10);
  private static final Duration SKEW = Duration.ofSeconds(5);
  private static final byte[] OLD_SECRET = secret(1);
  private static final byte[] NEW_SECRET = secret(2);
  private static final PlannedSubgoal MOVE = new PlannedSubgoal("move to the red block", 10);

  private final MutableClock clock = new MutableClock(T0);

  private static byte[] secret(int seed) {
    byte[] secret = new byte[32];
    new Random(seed).nextBytes(secret);
    return secret;
  }

  private static SessionSnapshot snapshot(String robotId, long epoch) {
    return new SessionSnapshot("sess-7f3a", robotId, epoch, Phase.RUNNING, "pick up the red block", "",
        List.of(MOVE.instruction()), Duration.ofMillis(100), 0,
        List.of(new SessionSubgoal("1", MOVE, Duration.ofMillis(1500))), 0, List.of(), 0, 1, 1, 1, false, Double.NaN,
        Duration.ofMillis(900), Duration.ofSeconds(3), "", "");
  }

  private ResumeTokens tokens(KeyRing keys) {
    return new ResumeTokens(keys, clock, LIFETIME, SKEW);
  }

  private ResumeTokens signingWithOld() {
    return tokens(new KeyRing("2025-01", Map.of("2025-01", OLD_SECRET)));
  }

  private static Reason refused(ResumeTokens tokens, String token, String robot, String message) {
    ResumeTokenException e = assertThrows(ResumeTokenException.class, () -> tokens.verify(token, robot));
    if (message != null) {
      assertEquals(message, e.getMessage());
    }
    assertTrue(!e.getMessage().contains(Base64.getEncoder().encodeToString(OLD_SECRET)));
    return e.reason();
  }

  private static String edit(String token, java.util.function.Consumer<byte[]> change) {
    byte[] bytes = Base64.getUrlDecoder().decode(token);
    change.accept(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  @Nested
  class Genuine {
    @Test
    void aTokenGivesBackItsSessionWithItsKeyAndTimes() throws Exception {
      ResumeTokens tokens = signingWithOld();
      String token = tokens.issue(snapshot("arm-1", 2));
      clock.advance(Duration.ofMinutes(9));

      VerifiedToken verified = tokens.verify(token, "arm-1");

      assertEquals(snapshot("arm-1", 2), verified.snapshot());
      assertEquals("2025-01", verified.keyId());
      assertEquals(T0, verified.issuedAt());
      assertEquals(T0.plus(LIFETIME), verified.expiresAt());
      assertEquals("sess-7f3a", verified.sessionId());
      assertEquals(2, verified.connectionEpoch());
    }

    @Test
    void aTokenIsUrlSafeBase64WithoutPaddingAndStartsWithItsVersion() {
      String token = signingWithOld().issue(snapshot("arm-1", 0));
      assertTrue(token.matches("[A-Za-z0-9_-]+"), token);
      assertEquals(ResumeTokens.VERSION, Base64.getUrlDecoder().decode(token)[0]);
    }

    @Test
    void aTokenIssuedByAReplicaWhoseClockIsSlightlyAheadIsAccepted() throws Exception {
      String token = signingWithOld().issue(snapshot("arm-1", 0));
      clock.advance(SKEW.negated());
      assertEquals("arm-1", signingWithOld().verify(token, "arm-1").snapshot().robotId());
    }
  }

  @Nested
  class Refused {
    @Test
    void garbageIsMalformed() {
      ResumeTokens tokens = signingWithOld();
      assertEquals(Reason.MALFORMED, refused(tokens, "", "arm-1",
          "the resume token is empty; open a new session without a resume token"));
      assertEquals(Reason.MALFORMED, refused(tokens, "not*base64", "arm-1",
          "the resume token is not URL-safe base64 (expected it exactly as SessionAccepted.resume_token gave it);"
              + " open a new session without a resume token"));
      assertEquals(Reason.MALFORMED, refused(tokens, "A".repeat(400_000), "arm-1", null));
    }

    @Test
    void aTruncatedTokenIsMalformedAtEveryLength() {
      ResumeTokens tokens = signingWithOld();
      byte[] bytes = Base64.getUrlDecoder().decode(tokens.issue(snapshot("arm-1", 0)));
      for (int length = 1; length < bytes.length; length++) {
        String truncated = Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(bytes, length));
        assertEquals(Reason.MALFORMED, refused(tokens, truncated, "arm-1", null), "truncated to " + length);
      }
      String oneShort = Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(bytes, bytes.length - 1));
      refused(tokens, oneShort, "arm-1",
          "the resume token is malformed: it is truncated; open a new session without a resume token");
    }

    @Test
    void anUnknownVersionSaysWhichAndWhatThisGatewayReads() {
      ResumeTokens tokens = signingWithOld();
      String token = edit(tokens.issue(snapshot("arm-1", 0)), bytes -> bytes[0] = 9);
      assertEquals(Reason.UNKNOWN_VERSION, refused(tokens, token, "arm-1", "the resume token has format version 9"
          + " (this gateway reads 1; mid-rollout, a newer gateway may have issued it); open a new session without a"
          + " resume token"));
    }

    @Test
    void aForgedSignatureIsRefused() {
      ResumeTokens tokens = signingWithOld();
      String token = edit(tokens.issue(snapshot("arm-1", 0)), bytes -> bytes[bytes.length - 1] ^= 1);
      assertEquals(Reason.BAD_SIGNATURE, refused(tokens, token, "arm-1", "the resume token's signature does not match"
          + " its content: it was altered or forged; open a new session without a resume token"));
    }

    @Test
    void aTokenSignedWithAnotherSecretUnderTheSameKeyIdIsForged() {
      String forged = tokens(new KeyRing("2025-01", Map.of("2025-01", secret(99)))).issue(snapshot("arm-1", 0));
      assertEquals(Reason.BAD_SIGNATURE, refused(signingWithOld(), forged, "arm-1", null));
    }

    @Test
    void changingAnyByteBeforeTheSignatureIsCaught() {
      ResumeTokens tokens = signingWithOld();
      byte[] bytes = Base64.getUrlDecoder().decode(tokens.issue(snapshot("arm-1", 0)));
      for (int i = 1; i < bytes.length - 32; i++) {
        final int at = i;
        String tampered = edit(Base64.getUrlEncoder().withoutPadding().encodeToString(bytes), b -> b[at] ^= 0x10);
        Reason reason = refused(tokens, tampered, "arm-1", null);
        // A changed length or key id is caught before the signature is even checked.
        assertTrue(reason == Reason.BAD_SIGNATURE || reason == Reason.MALFORMED || reason == Reason.UNKNOWN_KEY,
            "byte " + at + ": " + reason);
      }
    }

    @Test
    void aTokenOfAnUnknownKeyIdSaysWhichKeysThisGatewayHolds() {
      String token = tokens(new KeyRing("2099-01", Map.of("2099-01", NEW_SECRET))).issue(snapshot("arm-1", 0));
      assertEquals(Reason.UNKNOWN_KEY, refused(signingWithOld(), token, "arm-1", "the resume token is signed with"
          + " key '2099-01', which this gateway does not hold (keys: 2025-01): it was retired after its overlap"
          + " window, or is not rolled out to every replica yet; open a new session without a resume token"));
    }

    @Test
    void anExpiredTokenSaysWhen() {
      ResumeTokens tokens = signingWithOld();
      String token = tokens.issue(snapshot("arm-1", 0));
      clock.advance(LIFETIME);
      assertEquals(Reason.EXPIRED, refused(tokens, token, "arm-1", "the resume token expired at"
          + " 2025-03-01T12:10:00Z (now 2025-03-01T12:10:00Z); a robot gets a fresh one at every subgoal change;"
          + " open a new session without a resume token"));
    }

    @Test
    void aTokenFromTheFutureBeyondTheSkewPointsAtTheClocks() {
      String token = signingWithOld().issue(snapshot("arm-1", 0));
      clock.advance(SKEW.negated().minusMillis(1));
      assertEquals(Reason.NOT_YET_VALID, refused(signingWithOld(), token, "arm-1", "the resume token was issued at"
          + " 2025-03-01T12:00:00Z, later than this gateway's clock allows (now 2025-03-01T11:59:54.999Z, skew"
          + " allowed 5000 ms): the gateway replicas' clocks disagree; check their time sync"));
    }

    @Test
    void anotherRobotsTokenIsRefusedWithoutNamingThatRobot() {
      ResumeTokens tokens = signingWithOld();
      String token = tokens.issue(snapshot("arm-1", 0));
      assertEquals(Reason.OTHER_ROBOT, refused(tokens, token, "arm-2", "the resume token was issued to another robot,"
          + " not 'arm-2'; present the token this robot was given; open a new session without a resume token"));
    }

    @Test
    void theChecksGoInOrderExpiryBeforeRobot() {
      ResumeTokens tokens = signingWithOld();
      String token = tokens.issue(snapshot("arm-1", 0));
      clock.advance(LIFETIME.plusMinutes(1));
      assertEquals(Reason.EXPIRED, refused(tokens, token, "arm-2", null));
      String forgedAndExpired = edit(token, bytes -> bytes[bytes.length - 1] ^= 1);
      assertEquals(Reason.BAD_SIGNATURE, refused(tokens, forgedAndExpired, "arm-2", null));
    }

    @Test
    void aSignedSessionInAnUnknownFormatIsAnUnknownVersion() {
      byte[] body = SessionSnapshotCodec.encode(snapshot("arm-1", 0));
      body[0] = 7;
      String token = signedByHand(body, "arm-1", "sess-7f3a", 0);
      assertEquals(Reason.UNKNOWN_VERSION, refused(signingWithOld(), token, "arm-1", "the resume token holds a session"
          + " in format 7 (this gateway reads 1..3; mid-rollout, a newer gateway may have issued it); open a new session"
          + " without a resume token"));
    }

    @Test
    void aSignedHeaderThatDisagreesWithItsSessionIsMalformed() {
      String token = signedByHand(SessionSnapshotCodec.encode(snapshot("arm-1", 0)), "arm-1", "sess-7f3a", 5);
      assertEquals(Reason.MALFORMED, refused(signingWithOld(), token, "arm-1", null));
    }

    @Test
    void randomTextNeverThrowsAnythingButARefusal() {
      ResumeTokens tokens = signingWithOld();
      Random random = new Random(11);
      for (int run = 0; run < 5_000; run++) {
        byte[] bytes = new byte[random.nextInt(200)];
        random.nextBytes(bytes);
        if (bytes.length > 0) {
          bytes[0] = 1;
        }
        String token = Base64.getUrlEncoder().encodeToString(bytes);
        try {
          tokens.verify(token, "arm-1");
          fail("random bytes verified: " + token);
        } catch (ResumeTokenException expected) {
          assertTrue(expected.reason() == Reason.MALFORMED || expected.reason() == Reason.UNKNOWN_KEY,
              expected.getMessage());
        }
      }
    }

    /** A token laid out as the format says and signed with the old key, with whatever content. */
    private String signedByHand(byte[] body, String robotId, String sessionId, long epoch) {
      byte[] keyId = "2025-01".getBytes();
      ByteBuffer token = ByteBuffer.allocate(1 + 1 + keyId.length + 2 + robotId.length() + 2 + sessionId.length() + 24
          + 4 + body.length + 32);
      token.put((byte) 1).put((byte) keyId.length).put(keyId);
      token.putShort((short) robotId.length()).put(robotId.getBytes());
      token.putShort((short) sessionId.length()).put(sessionId.getBytes());
      token.putLong(epoch).putLong(T0.toEpochMilli()).putLong(T0.plus(LIFETIME).toEpochMilli());
      token.putInt(body.length).put(body);
      try {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(OLD_SECRET, "HmacSHA256"));
        mac.update(token.array(), 0, token.position());
        token.put(mac.doFinal());
      } catch (java.security.GeneralSecurityException e) {
        throw new AssertionError(e);
      }
      return Base64.getUrlEncoder().withoutPadding().encodeToString(token.array());
    }
  }

  @Nested
  class Rotation {
    private final KeyRing overlap = new KeyRing("2025-02", Map.of("2025-01", OLD_SECRET, "2025-02", NEW_SECRET));
    private final KeyRing afterOverlap = new KeyRing("2025-02", Map.of("2025-02", NEW_SECRET));

    @Test
    void duringTheOverlapNewTokensAreSignedWithTheNewKeyAndOldTokensStillVerify() throws Exception {
      String old = signingWithOld().issue(snapshot("arm-1", 0));
      ResumeTokens rotated = tokens(overlap);

      assertEquals("2025-01", rotated.verify(old, "arm-1").keyId());
      String fresh = rotated.issue(snapshot("arm-1", 1));
      assertEquals("2025-02", rotated.verify(fresh, "arm-1").keyId());
    }

    @Test
    void aReplicaNotYetHoldingTheNewKeyRefusesItsTokensAsUnknownKey() {
      String fresh = tokens(overlap).issue(snapshot("arm-1", 1));
      assertEquals(Reason.UNKNOWN_KEY, refused(signingWithOld(), fresh, "arm-1", null));
    }

    @Test
    void afterTheOverlapTheOldKeysTokensAreAnUnknownKey() throws Exception {
      String old = signingWithOld().issue(snapshot("arm-1", 0));
      String fresh = tokens(overlap).issue(snapshot("arm-1", 1));
      ResumeTokens retired = tokens(afterOverlap);

      assertEquals(Reason.UNKNOWN_KEY, refused(retired, old, "arm-1", null));
      assertEquals(1, retired.verify(fresh, "arm-1").connectionEpoch());
    }
  }

  @Test
  void settingsAreChecked() {
    KeyRing keys = new KeyRing("k", Map.of("k", OLD_SECRET));
    assertEquals("lifetime: PT0S (expected > 0)", assertThrows(IllegalArgumentException.class,
        () -> new ResumeTokens(keys, clock, Duration.ZERO, SKEW)).getMessage());
    assertEquals("allowedSkew: PT-1S (expected >= 0)", assertThrows(IllegalArgumentException.class,
        () -> new ResumeTokens(keys, clock, LIFETIME, Duration.ofSeconds(-1))).getMessage());
  }
}
