package io.vlaserve.robot.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.CartesianPose;
import io.vlaserve.controller.Vector3;
import io.vlaserve.controller.driver.MeasuredState;
import io.vlaserve.controller.driver.RobotDriverProvider;
import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.LimitMode;
import io.vlaserve.controller.safety.OrientationLimit;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.safety.SafetyEventLog;
import io.vlaserve.controller.safety.SafetyGate;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import org.junit.jupiter.api.Test;

class SimulatedRobotDriverTest {
  private static final SafetyLimits TABLETOP = new SafetyLimits(new Vector3(0.25, -0.30, 0.01),
      new Vector3(0.75, 0.30, 0.35), LimitMode.CLAMP, AxisLimit.clamp(1.0), AxisLimit.clamp(10), AxisLimit.clamp(2000),
      AxisLimit.clamp(3.0), AxisLimit.clamp(10), java.time.Duration.ofMillis(50), AxisLimit.clamp(60),
      AxisLimit.clamp(40000), AxisLimit.clamp(400), OrientationLimit.ANY);

  @Test
  void theBridgeFindsItAsTheSimulatedKind() {
    var driver = RobotDriverProvider.of("simulated").create("sim-3", 3, 42);
    assertTrue(driver instanceof SimulatedRobotDriver);
    MeasuredState state = new MeasuredState();
    assertTrue(driver.readState(state));
    assertEquals(42, state.timeNanos);
    assertEquals(0.5, state.position[0], 1e-12, "the centre start pose");
  }


  @Test
  void movesTheSimulatedArmToEachGatedSetpoint() {
    TabletopWorld world = new TabletopWorld(1, new WorldConfig(2, false));
    SimulatedRobotDriver driver = new SimulatedRobotDriver(world, 100);
    MeasuredState state = new MeasuredState();
    assertTrue(driver.readState(state));
    assertEquals(100, state.timeNanos);
    CartesianPose start = new CartesianPose().set(state.position[0], state.position[1], state.position[2],
        state.orientation[0], state.orientation[1], state.orientation[2], state.orientation[3], state.gripper);
    SafetyGate gate = new SafetyGate(1e-3, TABLETOP, new SafetyEventLog("sim-0", 16));
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
