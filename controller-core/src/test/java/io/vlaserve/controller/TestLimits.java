package io.vlaserve.controller;

import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.LimitMode;
import io.vlaserve.controller.safety.OrientationLimit;
import io.vlaserve.controller.safety.SafetyLimits;
import java.time.Duration;

/** Safety limits used across tests. */
public final class TestLimits {
  private TestLimits() {}

  /** The simulator's workspace, limits a tabletop arm could live with, clamping, 50 ms watchdog. */
  public static SafetyLimits tabletop() {
    return new SafetyLimits(new Vector3(0.25, -0.30, 0.01), new Vector3(0.75, 0.30, 0.35), LimitMode.CLAMP,
        AxisLimit.clamp(1.0), AxisLimit.clamp(10), AxisLimit.clamp(2000), AxisLimit.clamp(3.0),
        AxisLimit.clamp(10), Duration.ofMillis(50), AxisLimit.clamp(60), AxisLimit.clamp(40000), AxisLimit.clamp(400),
        OrientationLimit.ANY);
  }

  /** Limits so wide that smooth chunk motion never touches them: the gate passes references through. */
  public static SafetyLimits wide() {
    return new SafetyLimits(new Vector3(-10, -10, -10), new Vector3(10, 10, 10), LimitMode.CLAMP,
        AxisLimit.clamp(100), AxisLimit.clamp(1e4), AxisLimit.clamp(1e8), AxisLimit.clamp(1e3),
        AxisLimit.clamp(1e4), Duration.ofMillis(50), AxisLimit.clamp(1e6), AxisLimit.clamp(1e10),
        AxisLimit.clamp(1e8), OrientationLimit.ANY);
  }

  /** Returns {@code limits} with a different watchdog timeout. */
  public static SafetyLimits withWatchdog(SafetyLimits limits, Duration timeout) {
    return new SafetyLimits(limits.workspaceMin(), limits.workspaceMax(), limits.workspaceMode(),
        limits.maxLinearVelocity(), limits.maxLinearAcceleration(), limits.maxLinearJerk(),
        limits.maxAngularVelocity(), limits.maxGripperRate(), timeout, limits.maxAngularAcceleration(),
        limits.maxAngularJerk(), limits.maxGripperAcceleration(), limits.orientationWorkspace());
  }
}
