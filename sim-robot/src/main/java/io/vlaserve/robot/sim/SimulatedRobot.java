package io.vlaserve.robot.sim;

import io.vlaserve.proto.ProtoTimes;
import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.ResumeRequest;
import io.vlaserve.controller.v1.Setpoint;
import io.vlaserve.controller.v1.StreamStateRequest;
import io.vlaserve.planner.v1.CameraRequirement;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.ChunkContinuation;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.planner.v1.SubgoalSignal;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.robot.client.GatewaySession;
import io.vlaserve.robot.client.ReconnectPolicy;
import io.vlaserve.robot.client.RobotAgent;
import io.vlaserve.robot.client.RobotHardware;
import io.vlaserve.robot.client.SessionReopener;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import io.vlaserve.skills.Instructions;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.sim.task.SuccessPredicates;
import io.vlaserve.skills.Task;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A simulated robot that talks to the suite exactly as a real one would: its {@link TabletopWorld}
 * is driven through the controller bridge's remote driver ({@link RobotAgent}), and it runs a task
 * through a {@link GatewaySession}, streaming camera frames and proprioception at the rate the
 * gateway asks and reporting subgoal success from the simulator's predicates.
 *
 * <p>The world is guarded by its own lock: setpoints arrive on the agent's gRPC thread, frames are
 * rendered on the camera thread.
 */
public final class SimulatedRobot implements RobotHardware {
  /** The camera name the shipped policy expects. */
  public static final String CAMERA = "third_person";

  private final RobotIdentity identity;
  private final TabletopWorld world;
  private volatile ChunkContinuation chunkContinuation = ChunkContinuation.CHUNK_CONTINUATION_UNSPECIFIED;
  private volatile boolean recordSessions;
  private final double[] proprio = new double[8];
  private final double[] position = new double[3];
  private final double[] orientation = new double[4];
  private final List<String> holds = new CopyOnWriteArrayList<>();
  private final List<GatewayMessage> received = new CopyOnWriteArrayList<>();
  private final List<double[]> trajectory = new CopyOnWriteArrayList<>();
  private final List<Handover> handovers = new CopyOnWriteArrayList<>();
  private volatile long setpointsApplied;

  /**
   * A robot with a fresh tabletop world, not yet connected.
   *
   * @param robotId the id the controller bridge knows this robot by (a remote robot there)
   * @param embodiment the action profile, e.g. "eef-delta-7dof"
   * @param seed the world's seed: block colours and positions
   * @param blocks how many blocks (1..4)
   */
  public SimulatedRobot(String robotId, String embodiment, long seed, int blocks) {
    this.identity = RobotIdentity.newBuilder().setRobotId(robotId).setEmbodiment(embodiment).build();
    this.world = new TabletopWorld(seed, new WorldConfig(blocks, true));
  }

  /** Who this robot is: its id and embodiment, as sent in the agent's hello and the session's open. */
  public RobotIdentity identity() {
    return identity;
  }

  /** A copy of the world's state now. */
  public WorldState snapshot() {
    synchronized (world) {
      return world.snapshot();
    }
  }

  /** Whether {@code task} is achieved in the world now. */
  public boolean satisfies(String task) {
    Task parsed = Instructions.parseTask(task);
    return SuccessPredicates.isSatisfied(parsed, snapshot());
  }

  /** Reasons the robot was told to hold or held on its own, in order. */
  public List<String> holds() {
    return List.copyOf(holds);
  }

  /** Every message the gateway sent in the last session, in order. */
  public List<GatewayMessage> received() {
    return List.copyOf(received);
  }

  /** The end effector at each camera frame of the last session: {seconds since it began, x, y, z} (metres). */
  public List<double[]> trajectory() {
    return List.copyOf(trajectory);
  }

  /** Setpoints applied to the world so far. */
  public long setpointsApplied() {
    return setpointsApplied;
  }

  // ------------------------------------------------------------------ RobotHardware

  @Override
  public RobotState state() {
    synchronized (world) {
      world.writeProprio(proprio);
    }
    return toState(proprio, Instant.now());
  }

  @Override
  public void command(Setpoint setpoint) {
    var target = setpoint.getTarget();
    synchronized (world) {
      position[0] = target.getPosition().getX();
      position[1] = target.getPosition().getY();
      position[2] = target.getPosition().getZ();
      orientation[0] = target.getOrientation().getX();
      orientation[1] = target.getOrientation().getY();
      orientation[2] = target.getOrientation().getZ();
      orientation[3] = target.getOrientation().getW();
      world.commandPose(position, orientation, setpoint.getGripper());
    }
    setpointsApplied++; // The agent applies setpoints one at a time, under its lock.
  }

