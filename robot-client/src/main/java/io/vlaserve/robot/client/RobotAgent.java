package io.vlaserve.robot.client;

import io.vlaserve.proto.ProtoTimes;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.AgentHello;
import io.vlaserve.controller.v1.AgentMessage;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.RobotAgentLinkGrpc;
import io.vlaserve.controller.v1.Setpoint;
import io.vlaserve.controller.v1.SetpointFrame;
import io.vlaserve.controller.v1.SetpointRefused;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;

/**
 * The robot side of the controller bridge's remote driver ({@code vla.controller.v1.RobotAgentLink}):
 * streams the robot's state at a fixed rate, forwards each setpoint to the {@link RobotHardware},
 * and holds the robot on its own when setpoints stop for {@code holdAfter}, when the bridge says
 * hold, or at once when the link is lost.
 *
 * <p><b>Frames.</b> The agent asks for setpoints in frames ({@code SetpointFrame}, e.g. ten at
 * 1 kHz per message; {@link Builder#maxFrameSetpoints}) and plays each on its own clock at its time,
 * about one frame after the bridge made it ({@link SetpointPlayout}), commanding the hardware at
 * up to {@link Builder#playoutRate} (every setpoint that fell due since the last command, in order).
 * A frame is checked setpoint by setpoint when it arrives; a hold discards what has not been
 * played. A bridge that sends single setpoints is followed as they arrive.
 *
 * <p><b>Nothing reaches the robot unchecked.</b> The bridge announces its safety limits after
 * {@code hello} and whenever they change; every setpoint is checked against them
 * ({@link SetpointCheck}: finite, a unit quaternion, the gripper in 0..1, inside the workspace box,
 * within the linear and angular velocity limits) before {@link RobotHardware#command} sees it. A
 * setpoint that fails, or arrives before any limits, is refused: the robot is told to hold, the
 * bridge gets a {@code setpoint_refused} naming the field, its value and why, and halts the robot
 * (SAFETY_EVENT_KIND_SETPOINT_REFUSED). Until the bridge's hold command confirms the halt, further
 * setpoints (already in flight) are dropped; after an operator's Resume the bridge sends setpoints
 * again and each is checked as usual.
 *
 * <p><b>Connection life.</b> A lost link (the bridge restarting, the connection dropping) is
 * reconnected after an exponential, jittered backoff ({@link ReconnectPolicy}); every new link
 * starts with a fresh {@code hello}. The agent gives up, {@link LinkState#CLOSED} with a clear
 * {@link #closedWith() status}, when the link has been down for the policy's give-up time or at
 * once on a status no retry can fix (NOT_FOUND: the bridge does not know the robot;
 * INVALID_ARGUMENT; PERMISSION_DENIED; ...). The give-up clock starts at the first failure after
 * the bridge was last heard from. After a reconnect the bridge keeps the robot halted (it saw a
 * link loss) until someone resumes it; the agent follows whatever setpoints it then sends.
 *
 * <p>One platform thread per agent plays setpoints, reports state, watches for missing setpoints
 * and opens new links. Thread-safe; {@link #close} ends the link for good.
 */
public final class RobotAgent implements AutoCloseable {
  /** Where the link to the bridge stands. */
  public enum LinkState {
    /** A link is open and its hello sent; nothing heard from the bridge yet. */
    CONNECTING,
    /** The bridge is talking: setpoints or hold commands arrive. */
    CONNECTED,
    /** The link was lost; waiting out the backoff before the next attempt. The robot holds. */
    RECONNECTING,
    /** Final: closed by the robot, given up, or refused for good (see {@link #closedWith()}). The robot holds. */
    CLOSED
  }

  /** Told of every link state change, on the agent's or gRPC threads; must not block. */
  public interface Listener {
    /**
     * The link moved to {@code state}.
     *
     * @param cause the status that caused it (the lost link's error, the final status), or OK
     */
    void onLinkState(LinkState state, Status cause);
  }

  /** Settings for an agent; {@link #connect()} starts it. Not thread-safe. */
  public static final class Builder {
    private final Channel channel;
    private final RobotIdentity robot;
    private final RobotHardware hardware;
    private double stateRateHz = 100;
    private int maxFrameSetpoints = 50;
    private double playoutRateHz = 1000;
    private Duration playoutMargin = Duration.ofMillis(3);
    private Duration holdAfter = Duration.ofMillis(50);
    private ReconnectPolicy reconnect = ReconnectPolicy.defaults();
    private Listener listener = (state, cause) -> { };
    private RandomGenerator random = RandomGenerator.getDefault();

