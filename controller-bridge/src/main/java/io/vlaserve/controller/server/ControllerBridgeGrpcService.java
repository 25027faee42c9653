package io.vlaserve.controller.server;

import io.vlaserve.controller.messages.ControllerMessages;
import io.vlaserve.controller.messages.ProtoTime;
import io.vlaserve.controller.messages.InvalidRequestException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.vlaserve.service.tracing.VlaTracing;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.controller.ChunkVerdict;
import io.vlaserve.controller.ControllerStateException;
import io.vlaserve.controller.ExecutionMode;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.InvalidChunkException;
import io.vlaserve.controller.v1.ChunkAccepted;
import io.vlaserve.controller.v1.ChunkRejected;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.controller.v1.ExecuteStart;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.GetSafetyLimitsRequest;
import io.vlaserve.controller.v1.HaltRequest;
import io.vlaserve.controller.v1.HaltResponse;
import io.vlaserve.controller.v1.ResumeRequest;
import io.vlaserve.controller.v1.ResumeResponse;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.controller.v1.SetSafetyLimitsRequest;
import io.vlaserve.controller.v1.StreamStateRequest;
import io.vlaserve.service.audit.AuditLog;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import jakarta.annotation.PreDestroy;
import org.springframework.stereotype.Service;

/**
 * {@code vla.controller.v1.ControllerBridge}: a thin adapter from RPCs to the robots'
 * {@link io.vlaserve.controller.RobotController}s. Errors become statuses in
 * {@link ControllerStatus} only. Thread-safe: per-call state lives in the call's own objects.
 */
@Service
public class ControllerBridgeGrpcService extends ControllerBridgeGrpc.ControllerBridgeImplBase {
  /**
   * How long Halt and Resume wait for the loop to apply them; a loop that takes longer is stalled,
   * and the caller is told so (UNAVAILABLE) instead of being answered OK for a halt not yet in force.
   */
  private static final long APPLY_TIMEOUT_MILLIS = 1000;
  /** How soon a stream whose transport was not ready checks again whether it can send state. */
  private static final long STATE_POLL_NANOS = 2_000_000;

