package io.vlaserve.planner;

/** A plan could not be made; {@link #kind()} says whether asking again may help. */
public final class PlanningException extends Exception {
  /** What went wrong. */
  public enum Kind {
    /** The task is outside what the planner or the policy's skills can do; asking again will not help. */
    UNSUPPORTED_TASK,
    /** The planner could not be reached or kept failing (network, HTTP 5xx, 429). */
    UNAVAILABLE,
    /** The planner answered, but never with a valid plan within the allowed corrections. */
    INVALID_REPLY,
    /** The planner did not answer in time. */
    TIMEOUT,
    /** Too many plans were being made at once; asking again a little later may help. */
    BUSY
  }

  private final Kind kind;

  public PlanningException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public PlanningException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
