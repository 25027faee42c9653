/**
 * The controller bridge as a plain Java library: coarse action chunks in, a smooth and safe
 * 500-1000 Hz setpoint stream to a robot out. No gRPC, no Spring; the {@code controller-bridge}
 * service is a thin adapter over it.
 *
 * <p>How a tick flows, and where each concept lives:
 *
 * <ol>
 *   <li>{@link io.vlaserve.controller.loop.ControlLoop} wakes on its deadline (park, then spin) and
 *       ticks each {@link io.vlaserve.controller.RobotController} with the slot's nominal time.
 *   <li>The controller activates a chunk that has become due: its deltas are integrated from the
 *       commanded pose into an absolute trajectory ({@link io.vlaserve.controller.trajectory}).
 *   <li>The {@link io.vlaserve.controller.trajectory.TrajectoryBlender} evaluates the weighted
 *       blend of the executing trajectories at that time: the reference pose.
 *   <li>The {@link io.vlaserve.controller.safety.SafetyGate} turns the reference into a
 *       {@link io.vlaserve.controller.safety.SafeSetpoint}, clamping or halting per limit. Only the
 *       gate can create a {@code SafeSetpoint}, and a {@link io.vlaserve.controller.driver.RobotDriver}
 *       accepts nothing else: no path to the robot bypasses the gate.
 * </ol>
 *
 * <p>Time is {@code long} nanoseconds on one monotonic clock (the loop's
 * {@link io.vlaserve.controller.loop.LoopClock}); adapters convert wall-clock timestamps at the edge.
 * Units everywhere: metres, radians, seconds, gripper opening 0..1.
 */
package io.vlaserve.controller;
