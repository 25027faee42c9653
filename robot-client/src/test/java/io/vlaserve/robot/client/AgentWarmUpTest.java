package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The agent's warm-up plays every made-up setpoint: none is refused by the check, none left waiting. */
class AgentWarmUpTest {
  @Test
  void twoSecondsOfSetpointsAreCheckedAndPlayed() {
    assertEquals(2_000, RobotAgent.warmUp(2));
  }

  @Test
  void aNegativeDurationIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> RobotAgent.warmUp(-1));
  }
}
