package io.vlaserve.policy.server;

import io.grpc.Status;
import io.vlaserve.policy.decode.DecodingException;
import io.vlaserve.policy.engine.EngineException;

/** The one place where policy errors become gRPC statuses. */
final class PolicyStatus {
  private PolicyStatus() {}

  /** Thrown while the model is loading or warming up, or after shutdown began. */
  static final class NotReadyException extends RuntimeException {
    NotReadyException(String message) {
      super(message);
    }
  }

  /** Thrown when a request's deadline passed before compute started. */
  static final class ExpiredException extends RuntimeException {
    ExpiredException(String message) {
      super(message);
    }
  }

  static Status of(Throwable t) {
    if (t instanceof IllegalArgumentException) {
      return Status.INVALID_ARGUMENT.withDescription(t.getMessage());
    }
    if (t instanceof DecodingException) {
      return Status.FAILED_PRECONDITION.withDescription(t.getMessage());
    }
    if (t instanceof NotReadyException) {
      return Status.UNAVAILABLE.withDescription(t.getMessage());
    }
    if (t instanceof ExpiredException) {
      return Status.DEADLINE_EXCEEDED.withDescription(t.getMessage());
    }
    if (t instanceof EngineException) {
      return Status.INTERNAL.withDescription("inference engine failed: " + t.getMessage()).withCause(t);
    }
    return Status.INTERNAL.withDescription("policy failed: " + t).withCause(t);
  }
}
