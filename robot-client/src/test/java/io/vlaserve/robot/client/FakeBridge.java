package io.vlaserve.robot.client;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.controller.v1.AgentHello;
import io.vlaserve.controller.v1.AgentMessage;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.HoldCommand;
import io.vlaserve.controller.v1.RobotAgentLinkGrpc;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.controller.v1.Setpoint;
import io.vlaserve.controller.v1.SetpointFrame;
import io.vlaserve.controller.v1.SetpointRefused;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A controller bridge's {@code RobotAgentLink} that the test drives by hand: it records hellos,
 * state reports and refusals, announces its limits after each hello (unless made without), and sends
 * the setpoints the test asks for, or refuses every agent with a status.
 */
final class FakeBridge extends RobotAgentLinkGrpc.RobotAgentLinkImplBase {
  final List<AgentHello> hellos = new CopyOnWriteArrayList<>();
  final AtomicInteger states = new AtomicInteger();
  final List<SetpointRefused> refusals = new CopyOnWriteArrayList<>();
  private final Status refuseWith;
  private final SafetyLimits limits;
  private volatile ServerCallStreamObserver<BridgeMessage> agent;

  /** A bridge announcing {@link SetpointCheckTest#LIMITS}. */
  FakeBridge() {
    this(null, SetpointCheckTest.LIMITS);
  }

  FakeBridge(Status refuseWith) {
    this(refuseWith, SetpointCheckTest.LIMITS);
  }

  /** A bridge announcing {@code limits} after each hello (none when null), or refusing every agent with {@code refuseWith}. */
  FakeBridge(Status refuseWith, SafetyLimits limits) {
    this.refuseWith = refuseWith;
    this.limits = limits;
  }

  @Override
  public StreamObserver<AgentMessage> connect(StreamObserver<BridgeMessage> responses) {
    ServerCallStreamObserver<BridgeMessage> call = (ServerCallStreamObserver<BridgeMessage>) responses;
    return new StreamObserver<>() {
      @Override
      public void onNext(AgentMessage message) {
        if (message.hasHello()) {
          if (refuseWith != null) {
            hellos.add(message.getHello());
            call.onError(refuseWith.asRuntimeException());
          } else {
            if (limits != null) {
              synchronized (FakeBridge.this) {
                call.onNext(BridgeMessage.newBuilder().setLimits(limits).build());
              }
            }
            agent = call;
            // Recorded last: a test that saw the hello may send setpoints at once.
            hellos.add(message.getHello());
          }
        } else if (message.hasState()) {
          states.incrementAndGet();
        } else if (message.hasSetpointRefused()) {
          refusals.add(message.getSetpointRefused());
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

  /** Sends setpoints {@code from} .. {@code from + count - 1} to the connected agent: the robot resting inside the box. */
  synchronized void sendSetpoints(long from, int count) {
    for (long sequence = from; sequence < from + count; sequence++) {
      agent.onNext(BridgeMessage.newBuilder().setSetpoint(SetpointCheckTest.at(sequence, 0.5)).build());
    }
  }

  /** Sends {@code setpoint} to the connected agent. */
  synchronized void send(Setpoint setpoint) {
    agent.onNext(BridgeMessage.newBuilder().setSetpoint(setpoint).build());
  }

  /** Sends {@code setpoints} to the connected agent in one frame. */
  synchronized void sendFrame(List<Setpoint> setpoints) {
    agent.onNext(BridgeMessage.newBuilder().setFrame(SetpointFrame.newBuilder().addAllSetpoints(setpoints)).build());
  }

  /** Tells the connected agent to hold, as the bridge does once it has halted. */
  synchronized void hold(String reason) {
    agent.onNext(BridgeMessage.newBuilder().setHold(HoldCommand.newBuilder().setReason(reason)).build());
  }
}
