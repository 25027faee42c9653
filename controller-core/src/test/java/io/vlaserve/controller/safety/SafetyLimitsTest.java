package io.vlaserve.controller.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vlaserve.controller.TestLimits;
import io.vlaserve.controller.Vector3;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SafetyLimitsTest {
  private final SafetyLimits valid = TestLimits.tabletop();

  private static InvalidSafetyLimitsException invalid(Runnable build) {
    return assertThrows(InvalidSafetyLimitsException.class, build::run);
  }

  @Test
  void anEmptyWorkspaceBoxNamesTheAxis() {
    InvalidSafetyLimitsException e = invalid(() -> new SafetyLimits(new Vector3(0.25, 0.4, 0.01),
        new Vector3(0.75, 0.3, 0.35), LimitMode.CLAMP, valid.maxLinearVelocity(), valid.maxLinearAcceleration(),
        valid.maxLinearJerk(), valid.maxAngularVelocity(), valid.maxGripperRate(), valid.watchdogTimeout(), valid.maxAngularAcceleration(), valid.maxAngularJerk(), valid.maxGripperAcceleration(), valid.orientationWorkspace()));
    assertEquals("workspace_min.y", e.field());
    assertEquals("workspace_min.y: 0.4 (expected: < workspace_max.y = 0.3, a non-empty box)", e.getMessage());
  }

  @Test
  void nonFiniteOrNonPositiveRatesAreRefused() {
    InvalidSafetyLimitsException nan = invalid(() -> new SafetyLimits(valid.workspaceMin(), valid.workspaceMax(),
        LimitMode.CLAMP, AxisLimit.clamp(Double.NaN), valid.maxLinearAcceleration(), valid.maxLinearJerk(),
        valid.maxAngularVelocity(), valid.maxGripperRate(), valid.watchdogTimeout(), valid.maxAngularAcceleration(), valid.maxAngularJerk(), valid.maxGripperAcceleration(), valid.orientationWorkspace()));
    assertEquals("max_linear_velocity.max: NaN (expected: a finite number > 0, m/s)", nan.getMessage());
    InvalidSafetyLimitsException zero = invalid(() -> new SafetyLimits(valid.workspaceMin(), valid.workspaceMax(),
        LimitMode.CLAMP, valid.maxLinearVelocity(), valid.maxLinearAcceleration(), AxisLimit.halt(0),
        valid.maxAngularVelocity(), valid.maxGripperRate(), valid.watchdogTimeout(), valid.maxAngularAcceleration(), valid.maxAngularJerk(), valid.maxGripperAcceleration(), valid.orientationWorkspace()));
    assertEquals("max_linear_jerk.max", zero.field());
  }

  @Test
  void aMissingModeOrWatchdogIsRefused() {
    assertEquals("max_gripper_rate.mode", invalid(() -> new SafetyLimits(valid.workspaceMin(), valid.workspaceMax(),
        LimitMode.CLAMP, valid.maxLinearVelocity(), valid.maxLinearAcceleration(), valid.maxLinearJerk(),
        valid.maxAngularVelocity(), new AxisLimit(1, null), valid.watchdogTimeout(), valid.maxAngularAcceleration(), valid.maxAngularJerk(), valid.maxGripperAcceleration(), valid.orientationWorkspace())).field());
    assertEquals("watchdog_timeout", invalid(() -> TestLimits.withWatchdog(valid, Duration.ZERO)).field());
    assertEquals("workspace_mode", invalid(() -> new SafetyLimits(valid.workspaceMin(), valid.workspaceMax(),
        null, valid.maxLinearVelocity(), valid.maxLinearAcceleration(), valid.maxLinearJerk(),
        valid.maxAngularVelocity(), valid.maxGripperRate(), valid.watchdogTimeout(), valid.maxAngularAcceleration(), valid.maxAngularJerk(), valid.maxGripperAcceleration(), valid.orientationWorkspace())).field());
  }

  @Test
  void modesAreLookedUpPerKind() {
    SafetyLimits halting = valid.withAllModes(LimitMode.HALT);
    assertEquals(LimitMode.HALT, halting.modeOf(SafetyEventKind.JERK));
    assertEquals(LimitMode.CLAMP, valid.modeOf(SafetyEventKind.ROTATION_RATE));
    assertEquals(LimitMode.HALT, valid.modeOf(SafetyEventKind.NON_FINITE), "non-finite always halts");
  }
}
