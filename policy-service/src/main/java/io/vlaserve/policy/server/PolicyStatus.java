package io.vlaserve.policy.server;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import com.google.rpc.RetryInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.vlaserve.policy.batching.RejectedException;
import io.vlaserve.policy.decode.DecodingException;
import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.image.PixelBudget;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** The one place where policy errors become gRPC statuses. */
final class PolicyStatus {
  /** The retry hint gRPC's own retry machinery honours (milliseconds, as a decimal string). */
  static final Metadata.Key<String> RETRY_PUSHBACK_MS = Metadata.Key.of("grpc-retry-pushback-ms",
      Metadata.ASCII_STRING_MARSHALLER);

  private PolicyStatus() {}

  /** Thrown while the model is loading or warming up, or after shutdown began. */
  static final class NotReadyException extends RuntimeException {
    NotReadyException(String message) {
      super(message);
    }
  }

  /** Thrown when a request (a {@code POST /act} body) is larger than this service accepts; HTTP 413. */
  static final class TooLargeException extends RuntimeException {
    TooLargeException(String message) {
      super(message, null, false, false); // an expected refusal: no stack trace
    }
  }

  /** Thrown when a request's deadline passed before compute started. */
  static final class ExpiredException extends RuntimeException {
    ExpiredException(String message) {
      super(message);
    }
  }

  /** The failure behind a future's wrapper exceptions. */
  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  static Status of(Throwable thrown) {
    Throwable t = unwrap(thrown);
    if (t instanceof IllegalArgumentException) {
      return Status.INVALID_ARGUMENT.withDescription(t.getMessage());
    }
    if (t instanceof TooLargeException || t instanceof PixelBudget.ExhaustedException) {
      return Status.RESOURCE_EXHAUSTED.withDescription(t.getMessage());
    }
    if (t instanceof DecodingException) {
      return Status.FAILED_PRECONDITION.withDescription(t.getMessage());
    }
    if (t instanceof NotReadyException || t instanceof RejectedException.ShuttingDown) {
      return Status.UNAVAILABLE.withDescription(t.getMessage());
    }
    if (t instanceof ExpiredException || t instanceof RejectedException.DeadlineExceeded) {
      return Status.DEADLINE_EXCEEDED.withDescription(t.getMessage());
    }
    if (t instanceof RejectedException.Overloaded overloaded) {
      return Status.RESOURCE_EXHAUSTED.withDescription(t.getMessage() + "; retry in "
          + retryMillis(overloaded.retryAfter()) + " ms");
    }
    if (t instanceof RejectedException.Superseded) {
      return Status.ABORTED.withDescription(t.getMessage());
    }
    if (t instanceof StatusRuntimeException given) {
      return given.getStatus();
    }
    if (t instanceof EngineException) {
      return Status.INTERNAL.withDescription("inference engine failed: " + t.getMessage()).withCause(t);
    }
    return Status.INTERNAL.withDescription("policy failed: " + t).withCause(t);
  }

  /** The HTTP status {@code POST /act} answers a failure with. */
  static int httpStatus(Throwable thrown) {
    Throwable t = unwrap(thrown);
    if (t instanceof TooLargeException) {
      return 413; // Content Too Large, not 429: retrying the same body cannot succeed
    }
    return switch (of(t).getCode()) {
      case INVALID_ARGUMENT -> 400;
      case PERMISSION_DENIED -> 403;
      case RESOURCE_EXHAUSTED -> 429;
      case DEADLINE_EXCEEDED -> 504;
      case UNAVAILABLE -> 503;
      case FAILED_PRECONDITION -> 422;
      default -> 500;
    };
  }

  /** The status as an exception, with the retry hint in its trailers when the replica is overloaded. */
  static StatusRuntimeException exception(Throwable thrown) {
    Throwable t = unwrap(thrown);
    Status status = of(t);
    if (!(t instanceof RejectedException.Overloaded overloaded)) {
      return status.asRuntimeException();
    }
    Metadata trailers = new Metadata();
    trailers.put(RETRY_PUSHBACK_MS, Long.toString(retryMillis(overloaded.retryAfter())));
    com.google.rpc.Status details = com.google.rpc.Status.newBuilder()
        .setCode(status.getCode().value())
        .setMessage(status.getDescription())
        .addDetails(Any.pack(RetryInfo.newBuilder()
            .setRetryDelay(Durations.fromNanos(overloaded.retryAfter().toNanos())).build()))
        .build();
    return StatusProto.toStatusRuntimeException(details, trailers);
  }

  /** The retry hint of an overload refusal, or null for any other failure. */
  static Duration retryAfter(Throwable thrown) {
    return unwrap(thrown) instanceof RejectedException.Overloaded overloaded ? overloaded.retryAfter() : null;
  }

  static long retryMillis(Duration retryAfter) {
    return Math.max(1, (retryAfter.toNanos() + 999_999) / 1_000_000);
  }
}
