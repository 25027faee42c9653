/**
 * What a robot needs to talk to the suite: {@link io.vlaserve.robot.client.GatewaySession} (the
 * robot's session with the planner gateway: task in, plan and progress out) and {@link
 * io.vlaserve.robot.client.RobotAgent} (the robot side of the controller bridge's remote driver:
 * state out, setpoints in, holding on its own when they stop).
 */
package io.vlaserve.robot.client;
