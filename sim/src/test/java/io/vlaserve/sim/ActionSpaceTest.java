package io.vlaserve.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ActionSpaceTest {

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6})
  void nanIsRejectedWithIndexAndValue(int index) {
    double[] action = new double[7];
    action[index] = Double.NaN;
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ActionSpace.checkFinite(action));
    assertTrue(e.getMessage().contains("action[" + index + "]"), e.getMessage());
    assertTrue(e.getMessage().contains("NaN"), e.getMessage());
    assertTrue(e.getMessage().contains(ActionSpace.DIMENSION_NAMES.get(index)), e.getMessage());
  }

  @Test
  void infinityIsRejectedWithIndexAndValue() {
    double[] action = {0, 0, 0, 0, Double.NEGATIVE_INFINITY, 0, 1};
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ActionSpace.checkFinite(action));
    assertEquals("action[4] (dpitch) = -Infinity (expected a finite number)", e.getMessage());
  }

  @Test
  void wrongLengthIsRejected() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ActionSpace.checkFinite(new double[6]));
    assertTrue(e.getMessage().startsWith("action length 6 (expected 7"), e.getMessage());
  }

  @Test
  void clampInPlaceBoundsEveryDimensionAndReportsIt() {
    double[] action = {1, -1, 0.01, 3, -3, 0.1, 7};
    assertTrue(ActionSpace.clampInPlace(action));
    assertArrayEquals(new double[] {0.05, -0.05, 0.01, 0.4, -0.4, 0.1, 1}, action);
    double[] inside = {0.05, -0.05, 0, 0.4, -0.4, 0, 0};
    assertFalse(ActionSpace.clampInPlace(inside));
  }
}