    private Builder(Channel channel, RobotIdentity robot, RobotHardware hardware) {
      this.channel = Objects.requireNonNull(channel, "channel");
      this.robot = Objects.requireNonNull(robot, "robot");
      this.hardware = Objects.requireNonNull(hardware, "hardware");
    }

    /**
     * The most setpoints the bridge may send in one frame (default 50); 1 asks for one setpoint per
     * message. The bridge sends at most its own {@code agent-frame} of control time per frame.
     */
    public Builder maxFrameSetpoints(int value) {
      if (value < 1 || value > SetpointPlayout.CAPACITY / 4) {
        throw new IllegalArgumentException("maxFrameSetpoints: " + value + " (expected: 1.." + SetpointPlayout.CAPACITY / 4 + ")");
      }
      maxFrameSetpoints = value;
      return this;
    }

    /**
     * How often the agent commands the hardware with the setpoints of frames that fell due, Hz
     * (default 1000: each setpoint at its own tick at 1 kHz). A lower rate commands several at once.
     */
    public Builder playoutRate(double hz) {
      if (!(hz > 0) || hz > 10_000) {
        throw new IllegalArgumentException("playoutRate: " + hz + " (expected 0 < rate <= 10000)");
      }
      playoutRateHz = hz;
      return this;
    }

    /**
     * How long after an on-time frame arrives its first setpoint plays (default 3 ms): the delivery
     * jitter the playout absorbs; a frame later than that plays its overdue setpoints at once.
     */
    public Builder playoutMargin(Duration value) {
      if (value.isNegative() || value.compareTo(Duration.ofMillis(100)) > 0) {
        throw new IllegalArgumentException("playoutMargin: " + value + " (expected: 0..100 ms)");
      }
      playoutMargin = value;
      return this;
    }

    /** How often the robot's state is sent, Hz (default 100). */
    public Builder stateRate(double hz) {
      if (!(hz > 0) || hz > 10_000) {
        throw new IllegalArgumentException("stateRateHz: " + hz + " (expected 0 < rate <= 10000)");
      }
      stateRateHz = hz;
      return this;
    }

    /**
     * How long without a setpoint before the robot holds on its own (default 50 ms); keep it above
     * the bridge's frame period plus the playout margin (13 ms by default) and at most its link
     * timeout (50 ms by default).
     */
    public Builder holdAfter(Duration value) {
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException("holdAfter: " + value + " (expected: > 0)");
      }
      holdAfter = value;
      return this;
    }

    /** How to reconnect a lost link (default {@link ReconnectPolicy#defaults()}). */
    public Builder reconnect(ReconnectPolicy policy) {
      reconnect = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** Told of link state changes. */
    public Builder listener(Listener value) {
      listener = Objects.requireNonNull(value, "listener");
      return this;
    }

    /** The source of the backoff's jitter (injected for repeatable tests). */
    public Builder random(RandomGenerator value) {
      random = Objects.requireNonNull(value, "random");
      return this;
    }

    /** Opens the link and starts reporting state. */
    public RobotAgent connect() {
      return new RobotAgent(this);
    }
  }

  private final Channel channel;
  private final RobotIdentity robot;
  private final RobotHardware hardware;
  private final double stateRateHz;
  private final long statePeriodNanos;
  private final long tickNanos;
  private final int maxFrameSetpoints;
  private final Duration holdAfter;
  private final long holdAfterNanos;
  private final ReconnectPolicy reconnect;
  private final Listener listener;
  private final RandomGenerator random;
  private final Thread reporter;
  private final AtomicLong setpoints = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong links = new AtomicLong();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();

  // Guarded by this.
  private Link link;
  private LinkState state = LinkState.CONNECTING;
  private int attempt;
  private long failingSinceNanos = -1;
  private long nextAttemptNanos;
  private boolean holding = true;
  private final SetpointCheck check = new SetpointCheck();
  private final SetpointPlayout playout;
  // After a refusal: setpoints are dropped until the bridge's hold command shows it has halted.
  private boolean awaitingHalt;
  private long lastSetpointNanos = System.nanoTime();
  private volatile boolean running = true;
  private volatile Status closedWith;

