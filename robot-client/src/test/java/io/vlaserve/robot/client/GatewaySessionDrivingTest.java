package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ManagedChannel;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.SessionOpen;
import org.junit.jupiter.api.Test;

/** How the drive state follows the gateway's hold notices, the bridge's modes and the robot's own halt. */
class GatewaySessionDrivingTest {
  @Test
  void holdNoticesHaltsAndExecutionMoveTheDriveStateAndAnOutcomeEndsIt() throws Exception {
    FakeGateway gateway = new FakeGateway();
    LoopbackServer server = LoopbackServer.start(0, gateway);
    ManagedChannel channel = RobotChannels.forAddress("127.0.0.1", server.port()).build();
    try {
      GatewaySession session = GatewaySession.open(channel, SessionOpen.newBuilder()
          .setRobot(RobotIdentity.newBuilder().setRobotId("arm-1")).setTask("put the red block on the plate").build(),
          new GatewaySession.Listener() {});
      Await.until(() -> session.driving().driven(), () -> "driven once a subgoal starts: " + session.driving());

      gateway.hold("policy-service unavailable");
      Await.until(() -> session.driving().mustHold(), () -> "held: " + session.driving());
      assertEquals("gateway: policy-service unavailable", session.driving().reason());
      gateway.state(ExecutionMode.EXECUTION_MODE_EXECUTING);
      Await.until(() -> session.driving().driven(), () -> "driven again when the bridge executes");

      session.halt("operator pressed stop");
      assertEquals(Driving.hold("halted by the robot: operator pressed stop"), session.driving());
      gateway.state(ExecutionMode.EXECUTION_MODE_HALTED);
      gateway.state(ExecutionMode.EXECUTION_MODE_EXECUTING);
      gateway.hold("marker");
      Await.until(() -> session.driving().reason().equals("gateway: marker"), () -> "the messages arrived");
      session.resume();
      assertEquals(DriveState.HOLD, session.driving().state(), "resumed, but not driven until the bridge executes");
      gateway.state(ExecutionMode.EXECUTION_MODE_EXECUTING);
      Await.until(() -> session.driving().driven(), () -> "driven after the resume");

      gateway.finish(Outcome.OUTCOME_SUCCEEDED);
      Await.until(() -> session.driving().ended(), () -> "ended");
      assertEquals("OUTCOME_SUCCEEDED: done", session.driving().reason());
    } finally {
      channel.shutdownNow();
      server.close();
    }
  }
}
