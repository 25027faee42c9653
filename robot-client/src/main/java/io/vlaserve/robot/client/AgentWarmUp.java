package io.vlaserve.robot.client;

import com.google.protobuf.Timestamp;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.AxisLimit;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.LimitMode;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.controller.v1.Setpoint;
import io.vlaserve.controller.v1.SetpointFrame;
import java.util.ArrayList;
import java.util.List;

/**
 * Warms the agent's per-setpoint path (frame parsing, {@link SetpointCheck}, {@link SetpointPlayout})
 * on made-up frames before a robot connects, so that its first seconds of 1 kHz setpoints are not
 * checked by interpreted code. Touches no network and no hardware. {@link RobotAgent#warmUp} runs it.
 */
final class AgentWarmUp {
  private static final long TICK_NANOS = 1_000_000;

  private AgentWarmUp() {}

  /** Runs {@code seconds} of 1 kHz setpoints, in 10 ms frames, through parsing, the check and the playout. */
  static long run(int seconds) {
    SetpointCheck check = new SetpointCheck();
    String problem = check.announce(limits());
    if (problem != null) {
      throw new IllegalStateException("warm-up limits refused: " + problem);
    }
    SetpointPlayout playout = new SetpointPlayout(3 * TICK_NANOS);
    long played = 0;
    long[] count = new long[1];
    long base = 1_700_000_000_000_000_000L;
    List<Setpoint> accepted = new ArrayList<>(10);
    for (long frame = 0; frame < seconds * 100L; frame++) {
      SetpointFrame.Builder builder = SetpointFrame.newBuilder();
      for (int i = 0; i < 10; i++) {
        long sequence = frame * 10 + i + 1;
        long nanos = base + sequence * TICK_NANOS;
        // Back and forth along x at 0.1 m/s, well inside the limits.
        double x = 0.5 + 0.0001 * ((sequence / 500) % 2 == 0 ? sequence % 500 : 500 - sequence % 500);
        builder.addSetpoints(Setpoint.newBuilder().setSequence(sequence)
            .setTime(Timestamp.newBuilder().setSeconds(nanos / 1_000_000_000L).setNanos((int) (nanos % 1_000_000_000L)))
            .setTarget(Pose.newBuilder().setPosition(Vector3.newBuilder().setX(x).setZ(0.2))
                .setOrientation(Quaternion.newBuilder().setW(1)))
            .setGripper(1));
      }
      BridgeMessage message;
      try {
        message = BridgeMessage.parseFrom(BridgeMessage.newBuilder().setFrame(builder).build().toByteArray());
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new IllegalStateException(e);
      }
      accepted.clear();
      for (Setpoint setpoint : message.getFrame().getSetpointsList()) {
        SetpointCheck.Refusal refusal = check.check(setpoint);
        if (refusal != null) {
          throw new IllegalStateException("warm-up setpoint refused: " + refusal.describe());
        }
        accepted.add(setpoint);
      }
      long arrival = base + (frame * 10 + 10) * TICK_NANOS;
      playout.offer(accepted, arrival);
      count[0] = 0;
      playout.drain(arrival + 20 * TICK_NANOS, s -> count[0]++);
      played += count[0];
    }
    return played;
  }

  private static SafetyLimits limits() {
    AxisLimit wide = AxisLimit.newBuilder().setMax(100).setMode(LimitMode.LIMIT_MODE_CLAMP).build();
    return SafetyLimits.newBuilder().setRobotId("warm-up")
        .setWorkspaceMin(Vector3.newBuilder().setX(0.25).setY(-0.3).setZ(0.01))
        .setWorkspaceMax(Vector3.newBuilder().setX(0.75).setY(0.3).setZ(0.35))
        .setWorkspaceMode(LimitMode.LIMIT_MODE_CLAMP)
        .setMaxLinearVelocity(AxisLimit.newBuilder().setMax(1).setMode(LimitMode.LIMIT_MODE_CLAMP))
        .setMaxLinearAcceleration(wide).setMaxLinearJerk(wide)
        .setMaxAngularVelocity(AxisLimit.newBuilder().setMax(5).setMode(LimitMode.LIMIT_MODE_CLAMP))
        .setMaxGripperRate(wide)
        .build();
  }
}
