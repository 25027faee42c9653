package io.vlaserve.robot.client;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.controller.v1.AgentHello;
import io.vlaserve.controller.v1.AgentMessage;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.RobotAgentLinkGrpc;
import io.vlaserve.controller.v1.Setpoint;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A controller bridge's {@code RobotAgentLink} that the test drives by hand: it records hellos and
 * state reports and sends the setpoints the test asks for, or refuses every agent with a status.
 */
final class FakeBridge extends RobotAgentLinkGrpc.RobotAgentLinkImplBase {
  final List<AgentHello> hellos = new CopyOnWriteArrayList<>();
  final AtomicInteger states = new AtomicInteger();
  private final Status refuseWith;
  private volatile ServerCallStreamObserver<BridgeMessage> agent;

  FakeBridge() {
    this(null);
  }

  FakeBridge(Status refuseWith) {
    this.refuseWith = refuseWith;
  }

  @Override
  public StreamObserver<AgentMessage> connect(StreamObserver<BridgeMessage> responses) {
    ServerCallStreamObserver<BridgeMessage> call = (ServerCallStreamObserver<BridgeMessage>) responses;
    return new StreamObserver<>() {
      @Override
      public void onNext(AgentMessage message) {
        if (message.hasHello()) {
          hellos.add(message.getHello());
          if (refuseWith != null) {
            call.onError(refuseWith.asRuntimeException());
          } else {
            agent = call;
          }
        } else if (message.hasState()) {
          states.incrementAndGet();
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        call.onCompleted();
      }
    };
  }

  /** Sends setpoints {@code from} .. {@code from + count - 1} to the connected agent. */
  synchronized void sendSetpoints(long from, int count) {
    for (long sequence = from; sequence < from + count; sequence++) {
      agent.onNext(BridgeMessage.newBuilder().setSetpoint(Setpoint.newBuilder().setSequence(sequence)
          .setTarget(Pose.getDefaultInstance()).setGripper(1)).build());
    }
  }
}