  private RobotAgent(Builder builder) {
    this.channel = builder.channel;
    this.robot = builder.robot;
    this.hardware = builder.hardware;
    this.stateRateHz = builder.stateRateHz;
    this.statePeriodNanos = Math.round(1e9 / builder.stateRateHz);
    this.tickNanos = Math.min(statePeriodNanos, Math.round(1e9 / builder.playoutRateHz));
    this.maxFrameSetpoints = builder.maxFrameSetpoints;
    this.playout = new SetpointPlayout(builder.playoutMargin.toNanos());
    this.holdAfter = builder.holdAfter;
    this.holdAfterNanos = builder.holdAfter.toNanos();
    this.reconnect = builder.reconnect;
    this.listener = builder.listener;
    this.random = builder.random;
    synchronized (this) {
      openLink();
    }
    reporter = Thread.ofPlatform().daemon(true).name("robot-agent-" + robot.getRobotId()).start(this::run);
  }

  /**
   * Runs {@code seconds} of made-up 1 kHz setpoint frames through the agent's own path (parsing, the
   * setpoint check, the playout) so that the JIT has compiled it before a real robot's setpoints
   * arrive; touches no network and no hardware. Call once per process before connecting, e.g. at
   * start-up (a few seconds' worth takes well under a second).
   *
   * @return how many setpoints were played
   */
  public static long warmUp(int seconds) {
    if (seconds < 0) {
      throw new IllegalArgumentException("seconds: " + seconds + " (expected: >= 0)");
    }
    return AgentWarmUp.run(seconds);
  }

  /** Settings for an agent connecting {@code hardware} to the bridge behind {@code channel} as {@code robot}. */
  public static Builder builder(Channel channel, RobotIdentity robot, RobotHardware hardware) {
    return new Builder(channel, robot, hardware);
  }

  /**
   * Connects {@code hardware} to the bridge behind {@code channel} as robot {@code robot}, reconnecting
   * with {@link ReconnectPolicy#defaults()}.
   *
   * @param stateRateHz how often the robot's state is sent
   * @param holdAfter how long without a setpoint before the robot holds on its own; keep it above
   *     the bridge's control period and below its link timeout
   */
  public static RobotAgent connect(Channel channel, RobotIdentity robot, RobotHardware hardware, double stateRateHz,
      Duration holdAfter) {
    return builder(channel, robot, hardware).stateRate(stateRateHz).holdAfter(holdAfter).connect();
  }

  /** Setpoints applied so far, over every link. */
  public long setpoints() {
    return setpoints.get();
  }

  /** Setpoints refused by the agent's own check so far ({@link SetpointCheck}), over every link. */
  public long refused() {
    return refused.get();
  }

  /** Links opened so far: 1, then one more per reconnect attempt. */
  public long links() {
    return links.get();
  }

  /** Whether the robot is holding on its own (no setpoints for holdAfter, told to hold, or link down). */
  public synchronized boolean holding() {
    return holding;
  }

  /** Where the link stands now. */
  public synchronized LinkState linkState() {
    return state;
  }

  /** The final status once {@link LinkState#CLOSED} (OK when closed by the robot), else null. */
  public Status closedWith() {
    return closedWith;
  }

