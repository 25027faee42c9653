package io.vlaserve.controller;

import io.vlaserve.controller.safety.SafeSetpoint;

/**
 * Observes every tick of a {@link RobotController}: for diagnostics, tests and benchmarks (e.g.
 * jerk at seams before and after the gate). Called on the control-loop thread with the
 * controller's own buffers, valid only during the call; must not block or allocate.
 */
@FunctionalInterface
public interface TickListener {

  /** Does nothing. */
  TickListener NONE = (slotNanos, reference, followed, setpoint, sent, mode) -> { };

  /**
   * Called at the end of a tick.
   *
   * @param slotNanos the tick's nominal time
   * @param reference the blended reference pose
   * @param followed whether the gate filtered {@code reference} this tick (false while braking or
   *     holding on its own, when the reference is stale)
   * @param setpoint the gate's output
   * @param sent whether {@code setpoint} was sent to the robot this tick
   * @param mode the mode after the tick
   */
  void onTick(long slotNanos, CartesianPose reference, boolean followed, SafeSetpoint setpoint, boolean sent,
      ExecutionMode mode);
}
