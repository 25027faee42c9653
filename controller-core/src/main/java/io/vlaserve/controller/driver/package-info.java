/**
 * Robots as the loop sees them ({@link io.vlaserve.controller.driver.RobotDriver}): measured state in,
 * gated setpoints out. {@link io.vlaserve.controller.driver.SimulatedRobotDriver} drives the project's
 * simulator; the remote driver lives in the controller-bridge service, next to its transport.
 */
package io.vlaserve.controller.driver;