  @Override
  public void hold(String reason) {
    // The kinematic arm stays where the last setpoint put it: holding needs no action.
    holds.add(reason);
  }

  // ------------------------------------------------------------------ running a task

  /**
   * Connects this robot's agent to the controller bridge (state at 100 Hz, setpoints in frames
   * played at 250 Hz — the kinematic arm needs no finer commands —, holding after 30 ms without a
   * setpoint, reconnecting per {@link ReconnectPolicy#defaults()}); close it to disconnect.
   */
  public RobotAgent connectAgent(Channel controller) {
    return connectAgent(controller, ReconnectPolicy.defaults());
  }

  /** As {@link #connectAgent(Channel)}, reconnecting a lost link per {@code reconnect}. */
  public RobotAgent connectAgent(Channel controller, ReconnectPolicy reconnect) {
    return RobotAgent.builder(controller, identity, this).stateRate(100).playoutRate(250)
        .holdAfter(Duration.ofMillis(30))
        .reconnect(reconnect).connect();
  }

  /**
   * Waits until the bridge drives this robot (its agent reports and it is not halted). A robot
   * whose link dropped while it connected (the bridge halts it: LINK_LOSS) is resumed once, as an
   * operator would after checking the cell, since the simulated arm cannot have moved on its own.
   *
   * @throws IllegalStateException if the bridge does not get ready in time, with its last state
   */
  public void awaitDriven(Channel controller, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    ExecutionMode last = null;
    boolean resumed = false;
    while (System.nanoTime() < deadline) {
      try {
        ExecutionState state = ControllerBridgeGrpc.newBlockingStub(controller).withDeadlineAfter(2, TimeUnit.SECONDS)
            .streamState(StreamStateRequest.newBuilder().setRobotId(identity.getRobotId()).build()).next();
        last = state.getMode();
        // Linked and reporting there (a measured state): a bridge takes Execute streams only for a robot
        // whose agent is linked to it.
        if ((last == ExecutionMode.EXECUTION_MODE_IDLE || last == ExecutionMode.EXECUTION_MODE_HOLDING)
            && state.hasMeasured()) {
          return;
        }
        if (last == ExecutionMode.EXECUTION_MODE_HALTED && !resumed) {
          ControllerBridgeGrpc.newBlockingStub(controller).withDeadlineAfter(2, TimeUnit.SECONDS)
              .resume(ResumeRequest.newBuilder().setRobotId(identity.getRobotId()).build());
          holds.add("resumed after a halt while connecting");
          resumed = true;
        }
      } catch (StatusRuntimeException notYet) {
        // The agent's state has not arrived yet (Resume refuses while the link is down): retry.
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("controller-bridge does not drive robot " + identity.getRobotId() + " after "
        + timeout.toMillis() + " ms (last mode " + last + ")");
  }

  /**
   * Opens a session for {@code task} and streams frames until the session ends or {@code timeout}
   * passes. The agent must be connected already.
   *
   * @return the session, finished or not
   */
  public GatewaySession runTask(Channel gateway, String task, Duration timeout) throws InterruptedException {
    return runTask(gateway, task, timeout, GatewaySession.Options.defaults());
  }

  /**
   * As {@link #runTask(Channel, String, Duration)}, with the session's {@code options} (the robot's
   * clock, clock probing).
   *
   * @return the session, finished or not
   */
  public GatewaySession runTask(Channel gateway, String task, Duration timeout, GatewaySession.Options options)
      throws InterruptedException {
    Camera camera = new Camera();
    clearRecords();
    GatewaySession session = GatewaySession.open(gateway, taskOpen(task), camera, options);
    try {
      camera.run(session::send, session::finished, timeout);
    } catch (InterruptedException stopped) {
      // A robot whose camera stops ends its session rather than leave the gateway driving it blind.
      session.cancel("the robot stopped its camera");
      throw stopped;
    }
    return session;
  }

  /**
   * As {@link #runTask(Channel, String, Duration)}, keeping the task across lost sessions with a
   * {@link SessionReopener}: a gateway that shuts down hands the robot a resume token, and the
   * robot goes on with the same subgoal on whichever gateway {@code gateway} reaches next. Each
   * such hand-over's gap is in {@link #handoverGaps()}.
   *
   * @return the reopener, ended or not
   */
  public SessionReopener runTaskResuming(Channel gateway, String task, Duration timeout, ReconnectPolicy reconnect)
      throws InterruptedException {
    Camera camera = new Camera();
    clearRecords();
    SessionReopener reopener = SessionReopener.open(gateway, taskOpen(task), camera,
        GatewaySession.Options.defaults(), reconnect);
    try {
      camera.run(reopener::send, () -> reopener.driving().ended(), timeout);
    } catch (InterruptedException stopped) {
      reopener.cancel("the robot stopped its camera");
      throw stopped;
    }
    return reopener;
  }

  /**
   * For each time a gateway handed this robot over (a hold carrying a resume token, as a
   * shutting-down gateway sends), the time from the last chunk forwarded to the robot's bridge
   * before it to the first one after it: how long no new motion came. Hand-overs not yet followed
   * by a chunk are not counted.
   */
  public List<Duration> handoverGaps() {
    return handovers.stream().map(Handover::gap).toList();
  }

  /** Each hand-over's gap (see {@link #handoverGaps()}) and where it went. */
  public List<Handover> handovers() {
    return List.copyOf(handovers);
  }

  /**
   * One hand-over as the robot saw it: the gap without new motion, made of the time from the last
   * chunk to the gateway's hold, from the hold to the next gateway's SessionAccepted (drain,
   * reconnect, resume), and from there to the first chunk forwarded (the next frame, the policy,
   * the bridge).
   */
  public record Handover(Duration gap, Duration lastChunkToHold, Duration holdToAccepted, Duration acceptedToChunk) {
    @Override
    public String toString() {
      return gap.toMillis() + " ms (" + lastChunkToHold.toMillis() + " + " + holdToAccepted.toMillis() + " + "
          + acceptedToChunk.toMillis() + ")";
    }
  }

  /**
   * Asks the gateway, in the sessions opened from now on, to continue the executing motion with
   * each new chunk as {@code continuation} says (UNSPECIFIED: the gateway's default).
   */
  public SimulatedRobot chunkContinuation(ChunkContinuation continuation) {
    this.chunkContinuation = continuation;
    return this;
  }

  /** Asks, in the sessions opened from now on, to be recorded in full (SessionOpen.record). */
  public SimulatedRobot recordSessions(boolean record) {
    this.recordSessions = record;
    return this;
  }

  private SessionOpen taskOpen(String task) {
    return SessionOpen.newBuilder().setRobot(identity).setTask(task).setReportsSuccess(true).setReportSteps(true)
        .setChunkContinuation(chunkContinuation).setRecord(recordSessions).build();
  }

  private void clearRecords() {
    received.clear();
    trajectory.clear();
    handovers.clear();
  }

  /** Renders frames at the gateway's rate and judges the current subgoal with the simulator's predicates. */
  private final class Camera implements GatewaySession.Listener {
    private final Map<String, String> instructions = new HashMap<>();
    private volatile SessionAccepted accepted;
    private volatile String currentSubgoal;
    private volatile Subgoal currentSkill;
    private volatile WorldState subgoalStart;
    /** When the last chunk was forwarded, System.nanoTime(); -1 before the first. */
    private volatile long lastStepNanos = -1;
    /** The last chunk before a hand-over began, or -1 when none is under way. */
    private volatile long handoverFromNanos = -1;
    /** During a hand-over: when the hold came, and when the next gateway accepted (-1 before). */
    private volatile long handoverHoldNanos = -1;
    private volatile long handoverAcceptedNanos = -1;

    @Override
    public void onAccepted(SessionAccepted message) {
      if (handoverFromNanos >= 0 && handoverAcceptedNanos < 0) {
        handoverAcceptedNanos = System.nanoTime();
      }
      received.add(GatewayMessage.newBuilder().setAccepted(message).build());
      accepted = message;
    }

    @Override
    public void onPlan(Plan plan) {
      received.add(GatewayMessage.newBuilder().setPlan(plan).build());
      synchronized (instructions) {
        plan.getSubgoalsList().forEach(s -> instructions.put(s.getId(), s.getInstruction()));
      }
    }

    @Override
    public void onSubgoal(SubgoalEvent event) {
      received.add(GatewayMessage.newBuilder().setSubgoal(event).build());
      if (event.getStatus() == SubgoalStatus.SUBGOAL_STATUS_STARTED) {
        String instruction;
        synchronized (instructions) {
          instruction = instructions.get(event.getSubgoalId());
        }
        Subgoal skill = null;
        try {
          skill = instruction == null ? null : Instructions.parseSubgoal(instruction);
        } catch (IllegalArgumentException notASimulatorSkill) {
          // Judged by the gateway's budget instead.
        }
        subgoalStart = snapshot();
        currentSkill = skill;
        currentSubgoal = event.getSubgoalId();
      } else if (event.getSubgoalId().equals(currentSubgoal)) {
        currentSubgoal = null;
        currentSkill = null;
      }
    }

    @Override
    public void onState(io.vlaserve.controller.v1.ExecutionState state) {
      received.add(GatewayMessage.newBuilder().setState(state).build());
    }

    @Override
    public void onSafetyEvent(io.vlaserve.controller.v1.SafetyEvent event) {
      received.add(GatewayMessage.newBuilder().setSafetyEvent(event).build());
    }

    @Override
    public void onStepForwarded(io.vlaserve.planner.v1.StepForwarded step) {
      long now = System.nanoTime();
      received.add(GatewayMessage.newBuilder().setStepForwarded(step).build());
      if (handoverFromNanos >= 0) {
        long acceptedAt = handoverAcceptedNanos >= 0 ? handoverAcceptedNanos : now;
        handovers.add(new Handover(Duration.ofNanos(now - handoverFromNanos),
            Duration.ofNanos(handoverHoldNanos - handoverFromNanos), Duration.ofNanos(acceptedAt - handoverHoldNanos),
            Duration.ofNanos(now - acceptedAt)));
        handoverFromNanos = -1;
      }
      lastStepNanos = now;
    }

    @Override
    public void onHold(io.vlaserve.planner.v1.HoldNotice hold) {
      received.add(GatewayMessage.newBuilder().setHold(hold).build());
      holds.add("gateway: " + hold.getReason());
      if (!hold.getResumeToken().isEmpty() && lastStepNanos >= 0 && handoverFromNanos < 0) {
        handoverHoldNanos = System.nanoTime();
        handoverAcceptedNanos = -1;
        handoverFromNanos = lastStepNanos;
      }
    }

    @Override
    public void onOutcome(io.vlaserve.planner.v1.SessionOutcome outcome) {
      received.add(GatewayMessage.newBuilder().setOutcome(outcome).build());
    }

    /** Streams frames to {@code session} until {@code finished} or the timeout. */
    void run(java.util.function.Consumer<RobotObservation> session, java.util.function.BooleanSupplier finished,
        Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (accepted == null && !finished.getAsBoolean() && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      if (accepted == null) {
        return;
      }
      CameraRequirement requirement = accepted.getCamerasCount() > 0 ? accepted.getCameras(0)
          : CameraRequirement.newBuilder().setName(CAMERA).setWidth(64).setHeight(64).build();
      TabletopRenderer renderer = new TabletopRenderer(CameraConfig.of(requirement.getWidth(),
          requirement.getHeight()));
      byte[] frame = renderer.newFrame();
      long periodNanos = accepted.hasObservationPeriod()
          ? ProtoTimes.nanos(accepted.getObservationPeriod())
          : 100_000_000L;
      long sequence = 0;
      long next = System.nanoTime();
      long sessionStart = next;
      while (!finished.getAsBoolean() && System.nanoTime() < deadline) {
        Instant captured = Instant.now();
        WorldState now;
        synchronized (world) {
          renderer.render(world, frame);
          world.writeProprio(proprio);
          now = world.snapshot();
        }
        trajectory.add(new double[] {(System.nanoTime() - sessionStart) * 1e-9, now.eePosition().x(),
            now.eePosition().y(), now.eePosition().z()});
        RobotObservation.Builder observation = RobotObservation.newBuilder().setObservation(Observation.newBuilder()
            .setSequence(++sequence)
            .setCaptureTime(timestamp(captured))
            .addImages(Image.newBuilder().setCamera(requirement.getName().isEmpty() ? CAMERA : requirement.getName())
                .setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8)
                .setWidth(requirement.getWidth()).setHeight(requirement.getHeight())
                .setData(ByteString.copyFrom(frame)))
            .setState(toState(proprio, captured)));
        String subgoal = currentSubgoal;
        Subgoal skill = currentSkill;
        if (subgoal != null && skill != null && SuccessPredicates.isSatisfied(skill, subgoalStart, now)) {
          observation.addSignals(SubgoalSignal.newBuilder().setSubgoalId(subgoal).setSucceeded(true)
              .setDetail("simulator predicate for '" + skill.instruction() + "' holds"));
        }
        session.accept(observation.build());
        next += periodNanos;
        long sleep = next - System.nanoTime();
        if (sleep > 0) {
          Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        } else {
          next = System.nanoTime();
        }
      }
    }
  }

  private static RobotState toState(double[] p, Instant time) {
    return RobotState.newBuilder()
        .setTime(timestamp(time))
        .setEndEffector(Pose.newBuilder()
            .setPosition(Vector3.newBuilder().setX(p[0]).setY(p[1]).setZ(p[2]))
            .setOrientation(Quaternion.newBuilder().setX(p[3]).setY(p[4]).setZ(p[5]).setW(p[6])))
        .setGripper(p[7])
        .build();
  }

  private static Timestamp timestamp(Instant time) {
    return ProtoTimes.timestamp(time);
  }
}
