package io.vlaserve.planner.resume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vlaserve.planner.PlannedSubgoal;
import io.vlaserve.planner.PlannedTask;
import io.vlaserve.planner.resume.ResumeTokenException.Reason;
import io.vlaserve.planner.session.SessionEffect.OpenExecution;
import io.vlaserve.planner.session.SessionEffect.OpenPolicy;
import io.vlaserve.planner.session.SessionMachine;
import io.vlaserve.planner.session.SessionSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A session carried from one replica to another in its robot's token, as the gateway will wire it. */
class ResumeAcrossReplicasTest {
  private static final SessionSettings SETTINGS = new SessionSettings(2, 1.5, Duration.ofSeconds(5));
  private static final PlannedSubgoal MOVE = new PlannedSubgoal("move to the red block", 10);
  private static final PlannedSubgoal GRASP = new PlannedSubgoal("grasp the red block", 20);

  @Test
  void aRobotsTokenResumesItsSubgoalAtAnotherReplicaOnceAndTheNextTokenIsForTheNextConnection() throws Exception {
    KeyRing keys = new KeyRing("k1", Map.of("k1", new byte[32]));
    MutableClock wall = new MutableClock(Instant.parse("2025-03-01T12:00:00Z"));
    long[] monotonicA = {5_000_000_000L};
    long[] monotonicB = {-77_000_000_000L};
    ResumeTokens tokensA = new ResumeTokens(keys, wall, Duration.ofMinutes(10), Duration.ofSeconds(5));
    ResumeTokens tokensB = new ResumeTokens(keys, wall, Duration.ofMinutes(10), Duration.ofSeconds(5));
    ResumeLedger ledgerB = new ResumeLedger(100, wall);

    SessionMachine atA = new SessionMachine(SETTINGS, () -> monotonicA[0]);
    atA.admitted("arm-1", "pick up the red block", "");
    atA.started(new PlannedTask(List.of(MOVE, GRASP), "scripted", ""), List.of(), Duration.ofMillis(100),
        SessionMachine.BridgeHold.NONE);
    atA.signalled("1", true, "");
    String token = tokensA.issue(atA.snapshot("sess-1", 0, "").orElseThrow());
    monotonicA[0] += 1_000_000_000L;
    wall.advance(Duration.ofSeconds(30));

    VerifiedToken verified = tokensB.verify(token, "arm-1");
    ledgerB.claim(verified);
    SessionMachine.Restored restored = SessionMachine.restore(verified.snapshot(), SETTINGS, () -> monotonicB[0]);

    assertEquals(List.of(new OpenExecution(), new OpenPolicy(GRASP.instruction())), restored.effects());
    assertEquals("2", restored.machine().subgoal().id());
    assertEquals(Reason.REPLAYED, assertThrows(ResumeTokenException.class,
        () -> ledgerB.claim(tokensB.verify(token, "arm-1"))).reason());
    String next = tokensB.issue(restored.machine().snapshot("sess-1", verified.connectionEpoch() + 1, "").orElseThrow());
    ledgerB.claim(tokensB.verify(next, "arm-1"));
  }
}
