package io.vlaserve.planner.gateway;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.planner.PlannedTask;
import io.vlaserve.planner.PlanningException;
import io.vlaserve.planner.PlanningRequest;
import io.vlaserve.planner.resume.ResumeTokenException;
import io.vlaserve.planner.resume.VerifiedToken;
import io.vlaserve.planner.session.SessionEffect;
import io.vlaserve.planner.session.SessionEnding;
import io.vlaserve.planner.session.SessionMachine;
import io.vlaserve.planner.session.SessionSnapshot;
import io.vlaserve.planner.v1.ChunkContinuation;
import io.vlaserve.planner.v1.ClockProbe;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SubgoalSignal;
import io.vlaserve.policy.v1.ObservationError;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.proto.ProtoTimes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.context.Context;
import io.vlaserve.service.audit.AuditLog;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One robot's {@code RobotSession} stream: admits the robot, plans its task, then carries out what
 * its {@link SessionMachine} decides, streaming the robot's newest valid observation to
 * policy-service ({@link PolicyLink}) and the chunks it answers to the robot's execution stream at
 * the controller bridge ({@link BridgeLink}), until the task completes, fails or is cancelled.
 *
 * <p>Execution states for the robot are dropped while its stream is not ready; plans, subgoal
 * events and the outcome are always sent. When the policy goes away the chunks stop and the
 * bridge's watchdog holds the robot; the robot is told why ({@code hold}).
 *
 * <p><b>Resuming.</b> The robot gets a signed resume token in {@code SessionAccepted} and a fresh
 * one with every subgoal event. An open carrying one is checked ({@link GatewayResume}: genuine,
 * current, this robot's, not used before on this replica), the session is restored from it on the
 * next connection epoch (no plan is made), and the robot is accepted, with a token for that epoch,
 * only once the bridge answered its Execute stream: a bridge refusing because another stream drives
 * the robot (a racing resume on another replica) ends the open ABORTED without taking the session.
 *
 * <p>Every callback (robot stream, policy stream, bridge stream, timer, planner) takes the
 * session's lock; the planner runs outside it on its own executor.
 */
final class RobotSession implements StreamObserver<RobotMessage>, PolicyLink.Events, BridgeLink.Events {
  private static final Logger log = LoggerFactory.getLogger(RobotSession.class);
  private static final long TICK_MILLIS = 50;

  private final SessionServices services;
  private final ServerCallStreamObserver<GatewayMessage> robot;
  private final BridgeLink bridge;
  // A resumed session takes its id, machine and policy link from the token.
  private String sessionId = UUID.randomUUID().toString();
  private SessionMachine machine;
  private PolicyLink policy;
  /** The robot's connection to the session: 0 for the first, one more at every resume. */
  private long connectionEpoch;
  /** A resumed session waits for the bridge's first answer before it accepts the robot. */
  private boolean awaitingExecution;
  /**
   * Whether a resume whose Execute stream a bridge refuses as not there (it does not know the robot,
   * or the robot's agent is linked elsewhere or not yet) may still look for the robot's bridge: once.
   */
  private boolean resumeMayLookAgain;
  /** Ends a resume whose Execute stream the bridge leaves unanswered. */
  private ScheduledFuture<?> executionOverdue;
  private PolicyMetadata resumedMetadata;
  /** When a resuming open arrived, the policy's handshake answered and the bridge's mode; System.nanoTime(). */
  private long resumeOpenedNanos;
  private long resumePolicyNanos;
  private volatile long resumeBridgeNanos;
  /** What a resumed session does once the robot is accepted (holds, a replan to ask for again). */
  private List<SessionEffect> afterAccepted = List.of();

  private SessionOpen open;
  /** The session's task: the open's, or a resumed session's from its token. */
  private String task = "";
  private RobotIdentity identity;
  /** The robot the flight recorder files this session under, once it is admitted; null before. */
  private String recordedRobot;
  /** Set while the session ends with an outcome, which its recording must still hold. */
  private boolean endingWithOutcome;
  private boolean registered;
  private boolean robotClosed;
  private ScheduledFuture<?> timer;
  /** The session's span on this replica: from admission (or resume) to release. */
  private Span sessionSpan;
  /** A resumed session's state is being restored from its token (off the lock); frames wait. */
  private boolean restoring;
  /** The newest frame the robot sent while {@link #restoring}. */
  private RobotObservation observedWhileRestoring;
  /** Set by {@link #stopForShutdown()}: what the robot is told once the bridge let go of it. */
  private GatewayMessage shutdownHold;
  /** How new chunks take over from the executing motion: the open's choice, or the gateway's default. */
  private ChunkContinuation continuation = ChunkContinuation.CHUNK_CONTINUATION_BLEND;
  /** A PREFIX session's committed actions, once the policy's metadata is known; null otherwise. */
  private CommittedPrefixes prefixes;

  RobotSession(SessionServices services, ServerCallStreamObserver<GatewayMessage> robot) {
    this.services = services;
    this.robot = robot;
    this.machine = new SessionMachine(services.sessionSettings(), System::nanoTime);
    this.policy = new PolicyLink(services, this, this, sessionId);
    this.bridge = new BridgeLink(services, this, this);
    robot.setOnCancelHandler(() -> {
      synchronized (this) {
        if (!machine.ended()) {
          log.info("session {}: robot {} went away", sessionId, robotId());
          carryOut(machine.robotLeft("the robot's stream was cancelled"));
        }
      }
    });
  }

  String robotId() {
    return identity == null ? "?" : identity.getRobotId();
  }

  // ------------------------------------------------------------------ robot stream

  @Override
  public synchronized void onNext(RobotMessage message) {
    if (machine.ended()) {
      return;
    }
    if (open == null) {
      if (!message.hasOpen()) {
        fail(GatewayStatus.notOpenFirst(message.getMessageCase()));
        return;
      }
      opened(message.getOpen());
      if (registered) {
        recordedRobot = identity.getRobotId();
        if (services.recording() != null) {
          services.recording().sessionOpened(recordedRobot, message.getOpen().getRecord());
        }
        record(message);
      }
      return;
    }
    record(message);
    switch (message.getMessageCase()) {
      case OPEN -> fail(GatewayStatus.openedTwice());
      case OBSERVATION -> {
        if (restoring) {
          // The session is being restored: its newest frame goes to the policy as soon as it is.
          observedWhileRestoring = message.getObservation();
        } else {
          observed(message.getObservation());
        }
      }
      case HALT -> halt(message.getHalt());
      case RESUME -> resume();
      case CLOCK_PROBE -> clockProbe(message.getClockProbe());
      case CANCEL -> carryOut(machine.cancelled(message.getCancel()));
      case MESSAGE_NOT_SET -> { }
    }
  }

  @Override
  public synchronized void onError(Throwable t) {
    carryOut(machine.robotLeft("the robot's stream failed: " + Status.fromThrowable(t)));
  }

  @Override
  public synchronized void onCompleted() {
    carryOut(machine.robotLeft("the robot closed its stream"));
    if (!robotClosed) {
      robotClosed = true;
      robot.onCompleted();
    }
  }

  private void opened(SessionOpen message) {
    open = message;
    identity = message.getRobot();
    continuation = switch (message.getChunkContinuation()) {
      case CHUNK_CONTINUATION_BLEND, CHUNK_CONTINUATION_NONE, CHUNK_CONTINUATION_PREFIX -> message.getChunkContinuation();
      case CHUNK_CONTINUATION_UNSPECIFIED, UNRECOGNIZED -> services.properties().chunkContinuation();
    };
    bridge.blendAtOnce(continuation == ChunkContinuation.CHUNK_CONTINUATION_NONE);
    bridge.record(message.getRecord());
    if (identity.getRobotId().isBlank()) {
      fail(GatewayStatus.noRobotId());
      return;
    }
    boolean resuming = !message.getResumeToken().isEmpty();
    resumeOpenedNanos = System.nanoTime();
    if (!resuming && message.getTask().isBlank()) {
      fail(GatewayStatus.noTask());
      return;
    }
    VerifiedToken token = null;
    if (resuming) {
      try {
        // The robot id the session is admitted under is the one the token must name.
        token = services.resume().tokens().verify(message.getResumeToken(), identity.getRobotId());
      } catch (ResumeTokenException e) {
        resumeRefused(e);
        return;
      }
    }
    SessionRegistry.Admission admission = services.registry().register(identity.getRobotId(), this);
    if (admission == SessionRegistry.Admission.FULL) {
      AuditLog.record("session-open", identity.getRobotId(), AuditLog.caller(), "RESOURCE_EXHAUSTED",
          Map.of("task", message.getTask()));
      identity = null;
      services.metrics().sessionRefusedAtCapacity();
      // RetryInfo rides in the trailers: the exception itself goes to the robot.
      fail(GatewayStatus.atCapacity(services.registry().capacity(), services.properties().quota().capacityRetry()));
      return;
    }
    if (admission == SessionRegistry.Admission.DUPLICATE) {
      AuditLog.record("session-open", identity.getRobotId(), AuditLog.caller(), "ALREADY_EXISTS",
          Map.of("task", message.getTask()));
      identity = null;
      fail(GatewayStatus.sessionExists(message.getRobot().getRobotId()));
      return;
    }
    registered = true;
    services.metrics().sessionStarted();
    if (resuming) {
      try {
        services.resume().ledger().claim(token);
      } catch (ResumeTokenException e) {
        resumeRefused(e);
        return;
      }
      VerifiedToken resumed = token;
      restoring = true;
      services.planningExecutor().execute(() -> prepareResumed(resumed));
      return;
    }
    AuditLog.record("session-open", identity.getRobotId(), AuditLog.caller(), "ok",
        Map.of("task", message.getTask()));
    task = message.getTask();
    machine.admitted(identity.getRobotId(), task, message.getScene());
    startSessionSpan("");
    services.planningExecutor().execute(this::prepare);
  }

  /**
   * Starts the session's span: a new trace for a new session, or, resumed, a child of the span
   * {@code traceParent} names (from the token), so that a session keeps one trace across replicas.
   * Each control step is a trace of its own, linked to this span.
   */
  private void startSessionSpan(String traceParent) {
    SpanBuilder span = services.tracing().tracer().spanBuilder("robot-session")
        .setAttribute("vla.robot_id", robotId())
        .setAttribute("vla.session_id", sessionId)
        .setAttribute("vla.connection", connectionEpoch);
    if (traceParent.isEmpty()) {
      span.setNoParent();
    } else {
      span.setParent(services.tracing().extract(Map.of("traceparent", traceParent)));
    }
    sessionSpan = span.startSpan();
    policy.linkSteps(sessionSpan.getSpanContext());
  }

  /** The session span as a W3C traceparent, for the resume token; "" without one. */
  private String traceParent() {
    return sessionSpan == null ? ""
        : services.tracing().inject(Context.root().with(sessionSpan)).getOrDefault("traceparent", "");
  }

  /** Ends an open whose resume token does not resume: counted, audited, and the robot told why. */
  private void resumeRefused(ResumeTokenException refusal) {
    Status status = GatewayStatus.resumeTokenRefused(refusal);
    String result = refusal.reason().name().toLowerCase(Locale.ROOT);
    services.metrics().resumed(result);
    AuditLog.record("session-resume", identity.getRobotId(), AuditLog.caller(), status.getCode().name(),
        Map.of("reason", result));
    log.info("session resume by robot {} refused: {}", identity.getRobotId(), GatewayStatus.describe(status));
    fail(status);
  }

  /**
   * Off the lock: the policy's handshake and the bridge's mode, then the session restored from
   * {@code token} on the next connection, its links to the services opened anew.
   */
  private void prepareResumed(VerifiedToken token) {
    // Both answers are needed and neither depends on the other: asked at once, the robot holds for
    // the slower of the two instead of their sum. Where the robot's bridge is known (one bridge, or
    // the token's hint) its mode is not asked at all: execution opens at once, and a bridge that
    // holds the robot refuses it, after which the session goes on halted (executionLost).
    String robotId = identity.getRobotId();
    SessionSnapshot snapshot = token.snapshot();
    boolean withoutLooking = bridge.knows(robotId, snapshot.bridge());
    CompletableFuture<ExecutionMode> bridgeMode;
    if (withoutLooking) {
      resumeBridgeNanos = System.nanoTime();
      bridgeMode = CompletableFuture.completedFuture(ExecutionMode.EXECUTION_MODE_UNSPECIFIED);
    } else {
      bridgeMode = CompletableFuture.supplyAsync(() -> {
        ExecutionMode mode = bridge.mode(robotId);
        resumeBridgeNanos = System.nanoTime();
        return mode;
      }, services.planningExecutor());
    }
    PolicyMetadata metadata;
    try {
      metadata = services.policyMetadata();
    } catch (StatusRuntimeException e) {
      synchronized (this) {
        resumeFailed("policy_unavailable", e.getStatus());
      }
      return;
    }
    long policyAnswered = System.nanoTime();
    // A robot the bridge holds halted needs a person's Resume first: restored halted, the session
    // opens execution at the robot's `resume` instead of failing at the bridge now.
    if (!snapshot.halted() && GatewayMessages.bridgeHold(bridgeMode.join()) != SessionMachine.BridgeHold.NONE) {
      snapshot = halted(snapshot);
    }
    synchronized (this) {
      if (machine.ended()) {
        return;
      }
      resumePolicyNanos = policyAnswered;
      resumeMayLookAgain = true;
      SessionMachine.Restored restored = SessionMachine.restore(snapshot, services.sessionSettings(), System::nanoTime);
      machine = restored.machine();
      sessionId = snapshot.sessionId();
      task = snapshot.task();
      policy = new PolicyLink(services, this, this, sessionId);
      connectionEpoch = snapshot.connectionEpoch() + 1;
      startSessionSpan(snapshot.traceParent());
      resumedMetadata = metadata;
      continueWith(metadata);
      List<SessionEffect> links = new ArrayList<>();
      List<SessionEffect> later = new ArrayList<>();
      for (SessionEffect effect : restored.effects()) {
        // Nothing reaches the robot before SessionAccepted.
        (effect instanceof SessionEffect.OpenExecution || effect instanceof SessionEffect.OpenPolicy ? links : later)
            .add(effect);
      }
      afterAccepted = later;
      carryOut(links);
      restoring = false;
      if (observedWhileRestoring != null) {
        RobotObservation newest = observedWhileRestoring;
        observedWhileRestoring = null;
        observed(newest); // the policy stream just opened: sent as soon as it is ready
      }
      if (bridge.executing()) {
        awaitingExecution = true;
        Duration patience = services.properties().callTimeout();
        executionOverdue = services.timer().schedule(() -> executionUnanswered(patience), patience.toMillis(),
            TimeUnit.MILLISECONDS);
      } else {
        acceptResumed();
      }
    }
  }

  /** The resumed session takes the robot: SessionAccepted with a token for this connection, then the rest. */
  private void acceptResumed() {
    awaitingExecution = false;
    if (executionOverdue != null) {
      executionOverdue.cancel(false);
    }
    AuditLog.record("session-resume", identity.getRobotId(), AuditLog.caller(), "ok",
        Map.of("session", sessionId, "connection", Long.toString(connectionEpoch)));
    services.metrics().resumed("ok");
    long now = System.nanoTime();
    services.metrics().resumeAccepted(Duration.ofNanos(now - resumeOpenedNanos));
    log.info("session {}: robot {} resumed on connection {} at subgoal {} in {} ms (policy handshake {} ms and bridge"
        + " mode {} ms at once, then the Execute stream {} ms)", sessionId, robotId(), connectionEpoch,
        machine.subgoal() == null ? "-" : machine.subgoal().id(), millis(now - resumeOpenedNanos),
        millis(resumePolicyNanos - resumeOpenedNanos), millis(resumeBridgeNanos - resumeOpenedNanos),
        millis(now - Math.max(resumePolicyNanos, resumeBridgeNanos)));
    send(GatewayMessages.accepted(sessionId, resumedMetadata, services.properties().observationValidity(),
        resumeToken()));
    List<SessionEffect> effects = afterAccepted;
    afterAccepted = List.of();
    carryOut(effects);
    if (!machine.ended()) {
      timer = services.timer().scheduleAtFixedRate(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  /** The bridge did not answer the resumed session's Execute stream in time: the resume ends. */
  private synchronized void executionUnanswered(Duration patience) {
    if (awaitingExecution && !machine.ended()) {
      awaitingExecution = false;
      resumeFailed("execution_failed", GatewayStatus.resumedExecutionFailed(robotId(), Status.DEADLINE_EXCEEDED
          .withDescription("no answer on the Execute stream within " + patience.toMillis() + " ms")));
    }
  }

  /** Ends a resume that did not take the session: counted, audited, and the robot told why. */
  private void resumeFailed(String result, Status status) {
    services.metrics().resumed(result);
    AuditLog.record("session-resume", identity.getRobotId(), AuditLog.caller(), status.getCode().name(),
        Map.of("reason", result));
    log.info("session resume by robot {} failed: {}", identity.getRobotId(), GatewayStatus.describe(status));
    fail(status);
  }

  private static long millis(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  /** The resume token for the session as it stands, on this connection; "" if it cannot resume. */
  private String resumeToken() {
    return machine.snapshot(sessionId, connectionEpoch, traceParent()).map(snapshot -> {
      try {
        return services.resume().tokens().issue(snapshot.withBridge(bridge.hint(identity.getRobotId())));
      } catch (IllegalArgumentException e) {
        // Ids or a plan too long for a token: the session runs on, without resuming.
        log.warn("session {}: no resume token for robot {}: {}", sessionId, robotId(), e.getMessage());
        return "";
      }
    }).orElse("");
  }

  /** {@code snapshot} with the robot halted. */
  private static SessionSnapshot halted(SessionSnapshot s) {
    return new SessionSnapshot(s.sessionId(), s.robotId(), s.connectionEpoch(), s.phase(), s.task(), s.scene(),
        s.skills(), s.stepPeriod(), s.revision(), s.plan(), s.subgoalIndex(), s.completed(), s.replansUsed(),
        s.lastSubgoalId(), s.attempt(), s.instructionEpoch(), true, s.lastGripper(), s.budgetLeft(), s.elapsed(),
        s.failureReason(), s.traceParent());
  }

  /** Off the lock: the handshake with policy-service and the first plan, then start. */
  private void prepare() {
    PolicyMetadata metadata;
    try {
      metadata = services.policyMetadata();
    } catch (StatusRuntimeException e) {
      synchronized (this) {
        fail(e.getStatus());
      }
      return;
    }
    String embodiment = open.getRobot().getEmbodiment();
    if (!embodiment.isEmpty() && !embodiment.equals(metadata.getActionProfile())) {
      synchronized (this) {
        fail(GatewayStatus.otherEmbodiment(embodiment, metadata));
      }
      return;
    }
    // A robot the bridge holds halted (a safety halt, a lost link, an e-stop) needs a person's
    // Resume: the session waits for the robot's `resume` instead of failing at the first chunk.
    ExecutionMode bridgeMode = bridge.mode(open.getRobot().getRobotId());
    PlannedTask plan;
    try {
      plan = plan(PlanningRequest.initial(open.getTask(), open.getScene(), metadata.getSkillsList()));
    } catch (PlanningException e) {
      synchronized (this) {
        fail(GatewayStatus.planningFailed(e));
      }
      return;
    }
    synchronized (this) {
      if (machine.ended()) {
        return;
      }
      continueWith(metadata);
      List<SessionEffect> effects = machine.started(plan, metadata.getSkillsList(),
          GatewayMessages.stepPeriod(metadata), GatewayMessages.bridgeHold(bridgeMode));
      // Running now: the token resumes the first subgoal.
      send(GatewayMessages.accepted(sessionId, metadata, services.properties().observationValidity(),
          resumeToken()));
      carryOut(effects);
      timer = services.timer().scheduleAtFixedRate(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  /** Off the lock: a new plan after a failed subgoal. */
  private void replan(PlanningRequest request) {
    PlannedTask plan;
    try {
      plan = plan(request);
    } catch (PlanningException e) {
      synchronized (this) {
        carryOut(machine.replanFailed(e.getMessage()));
      }
      return;
    }
    synchronized (this) {
      carryOut(machine.replanned(plan));
    }
  }

  /** Asks the planner, timing the answer. */
  private PlannedTask plan(PlanningRequest request) throws PlanningException {
    long started = System.nanoTime();
    try {
      PlannedTask plan = services.planner().plan(request);
      services.metrics().planned(services.planner().name(), Duration.ofNanos(System.nanoTime() - started), "ok");
      return plan;
    } catch (PlanningException e) {
      services.metrics().planned(services.planner().name(), Duration.ofNanos(System.nanoTime() - started),
          e.kind().name().toLowerCase(Locale.ROOT));
      throw e;
    }
  }

  // ------------------------------------------------------------------ what the machine decided

  private void carryOut(List<SessionEffect> effects) {
    for (SessionEffect effect : effects) {
      switch (effect) {
        case SessionEffect.OpenExecution ignored -> {
          if (machine.bridgeLost()) {
            relocateAndOpen(() -> machine.bridgeLost());
          } else {
            bridge.open(identity, sessionId, connectionEpoch);
          }
        }
        case SessionEffect.OpenPolicy start -> policy.open(identity, start.instruction(), open.getRecord());
        case SessionEffect.Instruct instruct -> policy.instruct(instruct.instruction());
        case SessionEffect.SendPlan plan -> send(GatewayMessages.plan(task, plan));
        case SessionEffect.ReportSubgoal report -> {
          services.metrics().subgoal(report.status());
          send(GatewayMessages.subgoalEvent(report, resumeToken()));
        }
        case SessionEffect.Hold hold -> send(GatewayMessages.hold(hold.reason()));
        case SessionEffect.Replan replan -> {
          services.metrics().replan();
          services.planningExecutor().execute(() -> replan(replan.request()));
        }
        case SessionEffect.PolicyLost lost -> log.warn("session {}: policy-service stream failed ({}); failing over"
            + " for robot {}", sessionId, lost.cause(), robotId());
        case SessionEffect.ExecutionRestored back -> {
          services.metrics().bridgeFailedOver(back.downFor());
          log.info("session {}: robot {}'s execution is open again after {} ms", sessionId, robotId(),
              back.downFor().toMillis());
        }
        case SessionEffect.PolicyRestored back -> {
          services.metrics().policyFailedOver(back.downFor());
          log.info("session {}: policy-service is back after {} ms", sessionId, back.downFor().toMillis());
        }
        case SessionEffect.Ended ended -> ended(ended);
      }
    }
  }

  /** Releases the session and, if the machine says so, tells the robot its outcome and closes its stream. */
  private void ended(SessionEffect.Ended ended) {
    SessionEnding ending = ended.ending();
    boolean wasRegistered = registered;
    endingWithOutcome = true; // the recording ends after the outcome, below
    release("session ended");
    if (wasRegistered) {
      services.metrics().sessionEnded(ending.outcome(), ending.cause());
    }
    log.info("session {}: robot {} {}: {}", sessionId, robotId(), GatewayMessages.outcome(ending.outcome()),
        ending.reason());
    if (ended.tellRobot() && !robotClosed) {
      send(GatewayMessages.outcome(ended));
      robotClosed = true;
      robot.onCompleted();
    }
    endRecording();
  }

  /** Finishes a full recording this session asked for (once; its file then is complete). */
  private void endRecording() {
    if (recordedRobot != null && services.recording() != null) {
      services.recording().sessionEnded(recordedRobot);
      recordedRobot = null;
    }
  }

  // ------------------------------------------------------------------ observations and chunks

  private void observed(RobotObservation message) {
    Observation observation = message.getObservation();
    if (observation.hasState()) {
      machine.gripperObserved(observation.getState().getGripper());
    }
    for (SubgoalSignal signal : message.getSignalsList()) {
      carryOut(machine.signalled(signal.getSubgoalId(), signal.getSucceeded(), signal.getDetail()));
    }
    if (!machine.acceptsObservations()) {
      services.metrics().observationDropped(machine.phase() == SessionMachine.Phase.RUNNING ? "halted" : "not_running");
      return;
    }
    if (observation.hasCaptureTime()) {
      Duration age = Duration.between(ProtoTimes.instant(observation.getCaptureTime()), Instant.now());
      if (age.compareTo(services.properties().observationValidity()) > 0) {
        services.metrics().observationDropped("stale");
        return;
      }
    }
    if (policy.offer(observation, System.nanoTime())) {
      services.metrics().observationDropped("superseded");
    }
    pump();
  }

  /** Sends the waiting observation to the policy when nothing is in flight there. */
  private void pump() {
    if (machine.acceptsObservations()) {
      policy.sendWaiting(identity, machine.instructionEpoch(), machine.instruction(),
          prefixes == null ? observation -> null : prefixes::prefixFor);
    }
  }

  /** Readies real-time chunking for the model {@code metadata} describes, if the session asked for it. */
  private void continueWith(PolicyMetadata metadata) {
    prefixes = continuation == ChunkContinuation.CHUNK_CONTINUATION_PREFIX
        ? CommittedPrefixes.of(metadata, services.properties().prefixMinDelay()) : null;
    if (continuation == ChunkContinuation.CHUNK_CONTINUATION_PREFIX && prefixes == null) {
      log.info("session {}: robot {} asked for committed prefixes, but model {} ({}-step chunks, {}) cannot continue"
          + " one; its chunks are blended", sessionId, robotId(), metadata.getModelName(), metadata.getMaxChunkLength(),
          metadata.getDecoding());
    }
  }

  @Override
  public void policyReady() {
    carryOut(machine.policyReady());
    pump();
  }

  @Override
  public void chunkAnswered(ActionChunk chunk, int epoch, PolicyLink.StepTiming timing, long sequence) {
    if (machine.executes(epoch) && bridge.executing()) {
      bridge.execute(chunk, policy.stepTraceContext());
      if (prefixes != null) {
        prefixes.forwarded(chunk, Instant.now());
      }
      long gatewayNanos = System.nanoTime() - timing.arrivalNanos();
      services.metrics().step(gatewayNanos);
      if (open.getReportSteps()) {
        send(GatewayMessages.stepForwarded(sequence, gatewayNanos, timing));
      }
      policy.endStep(null);
    } else {
      services.metrics().observationDropped("answered_after_subgoal_change");
      policy.endStep("answered after the subgoal changed; not executed");
    }
    pump();
  }

  @Override
  public void observationFailed(ObservationError error) {
    services.metrics().observationDropped("policy_" + Status.fromCodeValue(error.getCode()).getCode().name()
        .toLowerCase(Locale.ROOT));
    pump();
  }

  @Override
  public void policyLost(Status status) {
    carryOut(machine.policyLost(GatewayStatus.describe(status)));
  }

  // ------------------------------------------------------------------ controller bridge

  @Override
  public void bridgeReported(ExecuteResponse response) {
    if (machine.ended()) {
      return;
    }
    if (awaitingExecution) {
      // The bridge answers only a stream it let drive the robot.
      acceptResumed();
    }
    if (machine.bridgeLost()) {
      carryOut(machine.executionReady());
    }
    switch (response.getMessageCase()) {
      case STATE -> {
        if (prefixes != null) {
          prefixes.state(response.getState());
        }
        if (robot.isReady()) {
          send(GatewayMessages.state(response.getState()));
        }
      }
      case SAFETY_EVENT -> send(GatewayMessages.safetyEvent(response.getSafetyEvent()));
      case REJECTED -> services.metrics().chunkRejected(response.getRejected().getCode());
      case ACCEPTED -> {
        if (prefixes != null) {
          prefixes.accepted(response.getAccepted());
        }
      }
      case MESSAGE_NOT_SET -> { }
    }
  }

  @Override
  public void executionLost(Status status) {
    if (awaitingExecution) {
      SessionMachine.BridgeHold held = GatewayStatus.heldAtBridge(status);
      if (held != SessionMachine.BridgeHold.NONE) {
        // Halted or e-stopped while the session moved: it goes on halted, as if its token had said so
        // (and the token SessionAccepted carries says so); the robot hears how to go on after that.
        List<SessionEffect> hold = machine.executionRefusedHeld(held);
        acceptResumed();
        carryOut(hold);
        return;
      }
      if (resumeMayLookAgain && BridgeShards.notThere(status)) {
        // A stale hint, or a standby that lists the robot while its agent is linked elsewhere: look, once.
        resumeMayLookAgain = false;
        relocateAndOpen(() -> awaitingExecution);
        return;
      }
      awaitingExecution = false;
      executionOverdue.cancel(false);
      boolean busy = GatewayStatus.robotBusy(status);
      resumeFailed(busy ? "robot_busy" : "execution_failed", busy
          ? GatewayStatus.resumedRobotBusy(robotId(), status) : GatewayStatus.resumedExecutionFailed(robotId(), status));
      return;
    }
    if (prefixes != null) {
      prefixes.clear();
    }
    carryOut(machine.executionLost(GatewayStatus.describe(status), BridgeShards.wentAway(status)));
  }

  /**
   * Off the lock, finds the bridge that drives the robot now (its own back, or another shard), then
   * opens execution there if the session still waits for it ({@code stillWaiting}, under the lock).
   */
  private void relocateAndOpen(java.util.function.BooleanSupplier stillWaiting) {
    String robotId = identity.getRobotId();
    services.planningExecutor().execute(() -> {
      bridge.mode(robotId);
      synchronized (this) {
        if (!machine.ended() && stillWaiting.getAsBoolean() && !bridge.executing()) {
          bridge.open(identity, sessionId, connectionEpoch);
        }
      }
    });
  }

  private void halt(String reason) {
    if (identity == null) {
      return;
    }
    if (machine.halt()) {
      policy.dropWaiting();
    }
    if (prefixes != null) {
      prefixes.clear();
    }
    bridge.halt(identity.getRobotId(), reason);
  }

  private void resume() {
    if (identity == null) {
      return;
    }
    bridge.resume(identity.getRobotId(), () -> carryOut(machine.resumed()),
        refusal -> send(GatewayMessages.hold(GatewayStatus.resumeRefused(refusal))));
  }

  private void clockProbe(ClockProbe probe) {
    Instant received = Instant.now();
    send(GatewayMessages.clockReply(probe, received, Instant.now()));
  }

  // ------------------------------------------------------------------ timer, shutdown, end

  private synchronized void tick() {
    carryOut(machine.tick());
  }

  /**
   * First half of a shutdown: the session stops (no more chunks; the policy stream closes) and the
   * robot's Execute stream is closed, so the bridge holds the robot. The robot is told only by
   * {@link #tellRobotToReconnect()}, once the bridge has let go: a replica resuming the session
   * sooner would find the robot still claimed by this one.
   *
   * @return completes once the bridge has ended the Execute stream (at once if none was open)
   */
  synchronized CompletableFuture<Void> stopForShutdown() {
    if (machine.ended()) {
      return CompletableFuture.completedFuture(null);
    }
    // A token minted now carries the running subgoal's remaining budget, not the one it started with.
    shutdownHold = GatewayMessages.hold("the gateway is shutting down: the robot is brought to a hold; reconnect"
        + " with the newest resume token to continue", resumeToken());
    CompletableFuture<Void> released = bridge.close();
    boolean wasRegistered = registered;
    release("session ended");
    machine.shutDown();
    if (wasRegistered) { // counted as active only once registered (release() forgets it)
      services.metrics().sessionEnded(SessionEnding.Outcome.SHUTDOWN, SessionEnding.Cause.UNSPECIFIED);
    }
    return released;
  }

  /**
   * Second half of a shutdown: tells the robot to hold and to reconnect with its newest resume
   * token, and ends its stream with UNAVAILABLE.
   */
  synchronized void tellRobotToReconnect() {
    if (shutdownHold == null || robotClosed) {
      return;
    }
    send(shutdownHold);
    robotClosed = true;
    robot.onError(GatewayStatus.shuttingDown().asRuntimeException());
  }

  /** Fails the stream before a session exists (bad open, unknown embodiment, unplannable task). */
  private void fail(Status status) {
    fail(status.asRuntimeException());
  }

  /** As {@link #fail(Status)}, keeping the exception's trailers (e.g. RetryInfo). */
  private void fail(StatusRuntimeException error) {
    boolean wasRegistered = registered;
    release(machine.ended() ? null : "session ended");
    machine.reject(GatewayStatus.describe(error.getStatus()));
    if (wasRegistered) { // release() has just forgotten it: read before
      services.metrics().sessionEnded(SessionEnding.Outcome.REJECTED, SessionEnding.Cause.UNSPECIFIED);
    }
    if (!robotClosed) {
      robotClosed = true;
      robot.onError(error);
    }
  }

  /**
   * Closes the policy and execution streams (the bridge then holds the robot) and frees the robot id.
   *
   * @param stepFailure what to record on a control step still in flight, null for nothing
   */
  private void release(String stepFailure) {
    policy.endStep(stepFailure);
    if (sessionSpan != null) {
      sessionSpan.end();
      sessionSpan = null;
    }
    if (timer != null) {
      timer.cancel(false);
    }
    policy.close();
    bridge.close();
    if (registered) {
      registered = false;
      services.registry().unregister(identity.getRobotId(), this);
    }
    if (!endingWithOutcome) {
      endRecording();
    }
  }

  private void send(GatewayMessage message) {
    if (!robotClosed) {
      robot.onNext(message);
    }
    GatewayRecording recording = services.recording();
    if (recording != null && recordedRobot != null) {
      recording.toRobot(recordedRobot, message);
    }
  }

  /** Records what the robot sent, once its session is admitted (never under a name nobody vouched for). */
  private void record(RobotMessage message) {
    GatewayRecording recording = services.recording();
    if (recording != null && recordedRobot != null) {
      recording.fromRobot(recordedRobot, message);
    }
  }
}
