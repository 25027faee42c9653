package io.vlaserve.planner.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CommittedActionsTest {
  private static final long MS = 1_000_000;
  private static final long T = 100 * MS;

  private static double[][] steps(int count, double dx, double gripper) {
    double[][] steps = new double[count][];
    for (int i = 0; i < count; i++) {
      steps[i] = new double[] {dx, 0, 0, 0, 0, 0, gripper};
    }
    return steps;
  }

  @Test
  void aPrefixIsTheMotionInEachCellOfTheNewGridWhateverItsOffset() {
    CommittedActions committed = CommittedActions.endEffectorDelta();
    double[][] chunk = steps(8, 0.01, 1);
    for (int i = 4; i < 8; i++) {
      chunk[i][0] = 0.02;
    }
    committed.accepted(0, T, 0, chunk, 0);
    // Observed 350 ms in: the first cell spans the second half of step 3 and the first of step 4.
    double[][] prefix = committed.prefix(350 * MS, T, 3);
    assertEquals(3, prefix.length);
    assertEquals(0.015, prefix[0][0], 1e-12);
    assertEquals(0.02, prefix[1][0], 1e-12);
    assertEquals(1, prefix[0][6], 0);
  }

  @Test
  void aNewerChunkTakesOverFromItsStartAndTheLastStepRateContinuesPastTheEnd() {
    CommittedActions committed = CommittedActions.endEffectorDelta();
    committed.accepted(0, T, 0, steps(4, 0.01, 1), 0);
    // A continuation of a 2-step prefix, observed at 100 ms: it starts at 300 ms.
    committed.accepted(100 * MS, T, 2, steps(2, -0.01, 0), 300 * MS);
    double[][] prefix = committed.prefix(150 * MS, T, 5);
    assertEquals(0.01, prefix[0][0], 1e-12);
    assertEquals(0.0, prefix[1][0], 1e-12, "half the old chunk's rate, half the new one's");
    assertEquals(-0.01, prefix[2][0], 1e-12);
    assertEquals(-0.01, prefix[4][0], 1e-12, "past its two steps, at the last one's rate");
    assertEquals(1, prefix[0][6], 0, "the gripper the old chunk reaches by 250 ms");
    assertEquals(0, prefix[1][6], 0, "and the new one's by 350 ms");
  }

  @Test
  void aChunkStartedNoLaterThanAnOlderOneReplacesItEntirely() {
    CommittedActions committed = CommittedActions.endEffectorDelta();
    committed.accepted(0, T, 3, steps(2, 0.01, 1), 300 * MS);
    committed.accepted(50 * MS, T, 0, steps(6, 0.03, 1), 250 * MS);
    assertEquals(0.03, committed.prefix(400 * MS, T, 1)[0][0], 1e-12);
  }

  @Test
  void nothingIsCommittedBeforeTheFirstChunkStartsOrAfterAClear() {
    CommittedActions committed = CommittedActions.endEffectorDelta();
    assertEquals(0, committed.prefix(0, T, 3).length);
    committed.accepted(0, T, 0, steps(4, 0.01, 1), 200 * MS);
    assertEquals(0, committed.prefix(100 * MS, T, 3).length, "the robot was not yet following it");
    assertEquals(3, committed.prefix(200 * MS, T, 3).length);
    committed.clear();
    assertEquals(0, committed.prefix(200 * MS, T, 3).length);
  }

  @Test
  void thePrefixCoversTheExpectedDelayWithinTheChunk() {
    assertEquals(3, CommittedActions.prefixLength(250 * MS, T, 8));
    assertEquals(3, CommittedActions.prefixLength(300 * MS, T, 8));
    assertEquals(0, CommittedActions.prefixLength(0, T, 8), "no delay, nothing committed meanwhile");
    assertEquals(0, CommittedActions.prefixLength(50 * MS, T, 8), "the chunk's first step still runs in full");
    assertEquals(1, CommittedActions.prefixLength(51 * MS, T, 8));
    assertEquals(7, CommittedActions.prefixLength(5_000 * MS, T, 8));
    assertEquals(1, CommittedActions.prefixLength(30 * MS, 0, T, 8), "asked for a prefix at any delay");
    assertEquals(0, CommittedActions.prefixLength(30 * MS, 40 * MS, T, 8));
  }

  @Test
  void stepsAreCopiedIn() {
    CommittedActions committed = CommittedActions.endEffectorDelta();
    double[][] chunk = steps(2, 0.01, 1);
    committed.accepted(0, T, 0, chunk, 0);
    chunk[0][0] = 99;
    assertArrayEquals(new double[] {0.01, 0, 0, 0, 0, 0, 1}, committed.prefix(0, T, 1)[0], 1e-12);
  }
}