  private final RobotFleet fleet;
  private final ControllerProperties properties;
  private final ControllerMetrics metrics;
  private final ProtoTime time = ProtoTime.system();
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1,
      Thread.ofPlatform().name("controller-state").daemon(true).factory());

  private final VlaTracing tracing;
  /** The flight recorder, or null if recording is off. */
  private final BridgeRecording recording;

  public ControllerBridgeGrpcService(RobotFleet fleet, ControllerProperties properties, ControllerMetrics metrics,
      VlaTracing tracing, org.springframework.beans.factory.ObjectProvider<BridgeRecording> recording) {
    this.recording = recording.getIfAvailable();
    this.tracing = tracing;
    this.fleet = fleet;
    this.properties = properties;
    this.metrics = metrics;
  }

  /** Stops the state timer when the application context closes. */
  @PreDestroy
  void close() {
    scheduler.shutdownNow();
  }

  // ------------------------------------------------------------------ Execute

  @Override
  public StreamObserver<ExecuteRequest> execute(StreamObserver<ExecuteResponse> responses) {
    return new ExecuteCall((ServerCallStreamObserver<ExecuteResponse>) responses);
  }

  /**
   * One Execute stream: {@code start}, then chunks. Answers each chunk at once, forwards the robot's
   * safety events, and sends state at the requested period (states are skipped while the client is
   * not reading; answers and events never are). Closing the stream, either side, makes the robot
   * decelerate to a hold. Every write to the client is synchronized on this call.
   */
  /** The Execute streams open now, for the drain. */
  private final java.util.Set<ExecuteCall> openCalls = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /** Set by the drain: no Execute starts from then on (a gateway's retry would drive the robot here again). */
  private volatile boolean draining;

  /**
   * Ends every open Execute stream with {@code status}, each robot brought to a hold within its
   * limits: a bridge that is going away tells the gateways at once instead of at the end of its
   * gRPC grace, so that they can open execution where the robots are driven next. From then on
   * this bridge starts no Execute stream: a gateway failing over at once would otherwise open it
   * here again while the robot's agent is still linked, and drive the robot on a bridge going away.
   *
   * @return how many streams were ended
   */
  int endExecutions(Status status) {
    draining = true;
    int ended = 0;
    for (ExecuteCall call : List.copyOf(openCalls)) {
      call.end(status);
      ended++;
    }
    return ended;
  }

  private final class ExecuteCall implements StreamObserver<ExecuteRequest> {
    private final ServerCallStreamObserver<ExecuteResponse> responses;
    private Robot robot;
    private ExecutionSettings settings;
    private long statePeriodNanos;
    private long lastChunkPeriodNanos;
    private long lastStateNanos;
    private Runnable unsubscribe;
    private ScheduledFuture<?> stateTask;
    private boolean closed;
    /** Whether this stream asked to be recorded in full (ExecuteStart.record) and is. */
    private boolean recordingStream;

    ExecuteCall(ServerCallStreamObserver<ExecuteResponse> responses) {
      this.responses = responses;
      responses.setOnCancelHandler(this::release);
      openCalls.add(this);
    }

    /** Ends the stream with {@code status}, the robot brought to a hold (the bridge is going away). */
    void end(Status status) {
      synchronized (this) {
        if (closed) {
          return;
        }
        release();
        responses.onError(status.asRuntimeException());
      }
    }

    @Override
    public void onNext(ExecuteRequest request) {
      try {
        switch (request.getMessageCase()) {
          case START -> start(request.getStart());
          case CHUNK -> traced(request);
          case MESSAGE_NOT_SET -> throw new InvalidRequestException(
              "ExecuteRequest: empty (expected: start first, then chunks)");
        }
      } catch (RuntimeException e) {
        fail(e);
      }
    }

    private void start(ExecuteStart start) {
      if (robot != null) {
        throw new InvalidRequestException("start: sent twice (expected: one start, then chunks)");
      }
      if (!start.hasRobot() || start.getRobot().getRobotId().isEmpty()) {
        throw new InvalidRequestException("start.robot.robot_id: empty (expected: the robot to drive, e.g. sim-0)");
      }
      Robot target = fleet.robot(start.getRobot().getRobotId());
      if (draining) {
        throw new BridgeDrainingException(target.id());
      }
      ExecutionSettings requested = ControllerMessages.settings(start, properties.execution().defaults());
      try {
        target.controller().config().checkSettings(requested);
      } catch (IllegalArgumentException e) {
        throw new InvalidRequestException("start." + e.getMessage());
      }
      ExecutionMode mode = target.controller().mode();
      if (mode == ExecutionMode.HALTED || mode == ExecutionMode.ESTOPPED) {
        throw new ControllerStateException("robot " + target.id() + " is " + (mode == ExecutionMode.HALTED
            ? "halted" : "e-stopped") + "; call Resume before executing");
      }
      if (target.driver() instanceof RemoteRobotDriver remote && !remote.connected()) {
        throw new AgentNotLinkedException(target.id());
      }
      target.claim(this, start.getSessionId(), start.getConnectionEpoch());
      AuditLog.record("execute-start", target.id(), AuditLog.caller(), "ok", Map.of());
      if (recording != null) {
        recording.executionStarted(target.id(), requested);
        if (start.getRecord()) {
          recording.recordStream(target.id(), true);
          recordingStream = true;
        }
      }
      synchronized (this) {
        robot = target;
        settings = requested;
        statePeriodNanos = start.hasStatePeriod() ? ProtoTime.nanos(start.getStatePeriod()) : 0;
        lastChunkPeriodNanos = properties.execution().statePeriod().toNanos();
        unsubscribe = robot.subscribe(event -> send(ExecuteResponse.newBuilder()
            .setSafetyEvent(ControllerMessages.event(event, time)).build()));
        stateTask = scheduler.schedule(this::stateTick, 0, TimeUnit.NANOSECONDS);
      }
    }

    /** A chunk, inside a span of its control step's trace when the message carries one. */
    private void traced(ExecuteRequest request) {
      if (request.getTraceContextCount() == 0) {
        chunk(request.getChunk(), null);
        return;
      }
      Span span = tracing.tracer().spanBuilder("controller.chunk")
          .setParent(tracing.extract(request.getTraceContextMap()))
          .setAttribute("vla.robot_id", robot == null ? "" : robot.id())
          .setAttribute("vla.chunk_id", request.getChunk().getChunkId())
          .startSpan();
      try {
        chunk(request.getChunk(), span);
      } finally {
        span.end();
      }
    }

    private void chunk(io.vlaserve.common.v1.ActionChunk chunk, Span span) {
      if (robot == null) {
        throw new InvalidRequestException("first message: chunk (expected: start, naming the robot to drive)");
      }
      ChunkVerdict verdict;
      try {
        var parsed = ControllerMessages.chunk(chunk, time, properties.maxChunkSteps());
        verdict = robot.controller().submit(parsed, settings);
        if (verdict.accepted()) {
          synchronized (this) {
            lastChunkPeriodNanos = parsed.stepPeriodNanos();
          }
        }
      } catch (InvalidChunkException e) {
        // Refused at the edge: the robot never sees it, and the stream goes on.
        verdict = new ChunkVerdict(chunk.getChunkId(), ChunkVerdict.Rejection.INVALID, 0, 0, e.getMessage());
      }
      metrics.countChunk(robot.id(), verdict);
      if (recording != null) {
        recording.record(BridgeRecording.CHUNKS, robot.id(),
            io.vlaserve.controller.v1.ExecuteRequest.newBuilder().setChunk(chunk).build());
      }
      if (span != null) {
        span.setAttribute("vla.accepted", verdict.accepted());
        span.setAttribute("vla.skipped_steps", verdict.skippedSteps());
        span.setAttribute("vla.observation_age_ms", verdict.observationAgeNanos() / 1e6);
        if (!verdict.accepted()) {
          span.setStatus(StatusCode.ERROR, verdict.message());
        }
      }
      ExecuteResponse answer = verdict.accepted()
          ? ExecuteResponse.newBuilder().setAccepted(ChunkAccepted.newBuilder()
              .setChunkId(verdict.chunkId())
              .setSkippedSteps(verdict.skippedSteps())
              .setObservationAge(ProtoTime.duration(verdict.observationAgeNanos()))).build()
          : ExecuteResponse.newBuilder().setRejected(ChunkRejected.newBuilder()
              .setChunkId(verdict.chunkId())
              .setCode(ControllerStatus.codeOf(verdict.rejection()).value())
              .setMessage(verdict.message())).build();
      if (recording != null) {
        recording.record(BridgeRecording.VERDICTS, robot.id(), answer);
      }
      send(answer);
    }

    /**
     * Sends state if due and wakes up again when the next is due: one wake-up per state message
     * rather than a poll every few milliseconds (16 streams polled at 500 Hz took a tenth of a core).
     */
    private void stateTick() {
      long next = sendStateIfDue();
      synchronized (this) {
        if (!closed) {
          stateTask = scheduler.schedule(this::stateTick, next, TimeUnit.NANOSECONDS);
        }
      }
    }

    /** Sends state if due; returns how long until the stream should look again, nanoseconds. */
    private long sendStateIfDue() {
      ExecuteResponse state;
      long period;
      synchronized (this) {
        if (closed || robot == null) {
          return STATE_POLL_NANOS;
        }
        period = statePeriodNanos > 0 ? statePeriodNanos : lastChunkPeriodNanos;
        long now = System.nanoTime();
        long sinceLast = now - lastStateNanos;
        if (sinceLast < period) {
          return period - sinceLast;
        }
        if (!responses.isReady()) {
          return STATE_POLL_NANOS;
        }
        lastStateNanos = now;
        state = ExecuteResponse.newBuilder().setState(state(robot)).build();
      }
      send(state);
      return period;
    }

    private synchronized void send(ExecuteResponse response) {
      if (!closed) {
        responses.onNext(response);
      }
    }

    private void fail(RuntimeException e) {
      Status status = ControllerStatus.of(e);
      synchronized (this) {
        if (closed) {
          return;
        }
        release();
        responses.onError(status.asRuntimeException());
      }
    }

    @Override
    public void onError(Throwable t) {
      release();
    }

    @Override
    public void onCompleted() {
      synchronized (this) {
        if (closed) {
          return;
        }
        release();
        responses.onCompleted();
      }
    }

    /** Stops the robot's motion and frees it for another stream; idempotent. */
    private synchronized void release() {
      if (closed) {
        return;
      }
      closed = true;
      openCalls.remove(this);
      if (stateTask != null) {
        stateTask.cancel(false);
      }
      if (unsubscribe != null) {
        unsubscribe.run();
      }
      if (robot != null) {
        robot.controller().requestHold();
        robot.release(this);
        if (recordingStream) {
          recordingStream = false;
          recording.recordStream(robot.id(), false);
        }
      }
    }
  }

  // ------------------------------------------------------------------ Halt, Resume

  @Override
  public void halt(HaltRequest request, StreamObserver<HaltResponse> responses) {
    String action = request.getEmergency() ? "estop" : "halt";
    try {
      Robot robot = fleet.robot(request.getRobotId());
      long mark = robot.tickMark();
      robot.controller().requestHalt(request.getEmergency(), request.getReason());
      if (!robot.awaitApplied(mark, APPLY_TIMEOUT_MILLIS)) {
        throw notApplied(robot, request.getEmergency() ? "e-stop" : "halt");
      }
      AuditLog.record(action, robot.id(), AuditLog.caller(), "ok", Map.of("reason", request.getReason()));
      responses.onNext(HaltResponse.newBuilder().setState(state(robot)).build());
      responses.onCompleted();
    } catch (RuntimeException e) {
      Status status = ControllerStatus.of(e);
      AuditLog.record(action, request.getRobotId(), AuditLog.caller(), status.getCode().name(),
          Map.of("reason", request.getReason()));
      responses.onError(status.asRuntimeException());
    }
  }

  @Override
  public void resume(ResumeRequest request, StreamObserver<ResumeResponse> responses) {
    try {
      Robot robot = fleet.robot(request.getRobotId());
      long mark = robot.tickMark();
      boolean estopped = robot.controller().mode() == ExecutionMode.ESTOPPED;
      try {
        robot.controller().resume(request.getConfirmEstopReset());
        if (!robot.awaitApplied(mark, APPLY_TIMEOUT_MILLIS)) {
          throw notApplied(robot, "resume");
        }
      } catch (RuntimeException e) {
        AuditLog.record(estopped ? "estop-reset" : "resume", robot.id(), AuditLog.caller(),
            ControllerStatus.of(e).getCode().name(), Map.of());
        throw e;
      }
      AuditLog.record(estopped ? "estop-reset" : "resume", robot.id(), AuditLog.caller(), "ok", Map.of());
      responses.onNext(ResumeResponse.newBuilder().setState(state(robot)).build());
      responses.onCompleted();
    } catch (RuntimeException e) {
      responses.onError(ControllerStatus.of(e).asRuntimeException());
    }
  }

  private static LoopStalledException notApplied(Robot robot, String what) {
    return new LoopStalledException(String.format(java.util.Locale.ROOT, "the %s of robot %s was requested but"
        + " its control loop did not apply it within %d ms (the loop is stalled or stopped); the request stays"
        + " pending and applies at its next tick; a remote robot holds on its own when setpoints stop", what,
        robot.id(), APPLY_TIMEOUT_MILLIS));
  }

  // ------------------------------------------------------------------ StreamState

  @Override
  public void streamState(StreamStateRequest request, StreamObserver<ExecutionState> responses) {
    ServerCallStreamObserver<ExecutionState> call = (ServerCallStreamObserver<ExecutionState>) responses;
    List<Robot> robots;
    long period;
    try {
      robots = request.getRobotId().isEmpty() ? fleet.robots() : List.of(fleet.robot(request.getRobotId()));
      period = request.hasPeriod() ? ProtoTime.nanos(request.getPeriod()) : 0;
      if (period < 0) {
        throw new InvalidRequestException("period: negative (expected: > 0, or 0 for 10 Hz)");
      }
    } catch (RuntimeException e) {
      responses.onError(ControllerStatus.of(e).asRuntimeException());
      return;
    }
    long effective = period == 0 ? 100_000_000 : Math.max(period, 1_000_000);
    Object lock = new Object();
    ScheduledFuture<?> task = scheduler.scheduleAtFixedRate(() -> {
      synchronized (lock) {
        if (call.isCancelled() || !call.isReady()) {
          return;
        }
        for (Robot robot : robots) {
          call.onNext(state(robot));
        }
      }
    }, 0, effective, TimeUnit.NANOSECONDS);
    call.setOnCancelHandler(() -> task.cancel(false));
  }

  // ------------------------------------------------------------------ safety limits

  @Override
  public void getSafetyLimits(GetSafetyLimitsRequest request, StreamObserver<SafetyLimits> responses) {
    try {
      Robot robot = fleet.robot(request.getRobotId());
      responses.onNext(ControllerMessages.limits(robot.id(), robot.controller().limits()));
      responses.onCompleted();
    } catch (RuntimeException e) {
      responses.onError(ControllerStatus.of(e).asRuntimeException());
    }
  }

  @Override
  public void setSafetyLimits(SetSafetyLimitsRequest request, StreamObserver<SafetyLimits> responses) {
    try {
      if (!request.hasLimits()) {
        throw new InvalidRequestException("limits: missing (expected: the complete safety limits of one robot)");
      }
      if (request.getLimits().getRobotId().isEmpty()) {
        throw new InvalidRequestException("limits.robot_id: empty (expected: the robot whose limits to set)");
      }
      Robot robot = fleet.robot(request.getLimits().getRobotId());
      var before = robot.controller().limits();
      var limits = ControllerMessages.limits(request.getLimits(), before);
      try {
        robot.envelope().check(limits);
      } catch (io.vlaserve.controller.safety.InvalidSafetyLimitsException e) {
        String message = e.getMessage().substring(e.field().length() + 2);
        throw new io.vlaserve.controller.safety.InvalidSafetyLimitsException("limits." + e.field(), message);
      }
      String changes = io.vlaserve.controller.safety.SafetyEnvelope.changes(before, limits);
      AuditLog.record("set-safety-limits", robot.id(), AuditLog.caller(), "ok", Map.of("changes", changes));
      robot.controller().setLimits(limits, changes + " (by " + AuditLog.caller() + ")");
      if (recording != null) {
        recording.limitsChanged(robot.id(), limits);
      }
      responses.onNext(ControllerMessages.limits(robot.id(), limits));
      responses.onCompleted();
    } catch (RuntimeException e) {
      Status status = ControllerStatus.of(e);
      AuditLog.record("set-safety-limits", request.getLimits().getRobotId(), AuditLog.caller(),
          status.getCode().name(), Map.of("error", String.valueOf(status.getDescription())));
      responses.onError(status.asRuntimeException());
    }
  }

  private ExecutionState state(Robot robot) {
    ExecutionSnapshot snapshot = robot.state();
    return ControllerMessages.state(robot.id(), snapshot, metrics.loopStatistics(robot.loop()), time);
  }
}
