package io.vlaserve.controller.server;

import io.grpc.stub.ServerCallStreamObserver;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.driver.MeasuredState;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.safety.SafeSetpoint;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.HoldCommand;
import io.vlaserve.controller.v1.Setpoint;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A robot on the other end of a {@code RobotAgentLink} stream: its agent streams measured state in,
 * the bridge streams gated setpoints out.
 *
 * <p><b>Never blocking the loop.</b> The control loop only copies numbers: {@link #send} writes
 * the setpoint into a slot and wakes a sender thread, which builds the message and writes it to
 * the stream (latest wins: a setpoint superseded before it was sent is skipped, and none is sent
 * while the agent's stream is not ready); {@link #readState} copies the state the stream thread
 * last wrote. Both slots are sequence locks, so neither side ever waits for the other.
 *
 * <p><b>Link loss.</b> The link is alive while an agent is connected and its last state arrived
 * at most {@code linkTimeout} ago; a closed stream is a lost link at once. The controller then
 * halts (LINK_LOSS) and tells the robot to hold; the agent also holds on its own when setpoints stop
 * for its {@code hold_after}. Thread-safe.
 */
public final class RemoteRobotDriver implements RobotDriver {
  private static final Logger log = LoggerFactory.getLogger(RemoteRobotDriver.class);

  private final String robotId;
  private final long linkTimeoutNanos;
  private final ProtoTime time;
  private final AtomicReference<ServerCallStreamObserver<BridgeMessage>> agent = new AtomicReference<>();

  // Measured state: written by the agent's stream thread, read by the loop.
  private final AtomicLong stateVersion = new AtomicLong();
  private final MeasuredState state = new MeasuredState();
  private volatile boolean hasState;
  private volatile long lastStateNanos;

  // Setpoint slot: written by the loop, read by the sender thread.
  private final AtomicLong setpointVersion = new AtomicLong();
  private final double[] setpoint = new double[8];
  private long setpointTime;
  private long setpointSequence;
  private volatile String holdReason;
  private volatile Thread sender;

  RemoteRobotDriver(String robotId, long linkTimeoutNanos, ProtoTime time) {
    this.robotId = robotId;
    this.linkTimeoutNanos = linkTimeoutNanos;
    this.time = time;
  }

  // ------------------------------------------------------------------ agent side (stream threads)

  /**
   * Connects an agent's stream.
   *
   * @throws io.vlaserve.controller.ControllerStateException if another agent is connected
   */
  void attach(ServerCallStreamObserver<BridgeMessage> stream) {
    if (!agent.compareAndSet(null, stream)) {
      throw new io.vlaserve.controller.ControllerStateException("an agent is already connected for robot " + robotId
          + "; one agent per robot (close the other link first)");
    }
    // A platform thread, like the control loop: on a virtual thread, setpoints waited for a carrier
    // behind the app's other virtual threads, and under load the robot got none for seconds, then
    // the newest one at once (measured in the gateway's end-to-end test on a loaded 2-core host).
    Thread thread = Thread.ofPlatform().daemon(true).name("setpoints-" + robotId).unstarted(() -> sendLoop(stream));
    sender = thread;
    thread.start();
    log.info("Agent of {} connected", robotId);
  }

  /** Disconnects {@code stream}'s agent (if it is the connected one): the link is lost from now. */
  void detach(ServerCallStreamObserver<BridgeMessage> stream) {
    if (agent.compareAndSet(stream, null)) {
      Thread thread = sender;
      if (thread != null) {
        LockSupport.unpark(thread);
      }
      log.info("Agent of {} disconnected", robotId);
    }
  }

  /** Records a state report from the agent. */
  void onState(RobotState report) {
    Pose pose = report.getEndEffector();
    long measuredAt = report.hasTime() ? time.toLoopNanos(report.getTime()) : time.nowNanos();
    long v = stateVersion.get();
    stateVersion.set(v + 1);
    VarHandle.storeStoreFence();
    state.position[0] = pose.getPosition().getX();
    state.position[1] = pose.getPosition().getY();
    state.position[2] = pose.getPosition().getZ();
    state.orientation[0] = pose.getOrientation().getX();
    state.orientation[1] = pose.getOrientation().getY();
    state.orientation[2] = pose.getOrientation().getZ();
    state.orientation[3] = pose.getOrientation().getW();
    state.gripper = report.getGripper();
    state.timeNanos = measuredAt;
    stateVersion.lazySet(v + 2);
    hasState = true;
    lastStateNanos = time.nowNanos();
  }

  /** Returns whether an agent is connected. */
  boolean connected() {
    return agent.get() != null;
  }

  // ------------------------------------------------------------------ loop side

  @Override
  public boolean readState(MeasuredState out) {
    if (!hasState) {
      return false;
    }
    while (true) {
      long before = stateVersion.get();
      if ((before & 1) == 0) {
        out.set(state);
        VarHandle.loadLoadFence();
        if (stateVersion.get() == before) {
          return true;
        }
      }
      Thread.onSpinWait();
    }
  }

  @Override
  public boolean linkAlive(long nowNanos) {
    return agent.get() != null && hasState && nowNanos - lastStateNanos <= linkTimeoutNanos;
  }

  @Override
  public long stateAgeNanos(long nowNanos) {
    return hasState ? Math.max(0, nowNanos - lastStateNanos) : Long.MAX_VALUE / 2;
  }

  @Override
  public long linkTimeoutNanos() {
    return linkTimeoutNanos;
  }

  @Override
  public void send(SafeSetpoint target) {
    long v = setpointVersion.get();
    setpointVersion.set(v + 1);
    VarHandle.storeStoreFence();
    setpoint[0] = target.position(0);
    setpoint[1] = target.position(1);
    setpoint[2] = target.position(2);
    setpoint[3] = target.orientation(0);
    setpoint[4] = target.orientation(1);
    setpoint[5] = target.orientation(2);
    setpoint[6] = target.orientation(3);
    setpoint[7] = target.gripper();
    setpointTime = target.timeNanos();
    setpointSequence = target.sequence();
    setpointVersion.lazySet(v + 2);
    holdReason = null;
    Thread thread = sender;
    if (thread != null) {
      LockSupport.unpark(thread);
    }
  }

  @Override
  public void hold(String reason) {
    holdReason = reason == null || reason.isEmpty() ? "hold" : reason;
    Thread thread = sender;
    if (thread != null) {
      LockSupport.unpark(thread);
    }
  }

  // ------------------------------------------------------------------ sender thread

  private void sendLoop(ServerCallStreamObserver<BridgeMessage> stream) {
    long sentVersion = 0;
    String sentHold = null;
    double[] copy = new double[8];
    while (agent.get() == stream) {
      LockSupport.park(this);
      try {
        String hold = holdReason;
        if (hold != null) {
          if (!hold.equals(sentHold)) {
            stream.onNext(BridgeMessage.newBuilder().setHold(HoldCommand.newBuilder().setReason(hold)).build());
            sentHold = hold;
          }
          continue;
        }
        sentHold = null;
        long version;
        long at;
        long sequence;
        while (true) {
          version = setpointVersion.get();
          if ((version & 1) == 0) {
            System.arraycopy(setpoint, 0, copy, 0, 8);
            at = setpointTime;
            sequence = setpointSequence;
            VarHandle.loadLoadFence();
            if (setpointVersion.get() == version) {
              break;
            }
          }
          Thread.onSpinWait();
        }
        if (version == sentVersion || !stream.isReady()) {
          continue;
        }
        sentVersion = version;
        stream.onNext(BridgeMessage.newBuilder().setSetpoint(Setpoint.newBuilder()
            .setSequence(sequence)
            .setTime(time.toTimestamp(at))
            .setTarget(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(copy[0]).setY(copy[1]).setZ(copy[2]))
                .setOrientation(Quaternion.newBuilder().setX(copy[3]).setY(copy[4]).setZ(copy[5]).setW(copy[6])))
            .setGripper(copy[7]))
            .build());
      } catch (RuntimeException e) {
        // The stream broke (cancelled by the agent's side): the link is gone.
        log.debug("Sending to the agent of {} failed", robotId, e);
        detach(stream);
        return;
      }
    }
  }
}
