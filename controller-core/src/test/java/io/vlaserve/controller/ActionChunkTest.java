package io.vlaserve.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class ActionChunkTest {
  private static final double[] STEP = {0.01, 0, 0, 0, 0, 0, 1};

  @Test
  void nonFiniteValuesNameStepDimensionAndValue() {
    InvalidChunkException e = assertThrows(InvalidChunkException.class, () -> ActionChunk.of(1, 0, 100_000_000,
        List.of(STEP, new double[] {0, 0, 0, 0, Double.NaN, 0, 1}), 64));
    assertEquals("steps[1][4] (dpitch): NaN (expected: a finite number)", e.getMessage());
  }

  @Test
  void wrongDimensionsEmptyChunksAndBadPeriodsAreRefused() {
    assertEquals("steps[0]: 6 values (expected: 7, [dx, dy, dz, droll, dpitch, dyaw, gripper])",
        assertThrows(InvalidChunkException.class,
            () -> ActionChunk.of(1, 0, 100_000_000, List.of(new double[6]), 64)).getMessage());
    assertEquals("steps: none (expected: at least one action)", assertThrows(InvalidChunkException.class,
        () -> ActionChunk.of(1, 0, 100_000_000, List.of(), 64)).getMessage());
    assertEquals("steps: 3 (expected: at most 2 per chunk)", assertThrows(InvalidChunkException.class,
        () -> ActionChunk.of(1, 0, 100_000_000, List.of(STEP, STEP, STEP), 2)).getMessage());
    assertThrows(InvalidChunkException.class, () -> ActionChunk.of(1, 0, 0, List.of(STEP), 64));
  }

  @Test
  void stepTimesFollowTheObservation() {
    ActionChunk chunk = ActionChunk.of(9, 1_000, 100, List.of(STEP, STEP), 64);
    assertEquals(1_100, chunk.stepTimeNanos(1));
    assertEquals(0.01, chunk.value(1, 0), 0);
  }

  @Test
  void aContinuationIsTimedFromWhereItsPrefixEnds() {
    ActionChunk chunk = ActionChunk.of(9, 1_000, 100, 3, List.of(STEP, STEP), 64);
    assertEquals(3, chunk.firstStep());
    assertEquals(1_300, chunk.stepTimeNanos(0));
    assertEquals(1_400, chunk.stepTimeNanos(1));
    assertEquals(500, chunk.horizonNanos(), "from the observation to the last step's end, prefix included");
    assertEquals(false, ActionChunk.of(9, 1_000, 100, List.of(STEP), 64).continuesPrefix());
  }

  @Test
  void aPrefixCountsTowardsTheChunkLength() {
    assertEquals("steps: 2 after a committed prefix of 3 (expected: at most 4 per chunk, prefix included)",
        assertThrows(InvalidChunkException.class, () -> ActionChunk.of(1, 0, 100, 3, List.of(STEP, STEP), 4))
            .getMessage());
    assertEquals("first_step: -1 (expected: 0, or the committed prefix's length, below the 4 steps a chunk may have)",
        assertThrows(InvalidChunkException.class, () -> ActionChunk.of(1, 0, 100, -1, List.of(STEP), 4))
            .getMessage());
    assertThrows(InvalidChunkException.class, () -> ActionChunk.of(1, 0, 100, 4, List.of(STEP), 4));
  }
}
