package io.vlaserve.controller.server;

import io.vlaserve.controller.messages.ControllerMessages;
import io.vlaserve.controller.messages.ProtoTime;
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
import io.vlaserve.controller.v1.SetpointFrame;
import java.lang.invoke.VarHandle;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A robot on the other end of a {@code RobotAgentLink} stream: its agent streams measured state in,
 * the bridge streams gated setpoints out.
 *
 * <p><b>Never blocking the loop.</b> The control loop only copies numbers: {@link #send} appends
 * the setpoint to a ring and wakes a sender thread once a frame's worth is pending; the sender
 * builds the messages and writes them to the stream. {@link #readState} copies the state the
 * stream thread last wrote (a sequence lock). Neither side ever waits for the other.
 *
 * <p><b>Frames.</b> An agent whose hello accepts frames ({@code max_frame_setpoints > 1}) gets its
 * setpoints in {@code SetpointFrame}s of up to {@code frameSetpoints} consecutive ones (one
 * {@code vla.controller.agent-frame} of control time, 10 ms at 1 kHz by default): one message and
 * one sender wake-up per frame instead of per tick, which is most of a remote robot's cost to the
 * bridge. The sender also sends a partial frame after one frame period of waiting, so nothing waits
 * longer than a frame. An agent that takes no frames gets one {@code Setpoint} per message, newest
 * wins. Either way, while the agent's stream is not ready only the newest {@link #backlog} setpoints
 * are kept (older ones would be stale when they arrived; the agent sees the gap in the sequence
 * numbers), and a hold or new limits go out at once.
 *
 * <p><b>Limits first.</b> The agent checks every setpoint against the safety limits it was told
 * (robot-client's {@code SetpointCheck}), so each setpoint goes out after the limits it was made
 * under: {@link #announceLimits} (loop thread) records them and every ring slot carries the limits
 * in force when it was written; the sender ends a frame where the limits change and sends the new
 * ones before the next setpoint, and sends the latest right after a (re)attach, before anything else.
 *
 * <p><b>Holds.</b> {@link #hold} makes the sender send a {@code HoldCommand} at once and discard the
 * setpoints not yet sent: a hold is never followed by a setpoint made before it. The agent discards
 * whatever it has not yet played.
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
  /** Ring slots: a second of setpoints at 1 kHz. A power of two. */
  static final int RING = 1024;
  private static final int VALUES = 8;

  private final String robotId;
  private final long linkTimeoutNanos;
  private final int frameSetpoints;
  private final long framePeriodNanos;
  private final ProtoTime time;
  private final AtomicReference<AgentCall> agent = new AtomicReference<>();
  // When the attached agent was last heard from (attach or state), for replacing a half-open link.
  private volatile long lastHeardNanos;

  // Measured state: written by the agent's stream thread, read by the loop.
  private final AtomicLong stateVersion = new AtomicLong();
  private final MeasuredState state = new MeasuredState();
  private volatile boolean hasState;
  private volatile long lastStateNanos;

  // Setpoint ring: slots written by the loop, then published by advancing head; read by the sender.
  private final double[] ringValues = new double[RING * VALUES];
  private final long[] ringTimes = new long[RING];
  private final long[] ringSequences = new long[RING];
  private final SafetyLimits[] ringLimits = new SafetyLimits[RING];
  private final AtomicLong head = new AtomicLong();
  // Everything before this was taken by a sender: the loop never overwrites a slot at or after it.
  private final AtomicLong consumed = new AtomicLong();
  // Loop thread only: head when the sender was last woken for setpoints.
  private long wokenAtHead;
  // Setpoints per message on the attached link: 1 for an agent without frames.
  private volatile int linkFrameSetpoints = 1;
  private final LongAdder droppedSetpoints = new LongAdder();
  private volatile String holdReason;
  // Limits: written by the loop (announceLimits), read by the sender.
  private SafetyLimits loopLimits;
  private volatile SafetyLimits latestLimits;
  private volatile Thread sender;

  /**
   * A driver for robot {@code robotId}.
   *
   * @param frameSetpoints the most setpoints per frame (one agent-frame of control ticks), >= 1
   * @param framePeriodNanos the longest a pending setpoint waits for its frame to fill
   */
  RemoteRobotDriver(String robotId, long linkTimeoutNanos, int frameSetpoints, long framePeriodNanos, ProtoTime time) {
    if (frameSetpoints < 1 || frameSetpoints > RING / 4) {
      throw new IllegalArgumentException("frameSetpoints: " + frameSetpoints + " (expected: 1.." + RING / 4 + ")");
    }
    this.robotId = robotId;
    this.linkTimeoutNanos = linkTimeoutNanos;
    this.frameSetpoints = frameSetpoints;
    this.framePeriodNanos = Math.max(1, framePeriodNanos);
    this.time = time;
  }

  /** Setpoints dropped since start: stale before the agent's stream could take them, or the ring was full. */
  long droppedSetpoints() {
    return droppedSetpoints.sum();
  }

  /** The newest setpoints kept while an agent's stream is not ready: two frames (one setpoint without frames). */
  private static int backlog(int frame) {
    return frame == 1 ? 1 : 2 * frame;
  }

  // ------------------------------------------------------------------ agent side (stream threads)

  /**
   * Connects an agent's call. A link silent for longer than the link timeout (no state, or none
   * since it attached) is replaced: its call is closed with ABORTED saying so.
   *
   * @param maxFrameSetpoints the most setpoints per frame the agent takes (its hello's); <= 1 for none
   * @throws ControllerStateException if another agent's link is alive
   */
  synchronized void attach(AgentCall call, int maxFrameSetpoints) {
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
    int frame = Math.max(1, Math.min(frameSetpoints, maxFrameSetpoints));
    linkFrameSetpoints = frame;
    // Only setpoints written from now on go out on this link: an older one was meant for the previous link.
    long start = head.get();
    consumed.accumulateAndGet(start, Math::max);
    agent.set(call);
    // A platform thread, like the control loop: on a virtual thread, setpoints waited for a carrier
    // behind the app's other virtual threads, and under load the robot got none for seconds, then
    // the newest one at once (measured in the gateway's end-to-end test on a loaded 2-core host).
    Thread thread = Thread.ofPlatform().daemon(true).name("setpoints-" + robotId)
        .unstarted(() -> sendLoop(call, start, frame));
    sender = thread;
    thread.start();
    log.info("Agent of {} connected ({})", robotId, frame == 1 ? "one setpoint per message" : "frames of " + frame);
  }

  /** Disconnects {@code call}'s agent (if it is the connected one): the link is lost from now. */
  synchronized void detach(AgentCall call) {
    if (agent.compareAndSet(call, null)) {
      wakeSender();
      log.info("Agent of {} disconnected", robotId);
    }
  }

  /**
   * Ends the agent's link with {@code status} (the bridge is going away): the agent holds on its own
   * and reconnects, to this bridge or another that drives the robot.
   */
  synchronized void disconnect(Status status) {
    AgentCall current = agent.getAndSet(null);
    if (current != null) {
      wakeSender();
      current.close(status);
      log.info("Agent of {} disconnected: {}", robotId, status.getDescription());
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
    long h = head.get();
    if (h - consumed.get() >= RING) {
      // The sender has not run for a second: keep what it has not read, drop this one.
      droppedSetpoints.increment();
      return;
    }
    int slot = (int) (h & (RING - 1));
    int at = slot * VALUES;
    ringValues[at] = target.position(0);
    ringValues[at + 1] = target.position(1);
    ringValues[at + 2] = target.position(2);
    ringValues[at + 3] = target.orientation(0);
    ringValues[at + 4] = target.orientation(1);
    ringValues[at + 5] = target.orientation(2);
    ringValues[at + 6] = target.orientation(3);
    ringValues[at + 7] = target.gripper();
    ringTimes[slot] = target.timeNanos();
    ringSequences[slot] = target.sequence();
    ringLimits[slot] = loopLimits;
    head.lazySet(h + 1);
    holdReason = null;
    if (h + 1 - wokenAtHead >= linkFrameSetpoints) {
      wokenAtHead = h + 1;
      wakeSender();
    }
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

  private void sendLoop(AgentCall stream, long start, int frame) {
    long tail = start;
    long keep = backlog(frame);
    String sentHold = null;
    SafetyLimits sentLimits = null;
    boolean anchored = false;
    long anchorLoopNanos = 0;
    long anchorEpochNanos = 0;
    double[] values = new double[frame * VALUES];
    long[] times = new long[frame];
    long[] sequences = new long[frame];
    SafetyLimits[] limits = new SafetyLimits[frame];
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
          // Setpoints made before the hold never follow it.
          tail = release(head.get());
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
        long h = head.get();
        long pending = h - tail;
        if (pending > 0 && !stream.isReady()) {
          if (pending > keep) {
            // Older ones would arrive stale: the agent sees a gap in the sequence numbers.
            droppedSetpoints.add(pending - keep);
            tail = release(h - keep);
          }
          park(frame, framePeriodNanos);
          continue;
        }
        if (frame == 1 && pending > 1) {
          tail = release(h - 1); // Without frames the newest setpoint wins.
          pending = 1;
        }
        if (pending == 0) {
          park(frame, framePeriodNanos);
          continue;
        }
        if (pending < frame) {
          // A partial frame goes out once its oldest setpoint has waited a frame period.
          long waited = time.nowNanos() - ringTimes[(int) (tail & (RING - 1))];
          if (waited < framePeriodNanos) {
            park(frame, framePeriodNanos - waited);
            continue;
          }
        }
        sentHold = null;
        // Copy up to one frame of slots made under the same limits, then check the loop did not
        // overwrite any of them meanwhile (it writes slot s + RING only once the ring has moved past s).
        int n = 0;
        SafetyLimits madeUnder = ringLimits[(int) (tail & (RING - 1))];
        while (n < frame && tail + n < h) {
          int slot = (int) ((tail + n) & (RING - 1));
          if (ringLimits[slot] != madeUnder) {
            break;
          }
          System.arraycopy(ringValues, slot * VALUES, values, n * VALUES, VALUES);
          times[n] = ringTimes[slot];
          sequences[n] = ringSequences[slot];
          limits[n] = ringLimits[slot];
          n++;
        }
        VarHandle.loadLoadFence();
        if (head.get() - RING >= tail) {
          droppedSetpoints.add(head.get() - tail);
          tail = release(head.get());
          continue;
        }
        tail = release(tail + n);
        if (madeUnder != null && madeUnder != sentLimits) {
          stream.send(BridgeMessage.newBuilder().setLimits(ControllerMessages.limits(robotId, madeUnder)).build());
          sentLimits = madeUnder;
        }
        if (!anchored) {
          Timestamp anchor = time.toTimestamp(times[0]);
          anchorLoopNanos = times[0];
          anchorEpochNanos = ProtoTimes.epochNanos(anchor);
          anchored = true;
        }
        if (frame == 1) {
          stream.send(BridgeMessage.newBuilder()
              .setSetpoint(setpoint(values, 0, sequences[0], anchorEpochNanos + (times[0] - anchorLoopNanos))).build());
        } else {
          SetpointFrame.Builder message = SetpointFrame.newBuilder();
          for (int i = 0; i < n; i++) {
            message.addSetpoints(setpoint(values, i, sequences[i], anchorEpochNanos + (times[i] - anchorLoopNanos)));
          }
          stream.send(BridgeMessage.newBuilder().setFrame(message).build());
        }
      }
    } catch (RuntimeException e) {
      // The stream broke (cancelled by the agent's side): the link is gone.
      log.debug("Sending to the agent of {} failed", robotId, e);
      detach(stream);
    }
  }

  /** Marks every slot before {@code tail} as taken, so the loop may reuse them; returns {@code tail}. */
  private long release(long tail) {
    consumed.accumulateAndGet(tail, Math::max);
    return tail;
  }

  /** Waits for the loop's wake-up; with frames, at most {@code nanos}, for a partial frame that falls due. */
  private void park(int frame, long nanos) {
    if (frame == 1) {
      LockSupport.park(this);
    } else {
      LockSupport.parkNanos(this, nanos);
    }
  }

  private static Setpoint setpoint(double[] values, int index, long sequence, long epochNanos) {
    int at = index * VALUES;
    return Setpoint.newBuilder()
        .setSequence(sequence)
        .setTime(Timestamp.newBuilder().setSeconds(Math.floorDiv(epochNanos, 1_000_000_000L))
            .setNanos((int) Math.floorMod(epochNanos, 1_000_000_000L)))
        .setTarget(Pose.newBuilder()
            .setPosition(Vector3.newBuilder().setX(values[at]).setY(values[at + 1]).setZ(values[at + 2]))
            .setOrientation(Quaternion.newBuilder()
                .setX(values[at + 3]).setY(values[at + 4]).setZ(values[at + 5]).setW(values[at + 6])))
        .setGripper(values[at + 7])
        .build();
  }
}
