package io.vlaserve.controller.server;

import io.vlaserve.proto.ProtoTimes;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.driver.MeasuredState;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.ControllerStateException;
import io.vlaserve.controller.safety.SafeSetpoint;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.HoldCommand;
import io.vlaserve.controller.v1.Setpoint;
import java.lang.invoke.VarHandle;
import java.util.Locale;
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
 * <p><b>Limits first.</b> The agent checks every setpoint against the safety limits it was told
 * (robot-client's {@code SetpointCheck}), so each setpoint goes out after the limits it was made
 * under: {@link #announceLimits} (loop thread) records them and every setpoint slot carries the
 * limits in force when it was written; the sender sends them whenever they differ from what this
 * stream last got, and right after a (re)attach, before anything else.
 *
 * <p><b>Setpoint times.</b> Within one stream, setpoint times follow the loop clock from an anchor
 * taken at the first setpoint (and again after each hold): converting each one afresh would let
 * the wall clock's slew and the two clock reads' preemption jitter shorten the gap between two
 * setpoints, and the agent's velocity check would see a speed the gate never commanded.
 *
 * <p><b>Link loss.</b> The link is alive while an agent is connected and its last state arrived
 * at most {@code linkTimeout} ago; a closed stream is a lost link at once. The controller then
 * halts (LINK_LOSS) and tells the robot to hold; the agent also holds on its own when setpoints stop
 * for its {@code hold_after}. A half-open stream (the agent's host vanished without closing it)
 * would keep the robot attached until keepalive tears the connection down, so a new agent for the
 * same robot replaces a link that has been silent for longer than {@code linkTimeout}; a live link
 * is never replaced.
 *
 * <p>Every write to an agent's call goes through its {@link AgentCall}, so the sender thread and
 * the gRPC threads that close calls never write concurrently. Thread-safe.
 */
public final class RemoteRobotDriver implements RobotDriver {
  private static final Logger log = LoggerFactory.getLogger(RemoteRobotDriver.class);

  private final String robotId;
  private final long linkTimeoutNanos;
  private final ProtoTime time;
  private final AtomicReference<AgentCall> agent = new AtomicReference<>();
  // When the attached agent was last heard from (attach or state), for replacing a half-open link.
  private volatile long lastHeardNanos;

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
  private SafetyLimits setpointLimits;
  private volatile String holdReason;
  // Limits: written by the loop (announceLimits), read by the sender.
  private SafetyLimits loopLimits;
  private volatile SafetyLimits latestLimits;
  private volatile Thread sender;

  RemoteRobotDriver(String robotId, long linkTimeoutNanos, ProtoTime time) {
    this.robotId = robotId;
    this.linkTimeoutNanos = linkTimeoutNanos;
    this.time = time;
  }

  // ------------------------------------------------------------------ agent side (stream threads)

  /**
   * Connects an agent's call. A link silent for longer than the link timeout (no state, or none
   * since it attached) is replaced: its call is closed with ABORTED saying so.
   *
   * @throws ControllerStateException if another agent's link is alive
   */
  synchronized void attach(AgentCall call) {
    long now = time.nowNanos();
    AgentCall current = agent.get();
    if (current != null) {
      long silentNanos = now - lastHeardNanos;
      if (silentNanos <= linkTimeoutNanos) {
        throw new ControllerStateException("an agent is already connected for robot " + robotId
            + "; one agent per robot (close the other link first)");
      }
      agent.set(null);
      wakeSender();
      current.close(Status.ABORTED.withDescription(String.format(Locale.ROOT, "link replaced: a new agent connected"
          + " for robot %s after this link sent no state for %.0f ms (link timeout %.0f ms)", robotId,
          silentNanos * 1e-6, linkTimeoutNanos * 1e-6)));
      log.warn("Agent link of {} replaced: silent for {} ms", robotId, Math.round(silentNanos * 1e-6));
    }
    lastHeardNanos = now;
    // Only setpoints written from now on go out on this link: an older one was meant for the previous link.
    long startVersion = setpointVersion.get() & ~1L;
    agent.set(call);
    // A platform thread, like the control loop: on a virtual thread, setpoints waited for a carrier
    // behind the app's other virtual threads, and under load the robot got none for seconds, then
    // the newest one at once (measured in the gateway's end-to-end test on a loaded 2-core host).
    Thread thread = Thread.ofPlatform().daemon(true).name("setpoints-" + robotId).unstarted(() -> sendLoop(call, startVersion));
    sender = thread;
    thread.start();
    log.info("Agent of {} connected", robotId);
  }

  /** Disconnects {@code call}'s agent (if it is the connected one): the link is lost from now. */
  synchronized void detach(AgentCall call) {
    if (agent.compareAndSet(call, null)) {
      wakeSender();
      log.info("Agent of {} disconnected", robotId);
    }
  }

  /** Returns whether {@code call} is the attached agent's. */
  boolean attached(AgentCall call) {
    return agent.get() == call;
  }

  /** Records a state report from {@code from}'s agent; ignored unless it is the attached one (a replaced link's is not). */
  void onState(AgentCall from, RobotState report) {
    if (agent.get() != from) {
      return;
    }
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
    long now = time.nowNanos();
    lastStateNanos = now;
    lastHeardNanos = now;
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
  public void announceLimits(SafetyLimits limits) {
    loopLimits = limits;
    latestLimits = limits;
    wakeSender();
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
    setpointLimits = loopLimits;
    setpointVersion.lazySet(v + 2);
    holdReason = null;
    wakeSender();
  }

  @Override
  public void hold(String reason) {
    holdReason = reason == null || reason.isEmpty() ? "hold" : reason;
    wakeSender();
  }

  private void wakeSender() {
    Thread thread = sender;
    if (thread != null) {
      LockSupport.unpark(thread);
    }
  }

  // ------------------------------------------------------------------ sender thread

  private void sendLoop(AgentCall stream, long startVersion) {
    long sentVersion = startVersion;
    String sentHold = null;
    SafetyLimits sentLimits = null;
    boolean anchored = false;
    long anchorLoopNanos = 0;
    long anchorEpochNanos = 0;
    double[] copy = new double[8];
    try {
      // The limits in force go first on every stream, before any hold or setpoint.
      SafetyLimits first = latestLimits;
      if (first != null) {
        stream.send(BridgeMessage.newBuilder().setLimits(ControllerMessages.limits(robotId, first)).build());
        sentLimits = first;
      }
      while (agent.get() == stream) {
        String hold = holdReason;
        if (hold != null) {
          // No setpoint goes out while holding, but the agent still hears of changed limits at once.
          SafetyLimits latest = latestLimits;
          if (latest != null && latest != sentLimits) {
            stream.send(BridgeMessage.newBuilder().setLimits(ControllerMessages.limits(robotId, latest)).build());
            sentLimits = latest;
          }
          if (!hold.equals(sentHold)) {
            stream.send(BridgeMessage.newBuilder().setHold(HoldCommand.newBuilder().setReason(hold)).build());
            sentHold = hold;
            // The robot holds wherever it stops: the next setpoint starts a new time anchor.
            anchored = false;
          }
          LockSupport.park(this);
          continue;
        }
        sentHold = null;
        long version;
        long at;
        long sequence;
        SafetyLimits madeUnder;
        while (true) {
          version = setpointVersion.get();
          if ((version & 1) == 0) {
            System.arraycopy(setpoint, 0, copy, 0, 8);
            at = setpointTime;
            sequence = setpointSequence;
            madeUnder = setpointLimits;
            VarHandle.loadLoadFence();
            if (setpointVersion.get() == version) {
              break;
            }
          }
          Thread.onSpinWait();
        }
        if (version == sentVersion || !stream.isReady()) {
          LockSupport.park(this);
          continue;
        }
        if (madeUnder != null && madeUnder != sentLimits) {
          stream.send(BridgeMessage.newBuilder().setLimits(ControllerMessages.limits(robotId, madeUnder)).build());
          sentLimits = madeUnder;
        }
        if (!anchored) {
          Timestamp anchor = time.toTimestamp(at);
          anchorLoopNanos = at;
          anchorEpochNanos = ProtoTimes.epochNanos(anchor);
          anchored = true;
        }
        long epochNanos = anchorEpochNanos + (at - anchorLoopNanos);
        sentVersion = version;
        stream.send(BridgeMessage.newBuilder().setSetpoint(Setpoint.newBuilder()
            .setSequence(sequence)
            .setTime(Timestamp.newBuilder().setSeconds(Math.floorDiv(epochNanos, 1_000_000_000L))
                .setNanos((int) Math.floorMod(epochNanos, 1_000_000_000L)))
            .setTarget(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(copy[0]).setY(copy[1]).setZ(copy[2]))
                .setOrientation(Quaternion.newBuilder().setX(copy[3]).setY(copy[4]).setZ(copy[5]).setW(copy[6])))
            .setGripper(copy[7]))
            .build());
      }
    } catch (RuntimeException e) {
      // The stream broke (cancelled by the agent's side): the link is gone.
      log.debug("Sending to the agent of {} failed", robotId, e);
      detach(stream);
    }
  }
}
