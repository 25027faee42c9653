package io.vlaserve.controller.server;

import io.vlaserve.controller.messages.InvalidRequestException;
import io.vlaserve.service.audit.AuditLog;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.controller.ControllerStateException;
import io.vlaserve.controller.safety.Axis;
import io.vlaserve.controller.safety.Cause;
import io.vlaserve.controller.v1.AgentHello;
import io.vlaserve.controller.v1.AgentMessage;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.RobotAgentLinkGrpc;
import io.vlaserve.controller.v1.SetpointRefused;

/**
 * {@code vla.controller.v1.RobotAgentLink}: where a remote robot's agent connects. The first
 * message is {@code hello} naming a robot configured as remote; then the agent streams state and
 * receives that robot's limits and setpoints from its {@link RemoteRobotDriver}. One agent per
 * robot: a second one is refused while the first one's link is alive, and replaces it once that
 * link has been silent for longer than the link timeout (a half-open stream). A closed or broken
 * stream is a lost link.
 *
 * <p>A {@code setpoint_refused} halts the robot with SETPOINT_REFUSED at once, whatever else is
 * wrong with the message: the robot already holds on its own. Its {@code field} and {@code reason}
 * are cut to {@value #MAX_TEXT} characters (a refusal is too important to drop for being verbose);
 * an empty field is an agent bug and, after the halt, fails the stream with INVALID_ARGUMENT.
 *
 * <p>Every write to an agent's call goes through its {@link AgentCall}. Served on its own port by
 * {@link AgentLinkServer}, not by the main gRPC server. Thread-safe.
 */
public class RobotAgentLinkGrpcService extends RobotAgentLinkGrpc.RobotAgentLinkImplBase {
  /** The longest field name and reason of a refusal kept, characters. */
  static final int MAX_TEXT = 200;

  private final RobotFleet fleet;

  public RobotAgentLinkGrpcService(RobotFleet fleet) {
    this.fleet = fleet;
  }

  @Override
  public StreamObserver<AgentMessage> connect(StreamObserver<BridgeMessage> responses) {
    ServerCallStreamObserver<BridgeMessage> call = (ServerCallStreamObserver<BridgeMessage>) responses;
    AgentCall agentCall = new AgentCall(call);
    return new StreamObserver<>() {
      private Robot robot;
      private RemoteRobotDriver driver;
      private boolean failed;

      {
        call.setOnCancelHandler(() -> {
          agentCall.cancelled();
          detach();
        });
      }

      @Override
      public void onNext(AgentMessage message) {
        if (failed) {
          return;
        }
        try {
          switch (message.getMessageCase()) {
            case HELLO -> hello(message.getHello());
            case STATE -> attachedDriver("state").onState(agentCall, message.getState());
            case SETPOINT_REFUSED -> refused(message.getSetpointRefused());
            case MESSAGE_NOT_SET -> throw new InvalidRequestException(
                "AgentMessage: empty (expected: hello first, then state)");
          }
        } catch (RuntimeException e) {
          failed = true;
          detach();
          agentCall.close(ControllerStatus.of(e));
        }
      }

      private RemoteRobotDriver attachedDriver(String what) {
        if (driver == null) {
          throw new InvalidRequestException("first message: " + what + " (expected: hello, naming the robot)");
        }
        return driver;
      }

      private void hello(AgentHello hello) {
        if (driver != null) {
          throw new InvalidRequestException("hello: sent twice (expected: one hello, then state)");
        }
        String id = hello.getRobot().getRobotId();
        if (id.isEmpty()) {
          throw new InvalidRequestException("hello.robot.robot_id: empty (expected: the robot this agent runs)");
        }
        Robot named = fleet.robot(id);
        if (!(named.driver() instanceof RemoteRobotDriver remote)) {
          throw new ControllerStateException("robot " + id + " is simulated in the bridge; only robots listed in"
              + " vla.controller.remote-robots connect over RobotAgentLink");
        }
        remote.attach(agentCall, (int) Math.min(Integer.MAX_VALUE, Integer.toUnsignedLong(hello.getMaxFrameSetpoints())));
        AuditLog.record("agent-connect", id, AuditLog.caller(), "ok", java.util.Map.of());
        robot = named;
        driver = remote;
      }

      private void refused(SetpointRefused refusal) {
        RemoteRobotDriver attached = attachedDriver("setpoint_refused");
        if (!attached.attached(agentCall)) {
          return; // A replaced link's agent no longer speaks for the robot.
        }
        String field = cut(refusal.getField());
        String reason = refusal.getReason().isEmpty() ? "no reason given" : cut(refusal.getReason());
        robot.controller().requestSafetyHalt(Cause.SETPOINT_REFUSED, Axis.NONE, refusal.getValue(), 0,
            (field.isEmpty() ? "(field not named)" : field) + " = " + refusal.getValue() + ": " + reason, true);
        if (field.isEmpty()) {
          throw new InvalidRequestException("setpoint_refused.field: empty (expected: the setpoint field at fault,"
              + " e.g. target.position.x)");
        }
      }

      private void detach() {
        if (driver != null) {
          driver.detach(agentCall);
        }
      }

      @Override
      public void onError(Throwable t) {
        detach();
        agentCall.cancelled();
      }

      @Override
      public void onCompleted() {
        detach();
        if (!failed) {
          agentCall.close(Status.OK);
        }
      }
    };
  }

  private static String cut(String text) {
    return text.length() <= MAX_TEXT ? text : text.substring(0, MAX_TEXT - 1) + "…";
  }
}
