package io.vlaserve.controller.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The bridge's warm-up drives a scratch controller through chunks and ticks, never halting it. */
class ControllerWarmUpTest {
  @Test
  void eachRoundIsASecondOfTicksFollowingTenChunks() {
    ControllerWarmUp warmUp = new ControllerWarmUp(RobotFleetTest.properties(0, 1, List.of()));
    warmUp.runOnce();
    warmUp.runOnce();
    assertEquals(2_000, warmUp.ticks());
    // Every tick sends a gated setpoint: the scratch controller never halts (a halt would start a new one).
    assertEquals(2_000, warmUp.setpoints());
  }
}
