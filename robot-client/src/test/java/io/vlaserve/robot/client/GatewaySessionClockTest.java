package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.planner.v1.SessionOpen;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The NTP-style estimate over a real session stream, against a gateway answering probes with its own clock. */
class GatewaySessionClockTest {
  @Test
  void theOffsetOfARobotClock250MillisecondsAheadIsEstimatedWithinAFewMilliseconds() throws Exception {
    LoopbackServer server = LoopbackServer.start(0, new FakeGateway());
    ManagedChannel channel = RobotChannels.forAddress("127.0.0.1", server.port()).build();
    Clock robotClock = Clock.offset(Clock.systemUTC(), Duration.ofMillis(250));
    try {
      GatewaySession session = GatewaySession.open(channel, SessionOpen.newBuilder()
              .setRobot(RobotIdentity.newBuilder().setRobotId("arm-1")).setTask("put the red block on the plate").build(),
          new GatewaySession.Listener() {},
          GatewaySession.Options.defaults().withClock(robotClock).withClockProbePeriod(Duration.ofMillis(20)));
      // The error is at most half the round trip: wait for a quick exchange (a loaded host has slow ones).
      Await.until(() -> session.clockEstimate().filter(e -> e.samples() >= 8
          && e.roundTrip().compareTo(Duration.ofMillis(8)) < 0).isPresent(),
          () -> "a quick probe exchange: " + session.clockEstimate());
      ClockEstimate estimate = session.clockEstimate().orElseThrow();
      Duration error = estimate.offset().plusMillis(250).abs();
      assertTrue(error.compareTo(Duration.ofMillis(5)) < 0,
          "the gateway's clock is 250 ms behind the robot's: " + estimate);
      assertTrue(estimate.uncertainty().compareTo(Duration.ofMillis(4)) < 0, estimate.toString());
      session.close();
    } finally {
      channel.shutdownNow();
      server.close();
    }
  }
}
