package io.vlaserve.tokenizer.server;

import io.grpc.Status;
import io.vlaserve.tokenizer.TokenizerException;
import io.vlaserve.tokenizer.UnknownProfileException;

/** The one place where tokenizer errors become gRPC statuses. */
final class TokenizerStatus {
  private TokenizerStatus() {}

  static Status of(TokenizerException e) {
    Status status = e instanceof UnknownProfileException ? Status.NOT_FOUND : Status.INVALID_ARGUMENT;
    return status.withDescription(e.getMessage());
  }

  static Status of(Throwable t) {
    if (t instanceof TokenizerException e) {
      return of(e);
    }
    return Status.INTERNAL.withDescription("tokenizer failed: " + t).withCause(t);
  }
}
