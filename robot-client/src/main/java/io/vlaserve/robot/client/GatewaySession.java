package io.vlaserve.robot.client;

import io.vlaserve.proto.ProtoTimes;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.planner.v1.ClockProbe;
import io.vlaserve.planner.v1.ClockProbeReply;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.HoldNotice;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.PlannerGatewayGrpc;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.StepForwarded;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.planner.v1.SubgoalStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A robot's session with the planner gateway ({@code vla.planner.v1.PlannerGateway.RobotSession}):
 * opens it with a task, streams observations, and hands every gateway message to a {@link Listener}.
 *
 * <p><b>Observations</b> are flow-controlled: while the transport is not ready the newest
 * observation waits in a single slot and replaces any older one, so a slow link never queues stale
 * frames.
 *
 * <p><b>Driving.</b> {@link #driving()} always says whether the gateway is driving the robot
 * ({@link DriveState#DRIVEN}), the robot must hold ({@link DriveState#HOLD}: opening, planning,
 * told to hold, halted) or the session is over ({@link DriveState#ENDED}, with the reason and the
 * stream's status). A dropped stream ends this session at once with its error; {@link
 * SessionReopener} then resumes it from its newest resume token (SessionAccepted and every
 * SubgoalEvent carry one) on whichever gateway replica answers, or opens a new session for the same
 * task when the token is refused.
 *
 * <p><b>Clock.</b> Once accepted, the session probes the gateway's clock (NTP-style, over this
 * stream) every {@link Options#clockProbePeriod}, quickly at first, and keeps the
 * {@link #clockEstimate() estimate} from the recent probe with the shortest round trip.
 * The gateway answers every probe whatever the session is doing, so the answers double as a
 * heartbeat: after {@link Options#silenceTimeout} without any message the session ends as
 * UNAVAILABLE, even on a channel without keepalive.
 *
 * <p>Thread-safe.
 */
public final class GatewaySession implements AutoCloseable {
  /**
   * Receives the gateway's messages and the session's drive state, on gRPC or timer threads;
   * implementations must not block.
   */
  public interface Listener {
    /** The gateway accepted the session: how to send frames and how often. */
    default void onAccepted(SessionAccepted accepted) {}

    /** A plan, the first one or a replan. */
    default void onPlan(Plan plan) {}

    /** A subgoal started, completed, failed or timed out. */
    default void onSubgoal(SubgoalEvent event) {}

    /** The controller bridge's execution state for this robot. */
    default void onState(ExecutionState state) {}

    /** The bridge's safety gate acted on a setpoint. */
    default void onSafetyEvent(SafetyEvent event) {}

    /** The robot must hold: the gateway cannot drive it for now (see the reason). */
    default void onHold(HoldNotice hold) {}

    /** With {@code SessionOpen.report_steps}: one of this robot's observations became a chunk the bridge now has. */
    default void onStepForwarded(StepForwarded step) {}

    /** The task's outcome; the gateway closes the stream next. */
    default void onOutcome(SessionOutcome outcome) {}

    /** The stream ended: OK after an outcome, else the error (e.g. UNAVAILABLE when the gateway stops). */
    default void onClosed(Status status) {}

    /** The drive state changed (see {@link GatewaySession#driving()}). */
    default void onDriving(Driving driving) {}
  }

  /**
   * How a session runs: the robot's clock (injected so tests can skew it) and clock probing.
   * Immutable.
   *
   * @param clock the robot's clock, which stamps probes
   * @param clockProbePeriod how often to probe the gateway's clock once the estimate has its first
   *     {@code clockWindow} samples (those come quicker); {@link Duration#ZERO} turns probing off
   * @param clockWindow how many recent probes the estimate is chosen from
   * @param silenceTimeout with probing on, how long the gateway may send nothing at all (it answers
   *     every probe, whatever the session is doing) before the session ends as UNAVAILABLE: a dead
   *     peer is then noticed even on a channel without keepalive; {@link Duration#ZERO} never
   */
  public record Options(Clock clock, Duration clockProbePeriod, int clockWindow, Duration silenceTimeout) {
    /** Validates the options. */
    public Options {
      Objects.requireNonNull(clock, "clock");
      if (clockProbePeriod == null || clockProbePeriod.isNegative()) {
        throw new IllegalArgumentException("clockProbePeriod: " + clockProbePeriod + " (expected: >= 0)");
      }
      if (clockWindow < 1) {
        throw new IllegalArgumentException("clockWindow: " + clockWindow + " (expected: >= 1)");
      }
      if (silenceTimeout == null || silenceTimeout.isNegative()) {
        throw new IllegalArgumentException("silenceTimeout: " + silenceTimeout + " (expected: >= 0)");
      }
    }

    /** The system clock (UTC), a probe every 2 s, the best of the last 8, ended after 15 s of silence. */
    public static Options defaults() {
      return new Options(Clock.systemUTC(), Duration.ofSeconds(2), 8, Duration.ofSeconds(15));
    }

    /** These options with another robot clock. */
    public Options withClock(Clock robotClock) {
      return new Options(robotClock, clockProbePeriod, clockWindow, silenceTimeout);
    }

    /** These options with another probe period ({@link Duration#ZERO}: no probing, no silence check). */
    public Options withClockProbePeriod(Duration period) {
      return new Options(clock, period, clockWindow, silenceTimeout);
    }

    /** These options with another silence timeout ({@link Duration#ZERO}: never). */
    public Options withSilenceTimeout(Duration timeout) {
      return new Options(clock, clockProbePeriod, clockWindow, timeout);
    }
  }

  /** The quicker spacing of the first probes, so an estimate exists within the first second. */
  private static final Duration FIRST_PROBES_SPACING = Duration.ofMillis(100);

  private final Listener listener;
  private final Options options;
  private final ClockEstimator clockEstimator;
  private final CompletableFuture<SessionOutcome> outcome = new CompletableFuture<>();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final AtomicLong droppedObservations = new AtomicLong();
  private final AtomicLong probesSent = new AtomicLong();
  private ClientCallStreamObserver<RobotMessage> requests;
  private RobotMessage pendingObservation;
  private boolean finished;
  private Driving driving = Driving.hold("opening the session: waiting for the gateway to accept it");
  private boolean haltedByRobot;
  private volatile SessionAccepted accepted;
  private volatile Duration retryAfter;
  private ScheduledFuture<?> nextProbe;
  private volatile long lastHeardNanos = System.nanoTime();
  private volatile String silence;

  private GatewaySession(Listener listener, Options options) {
    this.listener = Objects.requireNonNull(listener, "listener");
    this.options = Objects.requireNonNull(options, "options");
    this.clockEstimator = new ClockEstimator(options.clockWindow());
  }

  /**
   * Opens a session on {@code channel} with the default {@link Options}; the gateway answers with
   * {@code accepted} or fails the stream.
   */
  public static GatewaySession open(Channel channel, SessionOpen open, Listener listener) {
    return open(channel, open, listener, Options.defaults());
  }

  /** Opens a session on {@code channel}; the gateway answers with {@code accepted} or fails the stream. */
  public static GatewaySession open(Channel channel, SessionOpen open, Listener listener, Options options) {
    GatewaySession session = new GatewaySession(listener, options);
    PlannerGatewayGrpc.newStub(channel).robotSession(session.new Responses());
    session.sendNow(RobotMessage.newBuilder().setOpen(open).build());
    return session;
  }

  /** Sends an observation, or parks it (replacing an older parked one) until the transport is ready. */
  public void send(RobotObservation observation) {
    RobotMessage message = RobotMessage.newBuilder().setObservation(observation).build();
    synchronized (this) {
      if (finished) {
        return;
      }
      if (requests.isReady() && pendingObservation == null) {
        requests.onNext(message);
      } else {
        if (pendingObservation != null) {
          droppedObservations.incrementAndGet();
        }
        pendingObservation = message;
      }
    }
  }

  /** Asks the gateway to halt the robot (effective within one control tick at the bridge); the robot holds. */
  public void halt(String reason) {
    synchronized (this) {
      if (finished) {
        return;
      }
      haltedByRobot = true;
      requests.onNext(RobotMessage.newBuilder().setHalt(reason).build());
    }
    changeDriving(Driving.hold("halted by the robot: " + reason), true);
  }

  /** Clears a halt; the session counts as driven again once the bridge executes. */
  public void resume() {
    synchronized (this) {
      if (finished) {
        return;
      }
      haltedByRobot = false;
      requests.onNext(RobotMessage.newBuilder().setResume(true).build());
    }
    changeDriving(Driving.hold("resumed: waiting for the bridge to execute"), true);
  }

  /** Gives up on the task: the gateway stops execution and reports CANCELLED. */
  public void cancel(String reason) {
    synchronized (this) {
      if (finished) {
        return;
      }
      requests.onNext(RobotMessage.newBuilder().setCancel(reason).build());
    }
    changeDriving(Driving.hold("cancelling: " + reason), true);
  }

  /** Sends one clock probe now (besides the periodic ones); the reply updates {@link #clockEstimate()}. */
  public void probeClock() {
    long id = probesSent.incrementAndGet();
    synchronized (this) {
      if (!finished) {
        requests.onNext(RobotMessage.newBuilder().setClockProbe(ClockProbe.newBuilder().setProbeId(id)
            .setRobotSendTime(ProtoTimes.timestamp(options.clock().instant()))).build());
      }
    }
  }

  /** The estimate of the gateway's clock relative to the robot's, or empty before the first probe reply. */
  public Optional<ClockEstimate> clockEstimate() {
    return clockEstimator.estimate();
  }

  /** Whether the gateway is driving the robot, the robot must hold, or the session is over, and why. */
  public synchronized Driving driving() {
    return driving;
  }

  /** The gateway's acceptance (frame format, observation period), or null before it. */
  public SessionAccepted accepted() {
    return accepted;
  }

  /**
   * How long the gateway asked the robot to wait before opening again, when it ended the stream
   * with a {@code google.rpc.RetryInfo} (e.g. RESOURCE_EXHAUSTED: the replica is at capacity or the
   * robot over its quota); empty otherwise. The robot holds meanwhile.
   */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  private static Duration retryDelay(Throwable error) {
    com.google.rpc.Status status = io.grpc.protobuf.StatusProto.fromThrowable(error);
    if (status == null) {
      return null;
    }
    for (com.google.protobuf.Any detail : status.getDetailsList()) {
      if (detail.is(com.google.rpc.RetryInfo.class)) {
        try {
          com.google.protobuf.Duration delay = detail.unpack(com.google.rpc.RetryInfo.class).getRetryDelay();
          return Duration.ofSeconds(Math.max(0, delay.getSeconds()), Math.max(0, delay.getNanos()));
        } catch (com.google.protobuf.InvalidProtocolBufferException corrupt) {
          return null;
        }
      }
    }
    return null;
  }

  /** Observations replaced while waiting for the transport. */
  public long droppedObservations() {
    return droppedObservations.get();
  }

  /** Whether the session has ended (outcome received or stream closed). */
  public synchronized boolean finished() {
    return finished;
  }

  /**
   * Waits for the session's outcome.
   *
   * @throws TimeoutException if none arrives in time
   * @throws IllegalStateException if the stream ended without one (its status in the message)
   */
  public SessionOutcome awaitOutcome(Duration timeout) throws TimeoutException, InterruptedException {
    try {
      return outcome.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
    }
  }

  /** Waits for the stream to end and returns its status. */
  public Status awaitClosed(Duration timeout) throws TimeoutException, InterruptedException {
    try {
      return closed.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  /** Ends the session from the robot's side (the gateway stops driving the robot). */
  @Override
  public void close() {
    synchronized (this) {
      if (finished) {
        return;
      }
      finished = true;
      pendingObservation = null;
      requests.onCompleted();
    }
    stopProbing();
    changeDriving(Driving.ended("closed by the robot", Status.CANCELLED.withDescription("closed by the robot")),
        true);
  }

  // ------------------------------------------------------------------ internals

  private synchronized void sendNow(RobotMessage message) {
    if (!finished) {
      requests.onNext(message);
    }
  }

  private synchronized void flushPending() {
    if (!finished && pendingObservation != null && requests.isReady()) {
      requests.onNext(pendingObservation);
      pendingObservation = null;
    }
  }

  /**
   * Moves to {@code next}. Ended is final; a hold or drive replaces the state only when the kind
   * changes or {@code force} (a new reason worth telling, like a hold notice).
   */
  private void changeDriving(Driving next, boolean force) {
    synchronized (this) {
      if (driving.ended() || (!force && driving.state() == next.state())) {
        return;
      }
      driving = next;
    }
    // Outside the lock: a listener taking its own locks must not deadlock with senders.
    listener.onDriving(next);
  }

  private void scheduleProbe(Duration delay) {
    synchronized (this) {
      if (finished) {
        return;
      }
      nextProbe = ClientScheduler.TIMER.schedule(() -> {
        if (silent()) {
          return;
        }
        try {
          probeClock();
        } catch (RuntimeException e) {
          // The stream ended between the check and the write: nothing left to probe.
          return;
        }
        scheduleProbe(probesSent.get() < options.clockWindow()
            ? min(FIRST_PROBES_SPACING, options.clockProbePeriod()) : options.clockProbePeriod());
      }, delay.toNanos(), TimeUnit.NANOSECONDS);
    }
  }

  /** Ends the session if the gateway has been silent too long; returns whether it did. */
  private boolean silent() {
    long quietNanos = System.nanoTime() - lastHeardNanos;
    if (options.silenceTimeout().isZero() || quietNanos <= options.silenceTimeout().toNanos()) {
      return false;
    }
    synchronized (this) {
      if (finished) {
        return true;
      }
      silence = "no message from the gateway for " + TimeUnit.NANOSECONDS.toMillis(quietNanos)
          + " ms, not even a clock probe's answer (the connection or the gateway is dead)";
      // The cancellation comes back through onError, which reports it as the silence.
      requests.cancel(silence, null);
    }
    return true;
  }

  private synchronized void stopProbing() {
    if (nextProbe != null) {
      nextProbe.cancel(false);
    }
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private void onClockReply(ClockProbeReply reply) {
    clockEstimator.add(ProtoTimes.instant(reply.getRobotSendTime()), ProtoTimes.instant(reply.getGatewayReceiveTime()),
        ProtoTimes.instant(reply.getGatewaySendTime()), options.clock().instant());
  }

  private void end(Status status) {
    synchronized (this) {
      finished = true;
      pendingObservation = null;
    }
    stopProbing();
    if (!outcome.isDone()) {
      outcome.completeExceptionally(new IllegalStateException(
          "the session ended without an outcome: " + status.getCode() + " " + status.getDescription()));
    }
    if (status.isOk()) {
      changeDriving(Driving.ended(outcome.isCompletedExceptionally()
          ? "the gateway closed the session without an outcome" : "the session is over", status), true);
    } else {
      changeDriving(Driving.ended("the session stream failed (" + status.getCode()
          + (status.getDescription() == null ? "" : ": " + status.getDescription())
          + "); resume it with its newest resume token, or open a new one", status), true);
    }
    closed.complete(status);
    listener.onClosed(status);
  }

  private void onExecutionState(ExecutionState state) {
    switch (state.getMode()) {
      case EXECUTION_MODE_EXECUTING -> {
        boolean halted;
        synchronized (this) {
          halted = haltedByRobot;
        }
        if (!halted) {
          changeDriving(Driving.driven("the controller bridge is executing"), false);
        }
      }
      case EXECUTION_MODE_HALTED, EXECUTION_MODE_ESTOPPED ->
          changeDriving(Driving.hold("the controller bridge reports " + state.getMode()), false);
      default -> {
        // IDLE and HOLDING come and go between chunks while the session still drives the robot.
      }
    }
  }

  private final class Responses implements ClientResponseObserver<RobotMessage, GatewayMessage> {
    @Override
    public void beforeStart(ClientCallStreamObserver<RobotMessage> requestStream) {
      requests = requestStream;
      requestStream.setOnReadyHandler(GatewaySession.this::flushPending);
    }

    @Override
    public void onNext(GatewayMessage message) {
      lastHeardNanos = System.nanoTime();
      switch (message.getMessageCase()) {
        case ACCEPTED -> {
          accepted = message.getAccepted();
          changeDriving(Driving.hold("accepted: waiting for the plan's first subgoal"), true);
          listener.onAccepted(message.getAccepted());
          if (!options.clockProbePeriod().isZero()) {
            scheduleProbe(Duration.ZERO);
          }
        }
        case PLAN -> listener.onPlan(message.getPlan());
        case SUBGOAL -> {
          SubgoalEvent event = message.getSubgoal();
          boolean halted;
          synchronized (GatewaySession.this) {
            halted = haltedByRobot;
          }
          if (event.getStatus() == SubgoalStatus.SUBGOAL_STATUS_STARTED && !halted) {
            changeDriving(Driving.driven("executing subgoal " + event.getSubgoalId()), true);
          }
          listener.onSubgoal(event);
        }
        case STATE -> {
          onExecutionState(message.getState());
          listener.onState(message.getState());
        }
        case SAFETY_EVENT -> listener.onSafetyEvent(message.getSafetyEvent());
        case HOLD -> {
          changeDriving(Driving.hold("gateway: " + message.getHold().getReason()), true);
          listener.onHold(message.getHold());
        }
        case STEP_FORWARDED -> listener.onStepForwarded(message.getStepForwarded());
        case OUTCOME -> {
          SessionOutcome result = message.getOutcome();
          // Heard before the end is announced: whoever waits for the end (a reopener) has the outcome too.
          listener.onOutcome(result);
          changeDriving(Driving.ended(result.getOutcome() + ": " + result.getReason(), Status.OK), true);
          outcome.complete(result);
        }
        case CLOCK_REPLY -> onClockReply(message.getClockReply());
        case MESSAGE_NOT_SET -> { }
      }
    }

    @Override
    public void onError(Throwable t) {
      retryAfter = retryDelay(t);
      String silent = silence;
      end(silent != null ? Status.UNAVAILABLE.withDescription(silent) : Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      synchronized (GatewaySession.this) {
        if (!finished) {
          finished = true;
          requests.onCompleted();
        }
      }
      end(Status.OK);
    }
  }
}
