package io.vlaserve.controller.server;

import io.vlaserve.controller.messages.InvalidRequestException;
import io.grpc.Status;
import io.vlaserve.controller.ChunkVerdict;
import io.vlaserve.controller.ControllerStateException;
import io.vlaserve.controller.InvalidChunkException;
import io.vlaserve.controller.safety.InvalidSafetyLimitsException;

/**
 * The one place where the bridge's errors become gRPC statuses, with messages that say what was
 * wrong and what was expected.
 *
 * <table>
 *   <caption>Errors and their codes</caption>
 *   <tr><th>cause</th><th>code</th></tr>
 *   <tr><td>{@link UnknownRobotException}</td><td>NOT_FOUND</td></tr>
 *   <tr><td>{@link RobotBusyException}, {@link ControllerStateException} (halted, e-stop not
 *       confirmed, link down)</td><td>FAILED_PRECONDITION</td></tr>
 *   <tr><td>{@link InvalidRequestException}, {@link InvalidSafetyLimitsException},
 *       {@link InvalidChunkException}</td><td>INVALID_ARGUMENT</td></tr>
 *   <tr><td>{@link LoopStalledException} (a Halt or Resume the loop did not apply), {@link
 *       AgentNotLinkedException} (Execute for a remote robot whose agent is linked elsewhere or
 *       not yet), {@link BridgeDrainingException} (Execute while the bridge drains)</td><td>UNAVAILABLE</td></tr>
 *   <tr><td>anything else</td><td>INTERNAL</td></tr>
 * </table>
 *
 * <p>Chunk rejections travel in-band ({@code ChunkRejected.code}), mapped by {@link #codeOf}.
 */
final class ControllerStatus {
  private ControllerStatus() {}

  static Status of(Throwable t) {
    if (t instanceof UnknownRobotException) {
      return Status.NOT_FOUND.withDescription(t.getMessage());
    }
    if (t instanceof RobotBusyException || t instanceof ControllerStateException) {
      return Status.FAILED_PRECONDITION.withDescription(t.getMessage());
    }
    if (t instanceof InvalidRequestException || t instanceof InvalidSafetyLimitsException
        || t instanceof InvalidChunkException) {
      return Status.INVALID_ARGUMENT.withDescription(t.getMessage());
    }
    if (t instanceof LoopStalledException || t instanceof AgentNotLinkedException
        || t instanceof BridgeDrainingException) {
      return Status.UNAVAILABLE.withDescription(t.getMessage());
    }
    return Status.INTERNAL.withDescription("controller bridge failed: " + t).withCause(t);
  }

  /** The code a rejected chunk reports. */
  static Status.Code codeOf(ChunkVerdict.Rejection rejection) {
    return switch (rejection) {
      case INVALID -> Status.Code.INVALID_ARGUMENT;
      case HALTED, NOT_READY -> Status.Code.FAILED_PRECONDITION;
      case ALL_STEPS_PAST, OUT_OF_ORDER -> Status.Code.OUT_OF_RANGE;
    };
  }
}
