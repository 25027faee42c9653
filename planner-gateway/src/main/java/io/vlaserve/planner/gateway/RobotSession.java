package io.vlaserve.planner.gateway;

import io.vlaserve.proto.ProtoTimes;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.controller.v1.ExecuteStart;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.HaltRequest;
import io.vlaserve.controller.v1.ResumeRequest;
import io.vlaserve.controller.v1.StreamStateRequest;
import io.vlaserve.planner.v1.CameraRequirement;
import io.vlaserve.planner.v1.ClockProbe;
import io.vlaserve.planner.v1.ClockProbeReply;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.HoldNotice;
import io.vlaserve.planner.v1.EndCause;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.service.audit.AuditLog;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.StepForwarded;
import io.vlaserve.planner.v1.Subgoal;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.planner.v1.SubgoalSignal;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.planner.PlannedSubgoal;
import io.vlaserve.planner.PlannedTask;
import io.vlaserve.planner.PlanningException;
import io.vlaserve.planner.PlanningRequest;
import io.vlaserve.planner.SubgoalFailure;
import io.vlaserve.policy.v1.CameraSpec;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.policy.v1.SessionStart;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One robot's session: plans its task, then runs each subgoal by streaming the robot's newest
 * valid observation to a policy-service session and the chunks it answers to the robot's
 * controller-bridge execution stream, until the robot reports the subgoal done or its time budget
 * runs out (then replanning, bounded).
 *
 * <p><b>Backpressure.</b> At most one observation is at the policy at a time; while it is there,
 * newer ones replace each other in a single slot (the newest wins), so neither a fast camera nor a
 * slow policy grows a queue. Execution states for the robot are dropped while its stream is not
 * ready; plans, subgoal events and the outcome are always sent.
 *
 * <p><b>Safety.</b> The gateway never commands motion itself: when the policy goes away, the
 * chunks stop and the bridge's watchdog brings the robot to a hold within its limits; the robot is
 * told why ({@code hold}). Ending a session closes the execution stream, which also holds the robot.
 *
 * <p>Every callback (robot stream, policy stream, bridge stream, timer, planner) takes the
 * session's lock; the planner runs outside it on its own executor.
 */
final class RobotSession implements StreamObserver<RobotMessage> {
  private static final Logger log = LoggerFactory.getLogger(RobotSession.class);

  private enum Phase { OPENING, PLANNING, RUNNING, FINISHED }

  private final SessionServices services;
  private final ServerCallStreamObserver<GatewayMessage> robot;
  private final String sessionId = UUID.randomUUID().toString();
  private final long startedNanos = System.nanoTime();

  private Phase phase = Phase.OPENING;
  private SessionOpen open;
  private RobotIdentity identity;
  private PolicyMetadata metadata;
  private long stepPeriodNanos = 100_000_000L;
  private boolean registered;

  // Plan and progress.
  private final List<PlannedSubgoal> completed = new ArrayList<>();
  private List<PlannedSubgoal> remaining = List.of();
  private int revision = -1;
  private int replans;
  private int subgoalCounter;
  private Subgoal current;
  private PlannedSubgoal currentPlanned;
  private long subgoalStartNanos;
  private int attempt;
  private double lastGripper = Double.NaN;
  private boolean halted;
  private long haltedSinceNanos;
  private long pausedNanos;

  // Policy stream.
  private ClientCallStreamObserver<SessionRequest> policy;
  private boolean policyReady;
  private long policyDownSinceNanos;
  private String policyDownReason = "";
  private long nextPolicyAttemptNanos;
  private RobotObservation pending;
  private long pendingArrivalNanos;
  private boolean inFlight;
  private long inFlightArrivalNanos;
  private long inFlightSequence;
  private int instructionEpoch;
  private int inFlightEpoch;
  private Span inFlightStep;

  // Controller stream.
  private ClientCallStreamObserver<ExecuteRequest> controller;
  private long chunksForwarded;

  private ScheduledFuture<?> timer;

