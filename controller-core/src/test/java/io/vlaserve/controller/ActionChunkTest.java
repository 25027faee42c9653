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
}
