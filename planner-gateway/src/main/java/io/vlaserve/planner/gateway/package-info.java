/**
 * planner-gateway: the robot's single entry point, {@code vla.planner.v1.PlannerGateway}. Each
 * robot stream is a {@link io.vlaserve.planner.gateway.RobotSession}, the adapter of a transport-free
 * {@link io.vlaserve.planner.session.SessionMachine} (plan, subgoals, budgets, replans): it plans
 * with a {@link io.vlaserve.planner.Planner}, then carries out what the machine decides through its
 * links to policy-service ({@link io.vlaserve.planner.gateway.PolicyLink}) and the controller bridge
 * ({@link io.vlaserve.planner.gateway.BridgeLink}). A robot holds a signed resume token for its
 * session and can resume it on any replica with the same keys ({@link
 * io.vlaserve.planner.gateway.GatewayResume}, {@code io.vlaserve.planner.resume}). Proto conversion lives in {@link
 * io.vlaserve.planner.gateway.GatewayMessages}, statuses in {@link
 * io.vlaserve.planner.gateway.GatewayStatus}. Spring only wires the parts together.
 */
package io.vlaserve.planner.gateway;