  RobotSession(SessionServices services, ServerCallStreamObserver<GatewayMessage> robot) {
    this.services = services;
    this.robot = robot;
    robot.setOnCancelHandler(() -> {
      synchronized (this) {
        if (phase != Phase.FINISHED) {
          log.info("session {}: robot {} went away", sessionId, robotId());
          end(Outcome.OUTCOME_CANCELLED, EndCause.END_CAUSE_ROBOT_CANCELLED, "the robot's stream was cancelled", false);
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
    if (phase == Phase.FINISHED) {
      return;
    }
    if (phase == Phase.OPENING && open == null) {
      if (!message.hasOpen()) {
        fail(GatewayStatus.notOpenFirst(message.getMessageCase()));
        return;
      }
      opened(message.getOpen());
      return;
    }
    switch (message.getMessageCase()) {
      case OPEN -> fail(GatewayStatus.openedTwice());
      case OBSERVATION -> observed(message.getObservation());
      case HALT -> halt(message.getHalt());
      case RESUME -> resume();
      case CLOCK_PROBE -> clockProbe(message.getClockProbe());
      case CANCEL -> end(Outcome.OUTCOME_CANCELLED, EndCause.END_CAUSE_ROBOT_CANCELLED, "cancelled by the robot: " + message.getCancel(), true);
      case MESSAGE_NOT_SET -> { }
    }
  }

  @Override
  public synchronized void onError(Throwable t) {
    if (phase != Phase.FINISHED) {
      end(Outcome.OUTCOME_CANCELLED, EndCause.END_CAUSE_ROBOT_CANCELLED, "the robot's stream failed: " + Status.fromThrowable(t), false);
    }
  }

  @Override
  public synchronized void onCompleted() {
    if (phase != Phase.FINISHED) {
      end(Outcome.OUTCOME_CANCELLED, EndCause.END_CAUSE_ROBOT_CANCELLED, "the robot closed its stream", false);
    }
    if (!robotClosed) {
      robotClosed = true;
      robot.onCompleted();
    }
  }

  private boolean robotClosed;

  private void opened(SessionOpen message) {
    open = message;
    identity = message.getRobot();
    if (identity.getRobotId().isBlank()) {
      fail(GatewayStatus.noRobotId());
      return;
    }
    if (message.getTask().isBlank()) {
      fail(GatewayStatus.noTask());
      return;
    }
    if (!message.getResumeToken().isEmpty()) {
      fail(GatewayStatus.unknownResumeToken());
      return;
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
    AuditLog.record("session-open", identity.getRobotId(), AuditLog.caller(), "ok",
        Map.of("task", message.getTask()));
    services.metrics().sessionStarted();
    phase = Phase.PLANNING;
    services.planningExecutor().execute(this::prepare);
  }

  /** Off the lock: the handshake with policy-service and the first plan, then start. */
  private void prepare() {
    PolicyMetadata policyMetadata;
    try {
      policyMetadata = services.policyMetadata();
    } catch (StatusRuntimeException e) {
      synchronized (this) {
        fail(e.getStatus());
      }
      return;
    }
    String embodiment = open.getRobot().getEmbodiment();
    if (!embodiment.isEmpty() && !embodiment.equals(policyMetadata.getActionProfile())) {
      synchronized (this) {
        fail(GatewayStatus.otherEmbodiment(embodiment, policyMetadata));
      }
      return;
    }
    // A robot the bridge holds halted (a safety halt, a lost link, an e-stop) needs a person's
    // Resume: the session waits for the robot's `resume` instead of failing at the first chunk.
    ExecutionMode bridgeMode = bridgeMode();
    PlannedTask plan;
    long started = System.nanoTime();
    try {
      plan = services.planner().plan(PlanningRequest.initial(open.getTask(), open.getScene(),
          policyMetadata.getSkillsList()));
      services.metrics().planned(services.planner().name(), Duration.ofNanos(System.nanoTime() - started), "ok");
    } catch (PlanningException e) {
      services.metrics().planned(services.planner().name(), Duration.ofNanos(System.nanoTime() - started),
          e.kind().name().toLowerCase(Locale.ROOT));
      synchronized (this) {
        fail(GatewayStatus.planningFailed(e));
      }
      return;
    }
    synchronized (this) {
      if (phase == Phase.FINISHED) {
        return;
      }
      metadata = policyMetadata;
      if (metadata.hasStepPeriod()) {
        stepPeriodNanos = Math.max(1, GatewayConfiguration.of(metadata.getStepPeriod()).toNanos());
      }
      sendAccepted();
      boolean haltedAtBridge = bridgeMode == ExecutionMode.EXECUTION_MODE_HALTED
          || bridgeMode == ExecutionMode.EXECUTION_MODE_ESTOPPED;
      if (haltedAtBridge) {
        halted = true;
        haltedSinceNanos = System.nanoTime();
      } else {
        openController();
      }
      adopt(plan, "task start");
      if (haltedAtBridge) {
        send(GatewayMessage.newBuilder().setHold(HoldNotice.newBuilder().setReason("robot " + robotId() + " is "
            + (bridgeMode == ExecutionMode.EXECUTION_MODE_ESTOPPED ? "e-stopped" : "halted")
            + " at the controller bridge (see its safety events or log); once the cell is safe, send `resume` and the"
            + " task starts")).build());
      }
      openPolicy();
      timer = services.timer().scheduleAtFixedRate(this::tick, 50, 50, TimeUnit.MILLISECONDS);
    }
  }

  private void sendAccepted() {
    SessionAccepted.Builder accepted = SessionAccepted.newBuilder()
        .setSessionId(sessionId)
        .setObservationPeriod(metadata.getStepPeriod())
        .setObservationValidity(duration(services.properties().observationValidity()));
    for (CameraSpec camera : metadata.getCamerasList()) {
      accepted.addCameras(CameraRequirement.newBuilder().setName(camera.getName()).setWidth(camera.getWidth())
          .setHeight(camera.getHeight()).setEncoding(preferred(camera)));
    }
    send(GatewayMessage.newBuilder().setAccepted(accepted).build());
  }

  private static io.vlaserve.common.v1.ImageEncoding preferred(CameraSpec camera) {
    return camera.getAcceptedEncodingsList().contains(io.vlaserve.common.v1.ImageEncoding.IMAGE_ENCODING_RGB8)
        || camera.getAcceptedEncodingsCount() == 0
        ? io.vlaserve.common.v1.ImageEncoding.IMAGE_ENCODING_RGB8 : camera.getAcceptedEncodings(0);
  }

  // ------------------------------------------------------------------ plan and subgoals

  /** Makes {@code plan} the session's plan and starts its first subgoal. */
  private void adopt(PlannedTask plan, String reason) {
    revision++;
    remaining = new ArrayList<>(plan.subgoals());
    Plan.Builder message = Plan.newBuilder().setTask(open.getTask()).setPlanner(plan.planner())
        .setRevision(revision).setReason(reason + (plan.rationale().isEmpty() ? "" : "; " + plan.rationale()));
    List<Subgoal> subgoals = new ArrayList<>();
    for (PlannedSubgoal planned : plan.subgoals()) {
      Subgoal subgoal = Subgoal.newBuilder().setId(String.valueOf(++subgoalCounter))
          .setInstruction(planned.instruction()).setMaxSteps(planned.maxSteps())
          .setMaxDuration(duration(budget(planned))).build();
      subgoals.add(subgoal);
      message.addSubgoals(subgoal);
    }
    send(GatewayMessage.newBuilder().setPlan(message).build());
    phase = Phase.RUNNING;
    plannedSubgoals = subgoals;
    startSubgoal(0);
  }

  private List<Subgoal> plannedSubgoals = List.of();
  private int subgoalIndex;

  private Duration budget(PlannedSubgoal planned) {
    return Duration.ofNanos(Math.round(planned.maxSteps() * stepPeriodNanos * services.properties().subgoalTimeFactor()));
  }

  private void startSubgoal(int index) {
    subgoalIndex = index;
    current = plannedSubgoals.get(index);
    currentPlanned = remaining.get(index);
    subgoalStartNanos = System.nanoTime();
    pausedNanos = 0;
    attempt = 1 + (int) completed.stream().filter(c -> c.instruction().equals(currentPlanned.instruction())).count();
    instructionEpoch++;
    if (policy != null) {
      policy.onNext(SessionRequest.newBuilder().setInstruction(current.getInstruction()).build());
    }
    services.metrics().subgoal("started");
    send(subgoalEvent(SubgoalStatus.SUBGOAL_STATUS_STARTED, ""));
  }

  private GatewayMessage subgoalEvent(SubgoalStatus status, String reason) {
    long elapsed = subgoalElapsedNanos();
    return GatewayMessage.newBuilder().setSubgoal(SubgoalEvent.newBuilder()
        .setSubgoalId(current.getId()).setStatus(status).setAttempt(attempt)
        .setSteps((int) (elapsed / stepPeriodNanos)).setElapsed(duration(Duration.ofNanos(elapsed)))
        .setReason(reason)).build();
  }

  private long subgoalElapsedNanos() {
    long paused = pausedNanos + (halted ? System.nanoTime() - haltedSinceNanos : 0);
    return System.nanoTime() - subgoalStartNanos - paused;
  }

  private void signalled(SubgoalSignal signal) {
    if (phase != Phase.RUNNING || current == null || !signal.getSubgoalId().equals(current.getId())) {
      return;
    }
    if (signal.getSucceeded()) {
      completeSubgoal(signal.getDetail());
    } else {
      failSubgoal(SubgoalStatus.SUBGOAL_STATUS_FAILED, "the robot reported failure"
          + (signal.getDetail().isEmpty() ? "" : ": " + signal.getDetail()));
    }
  }

  private void completeSubgoal(String detail) {
    services.metrics().subgoal("completed");
    send(subgoalEvent(SubgoalStatus.SUBGOAL_STATUS_COMPLETED, detail));
    completed.add(currentPlanned);
    if (subgoalIndex + 1 < plannedSubgoals.size()) {
      startSubgoal(subgoalIndex + 1);
    } else {
      end(Outcome.OUTCOME_SUCCEEDED, EndCause.END_CAUSE_TASK_COMPLETED, "every subgoal completed", true);
    }
  }

  private void failSubgoal(SubgoalStatus status, String reason) {
    services.metrics().subgoal(status == SubgoalStatus.SUBGOAL_STATUS_TIMED_OUT ? "timed_out" : "failed");
    send(subgoalEvent(status, reason));
    if (replans >= services.properties().maxReplans()) {
      end(Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_SUBGOAL_FAILED, "subgoal '" + current.getInstruction() + "' " + reason + ", and the "
          + replans + " replan(s) allowed are used up", true);
      return;
    }
    replans++;
    services.metrics().replan();
    phase = Phase.PLANNING;
    // Chunks for the failed subgoal are dropped from now on; the bridge's watchdog holds the robot.
    instructionEpoch++;
    PlanningRequest request = new PlanningRequest(open.getTask(), open.getScene(), metadata.getSkillsList(),
        completed, new SubgoalFailure(currentPlanned, reason), lastGripper);
    String why = "subgoal " + current.getId() + " '" + current.getInstruction() + "' " + reason;
    services.planningExecutor().execute(() -> replan(request, why));
  }

  private void replan(PlanningRequest request, String why) {
    long started = System.nanoTime();
    PlannedTask plan;
    try {
      plan = services.planner().plan(request);
      services.metrics().planned(services.planner().name(), Duration.ofNanos(System.nanoTime() - started), "ok");
    } catch (PlanningException e) {
      services.metrics().planned(services.planner().name(), Duration.ofNanos(System.nanoTime() - started),
          e.kind().name().toLowerCase(Locale.ROOT));
      synchronized (this) {
        if (phase != Phase.FINISHED) {
          end(Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_PLANNER_FAILED, why + "; replanning failed: " + e.getMessage(), true);
        }
      }
      return;
    }
    synchronized (this) {
      if (phase == Phase.PLANNING) {
        adopt(plan, why);
      }
    }
  }

  // ------------------------------------------------------------------ observations and chunks

  private void observed(RobotObservation message) {
    Observation observation = message.getObservation();
    if (observation.hasState()) {
      lastGripper = observation.getState().getGripper();
    }
    for (SubgoalSignal signal : message.getSignalsList()) {
      signalled(signal);
    }
    if (phase != Phase.RUNNING || halted) {
      services.metrics().observationDropped(phase == Phase.RUNNING ? "halted" : "not_running");
      return;
    }
    if (observation.hasCaptureTime()) {
      Instant captured = ProtoTimes.instant(observation.getCaptureTime());
      Duration age = Duration.between(captured, Instant.now());
      if (age.compareTo(services.properties().observationValidity()) > 0) {
        services.metrics().observationDropped("stale");
        return;
      }
    }
    if (pending != null) {
      services.metrics().observationDropped("superseded");
    }
    pending = message;
    pendingArrivalNanos = System.nanoTime();
    pump();
  }

  /** Sends the waiting observation to the policy when nothing is in flight there. */
  private void pump() {
    if (pending == null || inFlight || policy == null || !policyReady || phase != Phase.RUNNING || halted) {
      return;
    }
    // One control step, one trace: it starts here and continues at the policy and the bridge.
    Observation observation = pending.getObservation();
    inFlightStep = services.tracing().tracer().spanBuilder("control-step")
        .setNoParent()
        .setAttribute("vla.robot_id", identity.getRobotId())
        .setAttribute("vla.session_id", sessionId)
        .setAttribute("vla.observation_sequence", observation.getSequence())
        .setAttribute("vla.subgoal", current == null ? "" : current.getInstruction())
        .startSpan();
    policy.onNext(SessionRequest.newBuilder().setObservation(observation)
        .putAllTraceContext(services.tracing().inject(Context.root().with(inFlightStep))).build());
    inFlight = true;
    inFlightEpoch = instructionEpoch;
    inFlightArrivalNanos = pendingArrivalNanos;
    inFlightSequence = observation.getSequence();
    pending = null;
  }

  private void openPolicy() {
    policyReady = false;
    PolicyStream stream = new PolicyStream();
    PolicyServiceGrpc.newStub(services.channels().policy()).session(stream);
    policy = stream.requests;
    policy.onNext(SessionRequest.newBuilder().setStart(SessionStart.newBuilder()
        .setRobot(identity)
        .setInstruction(current != null ? current.getInstruction() : remaining.isEmpty() ? "" : remaining.get(0).instruction())
        .setObservationDeadline(duration(services.properties().observationValidity()))).build());
  }

  private void policyChunk(StreamObserver<SessionRequest> from, SessionResponse response) {
    if (from != policy) {
      return;
    }
    switch (response.getMessageCase()) {
      case READY -> {
        policyReady = true;
        if (policyDownSinceNanos != 0) {
          log.info("session {}: policy-service is back after {} ms", sessionId,
              (System.nanoTime() - policyDownSinceNanos) / 1_000_000);
          policyDownSinceNanos = 0;
        }
        if (current != null) {
          policy.onNext(SessionRequest.newBuilder().setInstruction(current.getInstruction()).build());
        }
        pump();
      }
      case CHUNK -> {
        inFlight = false;
        if (phase == Phase.RUNNING && !halted && inFlightEpoch == instructionEpoch && controller != null) {
          controller.onNext(ExecuteRequest.newBuilder().setChunk(response.getChunk().getChunk())
              .putAllTraceContext(services.tracing().inject(Context.root().with(inFlightStep))).build());
          chunksForwarded++;
          long gatewayNanos = System.nanoTime() - inFlightArrivalNanos;
          services.metrics().step(gatewayNanos);
          if (open.getReportSteps()) {
            send(GatewayMessage.newBuilder().setStepForwarded(StepForwarded.newBuilder()
                .setObservationSequence(inFlightSequence).setGatewayLatency(ProtoTimes.duration(
                    Duration.ofNanos(gatewayNanos)))).build());
          }
          endStep(null);
        } else {
          services.metrics().observationDropped("answered_after_subgoal_change");
          endStep("answered after the subgoal changed; not executed");
        }
        pump();
      }
      case ERROR -> {
        inFlight = false;
        endStep("policy-service: " + Status.fromCodeValue(response.getError().getCode()).getCode() + " "
            + response.getError().getMessage());
        services.metrics().observationDropped("policy_" + Status.fromCodeValue(response.getError().getCode())
            .getCode().name().toLowerCase(Locale.ROOT));
        pump();
      }
      case SUPERSEDED, MESSAGE_NOT_SET -> { }
    }
  }

  /** Ends the in-flight control step's span; {@code failure} null if its chunk went to the bridge. */
  private void endStep(String failure) {
    if (inFlightStep == null) {
      return;
    }
    if (failure != null) {
      inFlightStep.setStatus(StatusCode.ERROR, failure);
    }
    inFlightStep.end();
    inFlightStep = null;
  }

  private void policyFailed(StreamObserver<SessionRequest> from, Status status) {
    if (from != policy) {
      return;
    }
    policy = null;
    policyReady = false;
    inFlight = false;
    endStep("policy-service stream failed: " + status.getCode());
    if (phase == Phase.FINISHED) {
      return;
    }
    if (policyDownSinceNanos == 0) {
      policyDownSinceNanos = System.nanoTime();
      policyDownReason = status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
      log.warn("session {}: policy-service stream failed ({}); robot {} holds while reconnecting", sessionId,
          policyDownReason, robotId());
      send(GatewayMessage.newBuilder().setHold(HoldNotice.newBuilder().setReason("policy-service unavailable ("
          + policyDownReason + "): no new chunks, the controller bridge brings the robot to a hold; reconnecting for up to "
          + services.properties().policyFailoverTimeout().toMillis() + " ms")).build());
    }
    nextPolicyAttemptNanos = System.nanoTime() + 200_000_000L;
  }

  // ------------------------------------------------------------------ controller

  private void openController() {
    ControllerStream stream = new ControllerStream();
    ControllerBridgeGrpc.newStub(services.channels().controller()).execute(stream);
    controller = stream.requests;
    controller.onNext(ExecuteRequest.newBuilder().setStart(ExecuteStart.newBuilder()
        .setRobot(identity).setStatePeriod(duration(services.properties().statePeriod()))).build());
  }

  private void controllerMessage(StreamObserver<ExecuteRequest> from, ExecuteResponse response) {
    if (from != controller || phase == Phase.FINISHED) {
      return;
    }
    switch (response.getMessageCase()) {
      case STATE -> {
        if (robot.isReady()) {
          send(GatewayMessage.newBuilder().setState(response.getState()).build());
        }
      }
      case SAFETY_EVENT -> send(GatewayMessage.newBuilder().setSafetyEvent(response.getSafetyEvent()).build());
      case REJECTED -> services.metrics().chunkRejected(response.getRejected().getCode());
      case ACCEPTED, MESSAGE_NOT_SET -> { }
    }
  }

  private void controllerFailed(StreamObserver<ExecuteRequest> from, Status status) {
    if (from != controller) {
      return;
    }
    controller = null;
    if (phase != Phase.FINISHED) {
      end(Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_CONTROLLER, "controller-bridge ended robot " + robotId() + "'s execution stream ("
          + status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription()) + ")", true);
    }
  }

  private void halt(String reason) {
    if (identity == null) {
      return;
    }
    if (!halted) {
      halted = true;
      haltedSinceNanos = System.nanoTime();
      pending = null;
    }
    ControllerBridgeGrpc.newStub(services.channels().controller())
        .withDeadlineAfter(services.properties().callTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .halt(HaltRequest.newBuilder().setRobotId(identity.getRobotId()).setReason("robot: " + reason).build(),
            new LoggingObserver<>("halt"));
  }

  /** The robot's mode at the bridge now, or UNSPECIFIED if the bridge cannot say (the Execute stream will). */
  private ExecutionMode bridgeMode() {
    try {
      var states = ControllerBridgeGrpc.newBlockingStub(services.channels().controller())
          .withDeadlineAfter(services.properties().callTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .streamState(StreamStateRequest.newBuilder().setRobotId(open.getRobot().getRobotId()).build());
      return states.hasNext() ? states.next().getMode() : ExecutionMode.EXECUTION_MODE_UNSPECIFIED;
    } catch (StatusRuntimeException e) {
      return ExecutionMode.EXECUTION_MODE_UNSPECIFIED;
    }
  }

  private void resume() {
    if (identity == null) {
      return;
    }
    ControllerBridgeGrpc.newStub(services.channels().controller())
        .withDeadlineAfter(services.properties().callTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .resume(ResumeRequest.newBuilder().setRobotId(identity.getRobotId()).build(), new LoggingObserver<>("resume") {
          @Override
          public void onNext(io.vlaserve.controller.v1.ResumeResponse value) {
            synchronized (RobotSession.this) {
              if (halted) {
                halted = false;
                pausedNanos += System.nanoTime() - haltedSinceNanos;
              }
              if (controller == null && phase != Phase.FINISHED) {
                // The robot was halted when the session began: start executing now.
                openController();
              }
            }
          }

          @Override
          public void onError(Throwable t) {
            super.onError(t);
            Status status = Status.fromThrowable(t);
            synchronized (RobotSession.this) {
              send(GatewayMessage.newBuilder().setHold(HoldNotice.newBuilder()
                  .setReason(GatewayStatus.resumeRefused(status))).build());
            }
          }
        });
  }

  private void clockProbe(ClockProbe probe) {
    Timestamp received = timestamp(Instant.now());
    send(GatewayMessage.newBuilder().setClockReply(ClockProbeReply.newBuilder()
        .setProbeId(probe.getProbeId()).setRobotSendTime(probe.getRobotSendTime())
        .setGatewayReceiveTime(received).setGatewaySendTime(timestamp(Instant.now()))).build());
  }

  // ------------------------------------------------------------------ timer, shutdown, end

  private synchronized void tick() {
    if (phase == Phase.FINISHED) {
      return;
    }
    long now = System.nanoTime();
    if (policy == null && policyDownSinceNanos != 0) {
      if (now - policyDownSinceNanos > services.properties().policyFailoverTimeout().toNanos()) {
        end(Outcome.OUTCOME_FAILED, EndCause.END_CAUSE_POLICY_UNAVAILABLE, "policy-service unavailable for "
            + services.properties().policyFailoverTimeout().toMillis() + " ms (" + policyDownReason
            + "); the robot was brought to a hold", true);
        return;
      }
      if (now >= nextPolicyAttemptNanos) {
        nextPolicyAttemptNanos = now + 500_000_000L;
        openPolicy();
      }
    }
    if (phase == Phase.RUNNING && current != null && !halted && policyDownSinceNanos == 0
        && subgoalElapsedNanos() > GatewayConfiguration.of(current.getMaxDuration()).toNanos()) {
      failSubgoal(SubgoalStatus.SUBGOAL_STATUS_TIMED_OUT, String.format(Locale.ROOT, "timed out: its budget of"
          + " %.1f s (%d steps x %.1f) ran out", GatewayConfiguration.of(current.getMaxDuration()).toMillis() / 1e3,
          current.getMaxSteps(), services.properties().subgoalTimeFactor()));
    }
  }

  /** Tells the robot to hold and ends the session with UNAVAILABLE: the gateway is stopping. */
  synchronized void shutdown() {
    if (phase == Phase.FINISHED) {
      return;
    }
    send(GatewayMessage.newBuilder().setHold(HoldNotice.newBuilder()
        .setReason("the gateway is shutting down: the robot is brought to a hold; reconnect to continue")).build());
    boolean wasRegistered = registered;
    release();
    phase = Phase.FINISHED;
    if (wasRegistered) { // counted as active only once registered (release() forgets it)
      services.metrics().sessionEnded("shutdown", "unspecified");
    }
    if (!robotClosed) {
      robotClosed = true;
      robot.onError(GatewayStatus.shuttingDown().asRuntimeException());
    }
  }

  /** Ends the session with an outcome; closes the robot's stream if {@code tellRobot}. */
  private void end(Outcome outcome, EndCause cause, String reason, boolean tellRobot) {
    if (phase == Phase.FINISHED) {
      return;
    }
    boolean wasRegistered = registered;
    release();
    phase = Phase.FINISHED;
    if (wasRegistered) {
      services.metrics().sessionEnded(outcome.name().substring("OUTCOME_".length()).toLowerCase(Locale.ROOT),
          cause.name().substring("END_CAUSE_".length()).toLowerCase(Locale.ROOT));
    }
    log.info("session {}: robot {} {}: {}", sessionId, robotId(), outcome, reason);
    if (tellRobot && !robotClosed) {
      send(GatewayMessage.newBuilder().setOutcome(SessionOutcome.newBuilder()
          .setOutcome(outcome).setCause(cause).setReason(reason).setSubgoalsCompleted(completed.size()).setReplans(replans)
          .setElapsed(duration(Duration.ofNanos(System.nanoTime() - startedNanos)))).build());
      robotClosed = true;
      robot.onCompleted();
    }
  }

  /** Fails the stream before a session exists (bad open, unknown embodiment, unplannable task). */
  private void fail(Status status) {
    fail(status.asRuntimeException());
  }

  /** As {@link #fail(Status)}, keeping the exception's trailers (e.g. RetryInfo). */
  private void fail(StatusRuntimeException error) {
    boolean wasRegistered = registered;
    release();
    phase = Phase.FINISHED;
    if (wasRegistered) { // release() has just forgotten it: read before
      services.metrics().sessionEnded("rejected", "unspecified");
    }
    if (!robotClosed) {
      robotClosed = true;
      robot.onError(error);
    }
  }

  /** Closes the policy and execution streams (the bridge then holds the robot) and frees the robot id. */
  private void release() {
    endStep(phase == Phase.FINISHED ? null : "session ended");
    if (timer != null) {
      timer.cancel(false);
    }
    if (policy != null) {
      ClientCallStreamObserver<SessionRequest> closing = policy;
      policy = null;
      closing.onCompleted();
    }
    if (controller != null) {
      ClientCallStreamObserver<ExecuteRequest> closing = controller;
      controller = null;
      closing.onCompleted();
    }
    if (registered) {
      registered = false;
      services.registry().unregister(identity.getRobotId(), this);
    }
  }

  private void send(GatewayMessage message) {
    if (!robotClosed) {
      robot.onNext(message);
    }
  }

  private static com.google.protobuf.Duration duration(Duration duration) {
    return ProtoTimes.duration(duration);
  }

  private static Timestamp timestamp(Instant instant) {
    return ProtoTimes.timestamp(instant);
  }

  // ------------------------------------------------------------------ stream observers

  private final class PolicyStream implements ClientResponseObserver<SessionRequest, SessionResponse> {
    ClientCallStreamObserver<SessionRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<SessionRequest> requestStream) {
      requests = requestStream;
    }

    @Override
    public void onNext(SessionResponse value) {
      synchronized (RobotSession.this) {
        policyChunk(requests, value);
      }
    }

    @Override
    public void onError(Throwable t) {
      synchronized (RobotSession.this) {
        policyFailed(requests, Status.fromThrowable(t));
      }
    }

    @Override
    public void onCompleted() {
      synchronized (RobotSession.this) {
        policyFailed(requests, Status.UNAVAILABLE.withDescription("policy-service closed the session"));
      }
    }
  }

  private final class ControllerStream implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
    ClientCallStreamObserver<ExecuteRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<ExecuteRequest> requestStream) {
      requests = requestStream;
    }

    @Override
    public void onNext(ExecuteResponse value) {
      synchronized (RobotSession.this) {
        controllerMessage(requests, value);
      }
    }

    @Override
    public void onError(Throwable t) {
      synchronized (RobotSession.this) {
        controllerFailed(requests, Status.fromThrowable(t));
      }
    }

    @Override
    public void onCompleted() {
      synchronized (RobotSession.this) {
        controllerFailed(requests, Status.UNAVAILABLE.withDescription("controller-bridge closed the stream"));
      }
    }
  }

  private static class LoggingObserver<T> implements StreamObserver<T> {
    private final String call;

    LoggingObserver(String call) {
      this.call = call;
    }

    @Override
    public void onNext(T value) {}

    @Override
    public void onError(Throwable t) {
      log.warn("{} at the controller bridge failed: {}", call, Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {}
  }
}