  /**
   * Waits until the agent is closed for good and returns its final status.
   *
   * @throws TimeoutException if it is still trying after {@code timeout}
   */
  public Status awaitClosed(Duration timeout) throws TimeoutException, InterruptedException {
    try {
      return closed.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  /** Ends the link for good: the robot holds and the agent never reconnects. */
  @Override
  public void close() {
    Link current;
    synchronized (this) {
      if (state == LinkState.CLOSED) {
        return;
      }
      current = link;
    }
    if (current != null) {
      current.complete();
    }
    finish(Status.OK, "agent closed");
    reporter.interrupt();
  }

  // ------------------------------------------------------------------ the agent's thread

  private void run() {
    long next = System.nanoTime();
    long nextState = next;
    List<Setpoint> due = new ArrayList<>();
    while (running) {
      long now = System.nanoTime();
      Link current;
      synchronized (this) {
        current = link;
        if (current != null && !awaitingHalt) {
          playout.drain(now, due::add);
          for (Setpoint setpoint : due) {
            command(setpoint, now);
          }
          due.clear();
        }
      }
      if (current != null && now - nextState >= 0) {
        nextState += statePeriodNanos;
        if (now - nextState > statePeriodNanos) {
          nextState = now;
        }
        try {
          current.send(AgentMessage.newBuilder().setState(hardware.state()).build());
        } catch (RuntimeException e) {
          current.cancel("reading or sending the robot's state failed", e);
        }
      }
      now = System.nanoTime();
      synchronized (this) {
        if (!holding && now - lastSetpointNanos > holdAfterNanos) {
          holdLocked("no setpoint for " + holdAfter.toMillis() + " ms (link loss)");
        }
        if (state == LinkState.RECONNECTING && now - nextAttemptNanos >= 0) {
          openLink();
        }
      }
      next += tickNanos;
      long sleep = next - System.nanoTime();
      if (sleep > 0) {
        try {
          Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        } catch (InterruptedException e) {
          return;
        }
      } else {
        next = System.nanoTime();
      }
    }
  }

  /** Commands one checked setpoint now. Called with the lock held. */
  private void command(Setpoint setpoint, long nowNanos) {
    lastSetpointNanos = nowNanos;
    holding = false;
    hardware.command(setpoint);
    setpoints.incrementAndGet();
  }

  /** Opens a new link and sends its hello. Called with the lock held. */
  private void openLink() {
    if (links.get() > 0 && channel instanceof ManagedChannel managed) {
      // Our backoff paces the attempts; within the channel's own (up to 2 minutes) they would fail fast.
      managed.resetConnectBackoff();
    }
    Link next = new Link();
    link = next;
    // A new link's bridge announces its own limits; nothing is followed before they arrive.
    check.forgetLimits();
    playout.reset();
    awaitingHalt = false;
    links.incrementAndGet();
    RobotAgentLinkGrpc.newStub(channel).connect(next);
    next.send(AgentMessage.newBuilder().setHello(AgentHello.newBuilder()
        .setRobot(robot)
        .setStateRateHz(stateRateHz)
        .setHoldAfter(ProtoTimes.duration(holdAfter))
        .setMaxFrameSetpoints(maxFrameSetpoints))
        .build());
    setState(LinkState.CONNECTING, Status.OK);
  }

  private void setState(LinkState next, Status cause) {
    if (state != next) {
      state = next;
      listener.onLinkState(next, cause);
    }
  }

  private void holdLocked(String reason) {
    // Wherever the robot stops is not where the last setpoint was: rates restart from the next one,
    // and nothing made before the hold plays after it.
    check.reset();
    playout.reset();
    if (!holding) {
      holding = true;
      hardware.hold(reason);
    }
  }

  /** The link {@code ended} failed or closed: hold at once, then retry or give up. */
  private void lost(Link ended, Status status) {
    Status finalStatus = null;
    String finalReason = null;
    synchronized (this) {
      if (ended != link || state == LinkState.CLOSED) {
        return;
      }
      link = null;
      holdLocked("link to the controller bridge lost (" + describe(status) + ")");
      long now = System.nanoTime();
      if (ended.heard || failingSinceNanos < 0) {
        failingSinceNanos = now;
        attempt = 0;
      }
      if (!reconnect.retryable(status)) {
        finalStatus = status.isOk() ? Status.UNAVAILABLE.withDescription("the controller bridge closed the link")
            : status;
        finalReason = "the controller bridge refused the link: " + describe(status);
      } else if (!reconnect.keepTrying(now - failingSinceNanos)) {
        finalStatus = Status.UNAVAILABLE.withDescription("gave up reconnecting to the controller bridge after "
            + TimeUnit.NANOSECONDS.toMillis(now - failingSinceNanos) + " ms; last error: " + describe(status))
            .withCause(status.getCause());
        finalReason = "gave up reconnecting";
      } else {
        nextAttemptNanos = now + reconnect.backoff(attempt++, random).toNanos();
        setState(LinkState.RECONNECTING, status);
      }
    }
    if (finalStatus != null) {
      finish(finalStatus, finalReason);
    }
  }

  private void finish(Status status, String reason) {
    synchronized (this) {
      if (state == LinkState.CLOSED) {
        return;
      }
      running = false;
      link = null;
      closedWith = status;
      holdLocked(reason);
      setState(LinkState.CLOSED, status);
    }
    closed.complete(status);
  }

  private static String describe(Status status) {
    return status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
  }

  /** One stream to the bridge: requests written under its own lock, responses checked against the current link. */
  private static final long MAX_SILENCE_NANOS = 10_000_000L;

  private final class Link implements ClientResponseObserver<AgentMessage, BridgeMessage> {
    private ClientCallStreamObserver<AgentMessage> requests;
    private boolean done;
    private volatile boolean heard;
    private long lastSentNanos;

    @Override
    public void beforeStart(ClientCallStreamObserver<AgentMessage> requestStream) {
      requests = requestStream;
    }

    /** Sends if the transport is ready (or has been silent too long); otherwise a state report is skipped. */
    synchronized void send(AgentMessage message) {
      // Skip a report while the transport is backed up, but never go silent for long: the bridge
      // declares the link lost (and halts the robot) when state stops arriving.
      long now = System.nanoTime();
      // Hello and refusals are never skipped: the bridge must learn that the robot holds.
      if (!done && (message.hasHello() || message.hasSetpointRefused() || requests.isReady()
          || now - lastSentNanos > MAX_SILENCE_NANOS)) {
        requests.onNext(message);
        lastSentNanos = now;
      }
    }

    synchronized void complete() {
      if (!done) {
        done = true;
        requests.onCompleted();
      }
    }

    synchronized void cancel(String why, Throwable cause) {
      if (!done) {
        done = true;
        requests.cancel(why, cause);
      }
    }

    @Override
    public void onNext(BridgeMessage message) {
      heard = true;
      synchronized (RobotAgent.this) {
        if (link != this) {
          return; // A late message from a link already given up on must not move the robot.
        }
        setState(LinkState.CONNECTED, Status.OK);
        switch (message.getMessageCase()) {
          case SETPOINT -> follow(message.getSetpoint());
          case FRAME -> follow(message.getFrame());
          case HOLD -> {
            awaitingHalt = false;
            holdLocked("bridge: " + message.getHold().getReason());
          }
          case LIMITS -> {
            String problem = check.announce(message.getLimits());
            if (problem != null) {
              // Every setpoint is refused until usable limits arrive, and each refusal names the problem.
              holdLocked(problem);
            }
          }
          case MESSAGE_NOT_SET -> { }
        }
      }
    }

    /** Checks a setpoint and either commands it at once or refuses it. Called with the agent's lock held. */
    private void follow(Setpoint setpoint) {
      if (accept(setpoint)) {
        command(setpoint, System.nanoTime());
      }
    }

    /**
     * Checks a frame's setpoints in order and queues those before the first refused one for playout
     * (none after a refusal: the robot holds). Called with the agent's lock held.
     */
    private void follow(SetpointFrame frame) {
      long arrival = System.nanoTime();
      List<Setpoint> accepted = new ArrayList<>(frame.getSetpointsCount());
      for (Setpoint setpoint : frame.getSetpointsList()) {
        if (!accept(setpoint)) {
          return;
        }
        accepted.add(setpoint);
      }
      playout.offer(accepted, arrival);
    }

    /**
     * Checks a setpoint; a refused one makes the robot hold and is reported to the bridge. Called
     * with the agent's lock held.
     *
     * @return whether the robot may follow it
     */
    private boolean accept(Setpoint setpoint) {
      if (awaitingHalt) {
        return false; // Sent before the bridge learned of the refusal: the robot keeps holding.
      }
      SetpointCheck.Refusal refusal = check.check(setpoint);
      if (refusal == null) {
        return true;
      }
      refused.incrementAndGet();
      awaitingHalt = true;
      check.reset();
      playout.reset();
      holding = true;
      hardware.hold("setpoint " + refusal.sequence() + " refused: " + refusal.describe());
      send(AgentMessage.newBuilder().setSetpointRefused(SetpointRefused.newBuilder()
          .setSequence(refusal.sequence())
          .setField(refusal.field())
          .setValue(refusal.value())
          .setReason(refusal.reason()))
          .build());
      return false;
    }

    @Override
    public void onError(Throwable t) {
      synchronized (this) {
        done = true;
      }
      lost(this, Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      complete();
      // A bridge that ends the stream cleanly is going away (shutting down): worth a retry.
      lost(this, Status.UNAVAILABLE.withDescription("the controller bridge closed the link"));
    }
  }
}
