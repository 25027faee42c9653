package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.SessionOpen;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The blocking way to read a session, over a real socket. */
class SessionEventsTest {
  @Test
  void theGatewaysMessagesComeInOrderThenTheEnd() throws Exception {
    FakeGateway gateway = new FakeGateway();
    LoopbackServer server = LoopbackServer.start(0, gateway);
    ManagedChannel channel = RobotChannels.forAddress("127.0.0.1", server.port()).build();
    try {
      SessionEvents events = new SessionEvents();
      GatewaySession.open(channel, SessionOpen.newBuilder().setRobot(RobotIdentity.newBuilder().setRobotId("arm-1"))
          .setTask("put the red block on the plate").build(), events);
      List<GatewayMessage.MessageCase> seen = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        seen.add(events.next(Await.TIMEOUT).getMessageCase());
      }
      assertEquals(List.of(GatewayMessage.MessageCase.ACCEPTED, GatewayMessage.MessageCase.SUBGOAL,
          GatewayMessage.MessageCase.STATE), seen);
      gateway.finish(Outcome.OUTCOME_SUCCEEDED);
      assertEquals(Outcome.OUTCOME_SUCCEEDED, events.next(Await.TIMEOUT).getOutcome().getOutcome());
      assertNull(events.next(Await.TIMEOUT), "the stream closed");
      assertNull(events.next(Await.TIMEOUT), "and stays closed");
      assertEquals(Status.Code.OK, events.closedWith().orElseThrow().getCode());
    } finally {
      channel.shutdownNow();
      server.close();
    }
  }
}
