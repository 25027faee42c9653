package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class GatewayRehearsalTest {
  private static GatewayProperties properties() {
    return properties(io.vlaserve.planner.v1.ChunkContinuation.CHUNK_CONTINUATION_BLEND);
  }

  private static GatewayProperties properties(io.vlaserve.planner.v1.ChunkContinuation continuation) {
    return new GatewayProperties("dns:///localhost:1", "dns:///localhost:2", List.of(),
        new GatewayProperties.Planner("embedded", null), Duration.ofMillis(500), 3, 1.5, Duration.ofSeconds(5),
        Duration.ofSeconds(15), Duration.ofSeconds(5), Duration.ofMillis(100), Duration.ofSeconds(5),
        new GatewayProperties.Quota(30, 60, 10, 8, Duration.ofSeconds(5), 32, Duration.ofSeconds(5)),
        new GatewayProperties.Resume(null, Duration.ofSeconds(10), Duration.ofMinutes(10), Duration.ofSeconds(5), 1000),
        continuation, null);
  }

  @Test
  void eachRoundRunsASessionToSuccessThroughADroppedConnectionAndItsResume() {
    GatewayRehearsal rehearsal = new GatewayRehearsal(properties());
    try {
      // Each round throws unless the session was accepted, planned, stepped through every subgoal,
      // resumed with its token after the connection dropped, and ended SUCCEEDED.
      for (int round = 0; round < 3; round++) {
        rehearsal.runOnce();
      }
      assertEquals(3, rehearsal.sessionsRehearsed());
    } finally {
      rehearsal.finished();
    }
    assertEquals(0, rehearsal.sessionsRehearsed(), "finished() frees the stand-ins and the second gateway");
  }

  @Test
  void aReplicaThatSendsCommittedPrefixesRehearsesItsOwnKindOfSession() {
    GatewayRehearsal rehearsal = new GatewayRehearsal(properties(
        io.vlaserve.planner.v1.ChunkContinuation.CHUNK_CONTINUATION_PREFIX));
    try {
      rehearsal.runOnce();
      assertEquals(1, rehearsal.sessionsRehearsed());
    } finally {
      rehearsal.finished();
    }
  }
}
