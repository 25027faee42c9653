package io.vlaserve.robot.client;

import io.grpc.Status;

/**
 * A session's drive state with the reason for it, e.g. {@code HOLD "gateway: policy-service
 * unavailable"} or {@code ENDED "the session stream failed: UNAVAILABLE ..."}. Immutable.
 *
 * @param state driven, hold or ended
 * @param reason a sentence a person can act on
 * @param status how the session stream ended; null unless {@code state} is {@link DriveState#ENDED}
 */
public record Driving(DriveState state, String reason, Status status) {
  /** The robot is being driven. */
  public static Driving driven(String reason) {
    return new Driving(DriveState.DRIVEN, reason, null);
  }

  /** The robot must hold for {@code reason}. */
  public static Driving hold(String reason) {
    return new Driving(DriveState.HOLD, reason, null);
  }

  /** The session ended with {@code status} for {@code reason}. */
  public static Driving ended(String reason, Status status) {
    return new Driving(DriveState.ENDED, reason, status);
  }

  /** Whether the gateway is driving the robot now. */
  public boolean driven() {
    return state == DriveState.DRIVEN;
  }

  /** Whether the robot must hold (anything but driven). */
  public boolean mustHold() {
    return state != DriveState.DRIVEN;
  }

  /** Whether the session is over. */
  public boolean ended() {
    return state == DriveState.ENDED;
  }

  @Override
  public String toString() {
    return state + " (" + reason + (status == null ? "" : "; " + status.getCode()) + ")";
  }
}
