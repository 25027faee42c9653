package io.vlaserve.robot.client;

import java.time.Duration;
import java.time.Instant;

/**
 * The robot's best knowledge of the gateway's clock: NTP's offset and round trip, from the probe
 * with the shortest round trip among the recent ones.
 *
 * <p>{@code offset} follows NTP's sign: how far the gateway's clock is ahead of the robot's
 * ({@code gatewayTime = robotTime + offset}). A robot whose clock runs 250 ms ahead of the
 * gateway's sees an offset of -250 ms. The true offset lies within {@code roundTrip / 2} of the
 * estimate (less when the path is symmetric). Immutable.
 *
 * @param offset gateway clock minus robot clock
 * @param roundTrip network round trip of the chosen probe, without the gateway's own processing
 * @param samples how many recent probes the estimate was chosen from
 */
public record ClockEstimate(Duration offset, Duration roundTrip, int samples) {
  /** The gateway's clock reading at the moment the robot's clock reads {@code robotTime}. */
  public Instant toGatewayTime(Instant robotTime) {
    return robotTime.plus(offset);
  }

  /** The robot's clock reading at the moment the gateway's clock reads {@code gatewayTime}. */
  public Instant toRobotTime(Instant gatewayTime) {
    return gatewayTime.minus(offset);
  }

  /** The bound on the offset's error: half the round trip. */
  public Duration uncertainty() {
    return roundTrip.dividedBy(2);
  }
}
