package io.vlaserve.controller.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.CartesianPose;
import io.vlaserve.controller.TestLimits;
import io.vlaserve.controller.safety.SafetyEventLog;
import io.vlaserve.controller.safety.SafetyGate;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import org.junit.jupiter.api.Test;

class SimulatedRobotDriverTest {

  @Test
  void movesTheSimulatedArmToEachGatedSetpoint() {
    TabletopWorld world = new TabletopWorld(1, new WorldConfig(2, false));
    SimulatedRobotDriver driver = new SimulatedRobotDriver(world, 100);
    MeasuredState state = new MeasuredState();
    assertTrue(driver.readState(state));
    assertEquals(100, state.timeNanos);
    CartesianPose start = new CartesianPose().set(state.position[0], state.position[1], state.position[2],
        state.orientation[0], state.orientation[1], state.orientation[2], state.orientation[3], state.gripper);
    SafetyGate gate = new SafetyGate(1e-3, TestLimits.tabletop(), new SafetyEventLog("sim-0", 16));
    gate.reset(start);
    CartesianPose target = new CartesianPose().set(start);
    target.position[0] += 1e-7;
    gate.filter(target, 1_000_100, 1, 0);
    driver.send(gate.output());
    driver.readState(state);
    assertEquals(start.position[0] + 1e-7, state.position[0], 1e-15);
    assertEquals(1_000_100, state.timeNanos);
    assertEquals(1, driver.commands());
    driver.hold("test");
    assertTrue(driver.holding());
    assertTrue(driver.linkAlive(Long.MAX_VALUE));
  }
}
