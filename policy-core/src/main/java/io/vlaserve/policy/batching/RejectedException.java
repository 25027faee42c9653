package io.vlaserve.policy.batching;

import java.time.Duration;

/** Why the scheduler did not run a request; each subtype maps to one status at the service edge. */
public abstract sealed class RejectedException extends RuntimeException {
  RejectedException(String message) {
    super(message, null, false, false); // expected outcomes: no stack trace to fill
  }

  /** The queue (or the robot's share of it) is full; retry after the suggested delay. */
  public static final class Overloaded extends RejectedException {
    private final Duration retryAfter;

    public Overloaded(String message, Duration retryAfter) {
      super(message);
      this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
      return retryAfter;
    }
  }

  /** The deadline passed while the request was queued; nothing was computed. */
  public static final class DeadlineExceeded extends RejectedException {
    public DeadlineExceeded(String message) {
      super(message);
    }
  }

  /** A newer observation of the same session replaced this one while it was queued. */
  public static final class Superseded extends RejectedException {
    public Superseded(String message) {
      super(message);
    }
  }

  /** The scheduler is closing. */
  public static final class ShuttingDown extends RejectedException {
    public ShuttingDown(String message) {
      super(message);
    }
  }
}
