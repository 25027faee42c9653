/**
 * What a robot needs to talk to the suite: {@link io.vlaserve.robot.client.GatewaySession} (the
 * robot's session with the planner gateway: task in, plan and progress out, drive state and clock
 * estimate), {@link io.vlaserve.robot.client.SessionReopener} (a new session for the same task when
 * one is lost), {@link io.vlaserve.robot.client.RobotAgent} (the robot side of the controller
 * bridge's remote driver: state out, setpoints in, holding on its own when they stop, reconnecting
 * a lost link) and {@link io.vlaserve.robot.client.RobotChannels} (channels with keepalive).
 */
package io.vlaserve.robot.client;
