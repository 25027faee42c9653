/**
 * Robots as the loop sees them ({@link io.vlaserve.controller.driver.RobotDriver}): measured state in,
 * gated setpoints out, each state checked before use ({@link io.vlaserve.controller.driver.MeasuredStateCheck}).
 * Drivers live next to what they drive: the simulated one beside the simulator (vla-sim-robot, found
 * through {@link io.vlaserve.controller.driver.RobotDriverProvider}), the remote one in the
 * controller-bridge service, next to its transport. This package, like the whole safety library,
 * knows no simulator.
 */
package io.vlaserve.controller.driver;
