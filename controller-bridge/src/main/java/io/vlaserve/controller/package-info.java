/**
 * controller-bridge: action chunks in, a smooth and safe 500-1000 Hz setpoint stream out,
 * {@code vla.controller.v1.ControllerBridge} and {@code RobotAgentLink}.
 *
 * <p>Skeleton. The contract is final in {@code proto/src/main/proto/vla/controller/v1/controller.proto};
 * the real-time loop, interpolation, safety gate and drivers arrive with the controller-bridge issue.
 */
package io.vlaserve.controller;
