/**
 * planner-gateway: the robot's single entry point, {@code vla.planner.v1.PlannerGateway}.
 *
 * <p>Skeleton. The contract is final in {@code proto/src/main/proto/vla/planner/v1/planner.proto};
 * planners (embedded and OpenAI-compatible) and the orchestration of policy-service and
 * controller-bridge arrive with the planner-gateway issue.
 */
package io.vlaserve.planner;
