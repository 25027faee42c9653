/**
 * planner-gateway: the robot's single entry point, {@code vla.planner.v1.PlannerGateway}. Each
 * robot session ({@link io.vlaserve.planner.gateway.RobotSession}) plans with a {@link
 * io.vlaserve.planner.Planner}, then drives policy-service and controller-bridge subgoal by
 * subgoal, replanning on failure. Spring only wires the parts together.
 */
package io.vlaserve.planner.gateway;
