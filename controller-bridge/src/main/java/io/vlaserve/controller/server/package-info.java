/**
 * controller-bridge: {@code vla.controller.v1.ControllerBridge} and {@code RobotAgentLink} over gRPC,
 * a thin Spring Boot adapter over the transport-free {@code io.vlaserve.controller} core.
 *
 * <p>{@link io.vlaserve.controller.server.RobotFleet} owns the robots, their control loops and the
 * thread that publishes safety events; {@link io.vlaserve.controller.server.ControllerBridgeGrpcService}
 * and {@link io.vlaserve.controller.server.RobotAgentLinkGrpcService} translate RPCs;
 * {@link io.vlaserve.controller.messages.ControllerMessages} (module controller-messages) converts messages and
 * {@link io.vlaserve.controller.server.ControllerStatus} is the one place errors become statuses.
 */
package io.vlaserve.controller.server;
