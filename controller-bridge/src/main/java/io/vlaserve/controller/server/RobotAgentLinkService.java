package io.vlaserve.controller.server;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.controller.ControllerStateException;
import io.vlaserve.controller.v1.AgentHello;
import io.vlaserve.controller.v1.AgentMessage;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.RobotAgentLinkGrpc;
import org.springframework.stereotype.Service;

/**
 * {@code vla.controller.v1.RobotAgentLink}: where a remote robot's agent connects. The first
 * message is {@code hello} naming a robot configured as remote; then the agent streams state and
 * receives setpoints from that robot's {@link RemoteRobotDriver}. One agent per robot; a closed or
 * broken stream is a lost link. Thread-safe.
 */
@Service
public class RobotAgentLinkService extends RobotAgentLinkGrpc.RobotAgentLinkImplBase {
  private final RobotFleet fleet;

  public RobotAgentLinkService(RobotFleet fleet) {
    this.fleet = fleet;
  }

  @Override
  public StreamObserver<AgentMessage> connect(StreamObserver<BridgeMessage> responses) {
    ServerCallStreamObserver<BridgeMessage> call = (ServerCallStreamObserver<BridgeMessage>) responses;
    return new StreamObserver<>() {
      private RemoteRobotDriver driver;
      private boolean failed;

      {
        call.setOnCancelHandler(this::detach);
      }

      @Override
      public void onNext(AgentMessage message) {
        if (failed) {
          return;
        }
        try {
          switch (message.getMessageCase()) {
            case HELLO -> hello(message.getHello());
            case STATE -> {
              if (driver == null) {
                throw new InvalidRequestException("first message: state (expected: hello, naming the robot)");
              }
              driver.onState(message.getState());
            }
            case MESSAGE_NOT_SET -> throw new InvalidRequestException(
                "AgentMessage: empty (expected: hello first, then state)");
          }
        } catch (RuntimeException e) {
          failed = true;
          detach();
          call.onError(ControllerStatus.of(e).asRuntimeException());
        }
      }

      private void hello(AgentHello hello) {
        if (driver != null) {
          throw new InvalidRequestException("hello: sent twice (expected: one hello, then state)");
        }
        String id = hello.getRobot().getRobotId();
        if (id.isEmpty()) {
          throw new InvalidRequestException("hello.robot.robot_id: empty (expected: the robot this agent runs)");
        }
        Robot robot = fleet.robot(id);
        if (!(robot.driver() instanceof RemoteRobotDriver remote)) {
          throw new ControllerStateException("robot " + id + " is simulated in the bridge; only robots listed in"
              + " vla.controller.remote-robots connect over RobotAgentLink");
        }
        remote.attach(call);
        driver = remote;
      }

      private void detach() {
        if (driver != null) {
          driver.detach(call);
        }
      }

      @Override
      public void onError(Throwable t) {
        detach();
      }

      @Override
      public void onCompleted() {
        detach();
        if (!failed) {
          call.onCompleted();
        }
      }
    };
  }
}
