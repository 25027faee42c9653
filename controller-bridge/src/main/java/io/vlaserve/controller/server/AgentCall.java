package io.vlaserve.controller.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.vlaserve.controller.v1.BridgeMessage;

/**
 * The response side of one agent's {@code RobotAgentLink.Connect} call, safe to write from several
 * threads.
 *
 * <p>A gRPC {@code StreamObserver} must not be called concurrently, and not at all once completed.
 * Yet an agent's call is written by the driver's sender thread (setpoints, holds, limits) and closed
 * from gRPC threads (the agent completed or sent something invalid, another agent replaced a stale
 * link). Every write therefore goes through this class: one lock serialises them, and after the
 * first close (or the agent's cancellation) every further write is dropped. A write never blocks
 * for long: {@code onNext} only queues the message in gRPC's buffers. Thread-safe.
 */
final class AgentCall {
  private final ServerCallStreamObserver<BridgeMessage> call;
  // Guarded by this.
  private boolean closed;

  AgentCall(ServerCallStreamObserver<BridgeMessage> call) {
    this.call = call;
  }

  /** Whether the transport can take a message without buffering (false once closed). */
  synchronized boolean isReady() {
    return !closed && call.isReady();
  }

  /**
   * Sends {@code message} unless the call is closed.
   *
   * @return whether it was written
   */
  synchronized boolean send(BridgeMessage message) {
    if (closed) {
      return false;
    }
    call.onNext(message);
    return true;
  }

  /** Ends the call with {@code status} (OK: completed normally), once; later closes and sends are dropped. */
  synchronized void close(Status status) {
    if (closed) {
      return;
    }
    closed = true;
    if (status.isOk()) {
      call.onCompleted();
    } else {
      call.onError(status.asRuntimeException());
    }
  }

  /** Records that the agent cancelled the call: nothing more may be written to it. */
  synchronized void cancelled() {
    closed = true;
  }

  /** Whether the call was closed or cancelled. */
  synchronized boolean closed() {
    return closed;
  }
}
