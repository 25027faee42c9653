package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.HaltRequest;
import io.vlaserve.controller.v1.HaltResponse;
import io.vlaserve.controller.v1.ResumeRequest;
import io.vlaserve.controller.v1.ResumeResponse;
import io.vlaserve.controller.v1.StreamStateRequest;
import io.vlaserve.planner.PlannedSubgoal;
import io.vlaserve.planner.PlannedTask;
import io.vlaserve.planner.Planner;
import io.vlaserve.planner.PlanningException;
import io.vlaserve.planner.PlanningRequest;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.PlannerGatewayGrpc;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SubgoalSignal;
import io.vlaserve.policy.v1.CameraSpec;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SessionReady;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.service.tracing.VlaTracing;
import io.vlaserve.testing.Await;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A gateway service on a loopback socket with stand-ins for policy-service, the controller bridge
 * and the planner that the test scripts, and a robot stream that records what the gateway sends.
 * No Spring: the service is built as its Spring configuration builds it.
 */
final class SessionHarness implements AutoCloseable {
  /** How long a test waits for something the gateway does on another thread: a guard against a hang. */
  static final Duration PATIENCE = Await.DEFAULT_LIMIT;
  /** Long enough that no slow timer fails a session whose policy comes back; tests of the failover set their own. */
  static final Duration FAILOVER = Duration.ofSeconds(60);
  /** The gateway's unary calls (metadata, bridge state, halt, resume): no deadline a slow machine could miss. */
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
  /** How long the gateway's resume tokens resume. */
  static final Duration TOKEN_LIFETIME = Duration.ofMinutes(10);

  final ScriptedPolicy policy = new ScriptedPolicy();
  final ScriptedBridge bridge = new ScriptedBridge();
  /** A second bridge shard, "bridge-2" (the first is "bridge-1"), in a {@link #sharded} harness; null else. */
  final ScriptedBridge secondBridge;
  final ScriptedPlanner planner = new ScriptedPlanner();
  final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  final RecordingExporter spans = new RecordingExporter();
  final GatewayProperties properties;
  final PlannerGatewayGrpcService service;
  /** The flight recorder, as the app wires it, recording every robot in full into a temporary directory. */
  final GatewayRecording recording;
  final Path recordings;

  private final Server policyServer;
  private final Server bridgeServer;
  private final Server gatewayServer;
  private final ManagedChannel policyChannel;
  private final ManagedChannel bridgeChannel;
  private final Server secondBridgeServer;
  private final ManagedChannel secondBridgeChannel;
  private final ManagedChannel gatewayChannel;
  private final VlaTracing tracing = new VlaTracing("planner-gateway", spans, false, 1.0);

  SessionHarness() throws IOException {
    this(3, FAILOVER);
  }

  SessionHarness(int maxReplans, Duration policyFailoverTimeout) throws IOException {
    this(maxReplans, policyFailoverTimeout, CALL_TIMEOUT, resume(null), Clock.systemUTC());
  }

  /** A gateway signing resume tokens with the keys in {@code keys}, judging them by {@code wallClock}. */
  SessionHarness(Path keys, Clock wallClock) throws IOException {
    this(3, FAILOVER, CALL_TIMEOUT, resume(keys), wallClock);
  }

  SessionHarness(int maxReplans, Duration policyFailoverTimeout, Duration callTimeout, GatewayProperties.Resume resume,
      Clock wallClock) throws IOException {
    this(maxReplans, policyFailoverTimeout, callTimeout, resume, wallClock, PATIENCE);
  }

  /** As the others, with how long a shutdown waits for the bridge to let go of the robots. */
  SessionHarness(int maxReplans, Duration policyFailoverTimeout, Duration callTimeout, GatewayProperties.Resume resume,
      Clock wallClock, Duration shutdownGrace) throws IOException {
    this(maxReplans, policyFailoverTimeout, callTimeout, resume, wallClock, shutdownGrace, false);
  }

  /** A gateway with two bridge shards, {@link #bridge} ("bridge-1") and {@link #secondBridge} ("bridge-2"). */
  static SessionHarness sharded(Path keys, Clock wallClock) throws IOException {
    return new SessionHarness(3, FAILOVER, CALL_TIMEOUT, resume(keys), wallClock, PATIENCE, true);
  }

  private SessionHarness(int maxReplans, Duration policyFailoverTimeout, Duration callTimeout,
      GatewayProperties.Resume resume, Clock wallClock, Duration shutdownGrace, boolean sharded) throws IOException {
    properties = new GatewayProperties("unused", "unused", List.of(), new GatewayProperties.Planner("embedded", null),
        Duration.ofMillis(500), maxReplans, 1.5, policyFailoverTimeout, policyFailoverTimeout, callTimeout,
        Duration.ofMillis(100), shutdownGrace,
        new GatewayProperties.Quota(30, 60, 10, 8, Duration.ofSeconds(5), 32, Duration.ofSeconds(5)), resume,
        io.vlaserve.planner.v1.ChunkContinuation.CHUNK_CONTINUATION_BLEND, null);
    policyServer = start(policy);
    bridgeServer = start(bridge);
    policyChannel = channel(policyServer);
    bridgeChannel = channel(bridgeServer);
    secondBridge = sharded ? new ScriptedBridge() : null;
    secondBridgeServer = sharded ? start(secondBridge) : null;
    secondBridgeChannel = sharded ? channel(secondBridgeServer) : null;
    GatewayConfiguration.ServiceChannels channels = sharded
        ? new GatewayConfiguration.ServiceChannels(policyChannel, new BridgeShards(List.of(
            new BridgeShards.Shard("bridge-1", bridgeChannel), new BridgeShards.Shard("bridge-2", secondBridgeChannel))))
        : new GatewayConfiguration.ServiceChannels(policyChannel, bridgeChannel);
    recordings = java.nio.file.Files.createTempDirectory("gateway-recordings");
    recording = new GatewayRecording(new GatewayRecording.Properties(true, recordings, Duration.ofSeconds(30),
        org.springframework.util.unit.DataSize.ofMegabytes(100), java.util.Set.of("*")));
    service = new PlannerGatewayGrpcService(channels,
        planner, new GatewayMetrics(meters), properties, tracing, wallClock, recording);
    gatewayServer = start(service);
    gatewayChannel = channel(gatewayServer);
  }

  /** Resume settings: tokens live {@link #TOKEN_LIFETIME}; {@code keys} null for a random key. */
  static GatewayProperties.Resume resume(Path keys) {
    return new GatewayProperties.Resume(keys, Duration.ofSeconds(10), TOKEN_LIFETIME, Duration.ofSeconds(5), 1000);
  }

  private static Server start(io.grpc.BindableService service) throws IOException {
    return Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(service).build().start();
  }

  private static ManagedChannel channel(Server server) {
    return Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(), InsecureChannelCredentials.create()).build();
  }

  /** Opens a robot stream and sends {@code open} on it. */
  RobotStream open(SessionOpen open) {
    RobotStream robot = connect();
    robot.send(RobotMessage.newBuilder().setOpen(open).build());
    return robot;
  }

  /** Opens a robot stream and sends nothing yet. */
  RobotStream connect() {
    RobotStream robot = new RobotStream();
    robot.requests = PlannerGatewayGrpc.newStub(gatewayChannel).robotSession(robot);
    return robot;
  }

  PlannerGatewayGrpc.PlannerGatewayBlockingStub blockingGateway() {
    return PlannerGatewayGrpc.newBlockingStub(gatewayChannel).withDeadlineAfter(PATIENCE.toSeconds(), TimeUnit.SECONDS);
  }

  static SessionOpen open(String robotId, String task) {
    return SessionOpen.newBuilder().setRobot(RobotIdentity.newBuilder().setRobotId(robotId)).setTask(task).build();
  }

  /** A plan of subgoals with budgets far beyond any test's length, unless a test times one out. */
  static PlannedTask plan(String rationale, String... instructions) {
    List<PlannedSubgoal> subgoals = new ArrayList<>();
    for (String instruction : instructions) {
      subgoals.add(new PlannedSubgoal(instruction, 100_000));
    }
    return new PlannedTask(subgoals, "scripted", rationale);
  }

  static RobotMessage observation(long sequence) {
    return RobotMessage.newBuilder().setObservation(RobotObservation.newBuilder()
        .setObservation(io.vlaserve.common.v1.Observation.newBuilder().setSequence(sequence))).build();
  }

  static RobotMessage signal(String subgoalId, boolean succeeded, String detail) {
    return RobotMessage.newBuilder().setObservation(RobotObservation.newBuilder()
        .addSignals(SubgoalSignal.newBuilder().setSubgoalId(subgoalId).setSucceeded(succeeded).setDetail(detail)))
        .build();
  }

  /** A counter's count, 0 if it was never incremented. */
  double count(String name, String... tags) {
    Counter counter = meters.find(name).tags(tags).counter();
    return counter == null ? 0 : counter.count();
  }

  int activeSessions() {
    return (int) meters.get("vla.gateway.sessions.active").gauge().value();
  }

  @Override
  public void close() {
    service.shutdown();
    gatewayChannel.shutdownNow();
    gatewayServer.shutdownNow();
    policyChannel.shutdownNow();
    bridgeChannel.shutdownNow();
    if (secondBridgeChannel != null) {
      secondBridgeChannel.shutdownNow();
      secondBridgeServer.shutdownNow();
    }
    policyServer.shutdownNow();
    bridgeServer.shutdownNow();
    tracing.close();
    try {
      gatewayServer.awaitTermination(10, TimeUnit.SECONDS);
      recording.close();
      try (var files = java.nio.file.Files.list(recordings)) {
        for (Path file : files.toList()) {
          java.nio.file.Files.delete(file);
        }
      }
      java.nio.file.Files.delete(recordings);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Waits for the next item of {@code queue}, failing the test if none comes. */
  static <T> T next(BlockingQueue<T> queue, String what) throws InterruptedException {
    T item = queue.poll(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    assertNotNull(item, "timed out waiting for " + what);
    return item;
  }

  // ------------------------------------------------------------------ the robot

  /** The robot's end of a session: what it sends and, in order, what the gateway sent it. */
  static final class RobotStream implements StreamObserver<GatewayMessage> {
    final BlockingQueue<GatewayMessage> received = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    StreamObserver<RobotMessage> requests;

    void send(RobotMessage message) {
      requests.onNext(message);
    }

    /** The next message, which must be of {@code expected}'s kind. */
    GatewayMessage next(GatewayMessage.MessageCase expected) throws InterruptedException {
      GatewayMessage message = SessionHarness.next(received, expected.toString());
      assertEquals(expected, message.getMessageCase(), message.toString());
      return message;
    }

    /** How the gateway closed the stream (OK after an outcome). */
    Status awaitClosed() throws Exception {
      return closed.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void onNext(GatewayMessage value) {
      received.add(value);
    }

    @Override
    public void onError(Throwable t) {
      closed.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      closed.complete(Status.OK);
    }
  }

  // ------------------------------------------------------------------ policy-service

  /** policy-service: answers each session's start with READY and each observation with a chunk, unless told otherwise. */
  static final class ScriptedPolicy extends PolicyServiceGrpc.PolicyServiceImplBase {
    volatile PolicyMetadata metadata = metadata(Duration.ofMillis(100));
    volatile Status metadataFailure;
    /** New sessions fail at once with this, if set. */
    volatile Status refuseSessions;
    /** GetMetadata answers only once this opens, if set. */
    volatile CountDownLatch metadataGate;
    volatile boolean answerObservations = true;
    /** New sessions never say they are ready, if set: a policy-service that accepts calls but is stuck. */
    volatile boolean stuck;
    final BlockingQueue<PolicyCall> calls = new LinkedBlockingQueue<>();

    static PolicyMetadata metadata(Duration stepPeriod) {
      return PolicyMetadata.newBuilder().setModelName("stand-in").setActionProfile("tiny-sim")
          .addCameras(CameraSpec.newBuilder().setName("third_person").setWidth(64).setHeight(48))
          .addCameras(CameraSpec.newBuilder().setName("wrist").setWidth(32).setHeight(32)
              .addAcceptedEncodings(io.vlaserve.common.v1.ImageEncoding.IMAGE_ENCODING_JPEG))
          .addSkills("move to the red block").addSkills("grasp the red block").addSkills("lift the block")
          .setStepPeriod(io.vlaserve.proto.ProtoTimes.duration(stepPeriod)).build();
    }

    @Override
    public void getMetadata(GetMetadataRequest request, StreamObserver<PolicyMetadata> responses) {
      CountDownLatch gate = metadataGate;
      if (gate != null) {
        try {
          gate.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (metadataFailure != null) {
        responses.onError(metadataFailure.asRuntimeException());
        return;
      }
      responses.onNext(metadata);
      responses.onCompleted();
    }

    @Override
    public StreamObserver<SessionRequest> session(StreamObserver<SessionResponse> responses) {
      Status refusal = refuseSessions;
      PolicyCall call = new PolicyCall((ServerCallStreamObserver<SessionResponse>) responses, refusal != null);
      if (refusal != null) {
        call.fail(refusal);
      }
      calls.add(call);
      return call;
    }

    PolicyCall nextCall() throws InterruptedException {
      return next(calls, "a policy session");
    }

    /** One policy session: the requests it got, and a way to answer or end it. */
    final class PolicyCall extends ScriptedCall<SessionRequest, SessionResponse> {
      /** Refused at once ({@link #refuseSessions} was set). */
      final boolean refused;

      PolicyCall(ServerCallStreamObserver<SessionResponse> responses, boolean refused) {
        super(responses, "a request on the policy session");
        this.refused = refused;
      }

      void chunk(long sequence) {
        answer(SessionResponse.newBuilder().setChunk(InferResponse.newBuilder()
            .setChunk(ActionChunk.newBuilder().setChunkId(sequence).setObservationSequence(sequence))).build());
      }

      @Override
      void received(SessionRequest request) {
        if (request.hasStart() && !stuck) {
          answer(SessionResponse.newBuilder().setReady(SessionReady.newBuilder().setMetadata(metadata)).build());
        } else if (request.hasObservation() && answerObservations) {
          chunk(request.getObservation().getSequence());
        }
      }
    }
  }

  // ------------------------------------------------------------------ controller-bridge

  /**
   * controller-bridge: reports {@link #mode}, records executions, halts and resumes; answers an
   * Execute start with a state if {@link #answerStarts} (as the real bridge does once the stream
   * drives the robot), or refuses it with {@link #refuseStarts}, or, as the real bridge does, when
   * {@link #mode} is halted or e-stopped.
   */
  static final class ScriptedBridge extends ControllerBridgeGrpc.ControllerBridgeImplBase {
    volatile ExecutionMode mode = ExecutionMode.EXECUTION_MODE_IDLE;
    volatile Status resumeFailure;
    volatile boolean answerStarts;
    volatile Status refuseStarts;
    /** The robots this bridge drives (others: NOT_FOUND, as the real bridge); null for every robot. */
    volatile java.util.Set<String> robots;
    /** StreamState calls: how often the gateway looked for a robot here. */
    final java.util.concurrent.atomic.AtomicInteger stateAsks = new java.util.concurrent.atomic.AtomicInteger();

    private Status unknown(String robotId) {
      java.util.Set<String> known = robots;
      return known == null || known.contains(robotId) ? null
          : Status.NOT_FOUND.withDescription("unknown robot " + robotId);
    }
    final BlockingQueue<ExecuteCall> executions = new LinkedBlockingQueue<>();
    final BlockingQueue<HaltRequest> halts = new LinkedBlockingQueue<>();
    final BlockingQueue<ResumeRequest> resumes = new LinkedBlockingQueue<>();

    @Override
    public void streamState(StreamStateRequest request, StreamObserver<ExecutionState> responses) {
      stateAsks.incrementAndGet();
      Status notHere = unknown(request.getRobotId());
      if (notHere != null) {
        responses.onError(notHere.asRuntimeException());
        return;
      }
      responses.onNext(ExecutionState.newBuilder().setRobotId(request.getRobotId()).setMode(mode)
          .setMeasured(io.vlaserve.common.v1.RobotState.getDefaultInstance()).build());
      responses.onCompleted();
    }

    @Override
    public StreamObserver<ExecuteRequest> execute(StreamObserver<ExecuteResponse> responses) {
      ExecuteCall call = new ExecuteCall(responses);
      executions.add(call);
      return call;
    }

    @Override
    public void halt(HaltRequest request, StreamObserver<HaltResponse> responses) {
      halts.add(request);
      responses.onNext(HaltResponse.getDefaultInstance());
      responses.onCompleted();
    }

    @Override
    public void resume(ResumeRequest request, StreamObserver<ResumeResponse> responses) {
      resumes.add(request);
      Status failure = resumeFailure;
      if (failure != null) {
        responses.onError(failure.asRuntimeException());
        return;
      }
      if (mode == ExecutionMode.EXECUTION_MODE_HALTED || mode == ExecutionMode.EXECUTION_MODE_ESTOPPED) {
        mode = ExecutionMode.EXECUTION_MODE_IDLE; // as the real bridge, which then takes Execute streams again
      }
      responses.onNext(ResumeResponse.getDefaultInstance());
      responses.onCompleted();
    }

    ExecuteCall nextExecution() throws InterruptedException {
      return next(executions, "an Execute stream");
    }

    /** One Execute stream: the requests it got, and a way to answer or end it. */
    final class ExecuteCall extends ScriptedCall<ExecuteRequest, ExecuteResponse> {
      ExecuteCall(StreamObserver<ExecuteResponse> responses) {
        super(responses, "a request on the Execute stream");
      }

      @Override
      void received(ExecuteRequest request) {
        if (!request.hasStart()) {
          return;
        }
        Status refusal = unknown(request.getStart().getRobot().getRobotId());
        if (refusal == null) {
          refusal = refuseStarts;
        }
        ExecutionMode now = mode;
        if (refusal == null && (now == ExecutionMode.EXECUTION_MODE_HALTED || now == ExecutionMode.EXECUTION_MODE_ESTOPPED)) {
          // The real bridge's refusal, in the wording controller.proto documents.
          refusal = Status.FAILED_PRECONDITION.withDescription("robot " + request.getStart().getRobot().getRobotId()
              + " is " + (now == ExecutionMode.EXECUTION_MODE_HALTED ? "halted" : "e-stopped")
              + "; call Resume before executing");
        }
        if (refusal != null) {
          fail(refusal);
        } else if (answerStarts) {
          answer(ExecuteResponse.newBuilder().setState(ExecutionState.newBuilder()
              .setRobotId(request.getStart().getRobot().getRobotId()).setMode(mode)).build());
        }
      }
    }
  }

  /**
   * One call of a scripted service: records what it receives, answers or ends it on the test's
   * word, and says how the gateway ended it.
   */
  abstract static class ScriptedCall<Q, R> implements StreamObserver<Q> {
    final BlockingQueue<Q> requests = new LinkedBlockingQueue<>();
    final CompletableFuture<String> ended = new CompletableFuture<>();
    private final StreamObserver<R> responses;
    private final String what;
    private boolean closed;
    /** When set, the gateway's half-close is recorded but answered only by {@link #complete()}. */
    volatile boolean deferCompletion;

    ScriptedCall(StreamObserver<R> responses, String what) {
      this.responses = responses;
      this.what = what;
    }

    Q next() throws InterruptedException {
      return SessionHarness.next(requests, what);
    }

    synchronized void answer(R response) {
      if (!closed) {
        responses.onNext(response);
      }
    }

    synchronized void fail(Status status) {
      if (!closed) {
        closed = true;
        responses.onError(status.asRuntimeException());
      }
    }

    /** Reacts to a request after it is recorded; nothing by default. */
    void received(Q request) {}

    @Override
    public void onNext(Q request) {
      requests.add(request);
      received(request);
    }

    @Override
    public void onError(Throwable t) {
      ended.complete("error " + Status.fromThrowable(t).getCode());
    }

    /** Ends the call as a half-close from the gateway would have, had it not been deferred. */
    synchronized void complete() {
      if (!closed) {
        closed = true;
        responses.onCompleted();
      }
    }

    @Override
    public synchronized void onCompleted() {
      ended.complete("completed");
      if (!closed && !deferCompletion) {
        closed = true;
        responses.onCompleted();
      }
    }
  }

  // ------------------------------------------------------------------ planner and spans

  /** Answers with the scripted plans or failures in order, then with {@link #fallback}. */
  static final class ScriptedPlanner implements Planner {
    final List<PlanningRequest> requests = new CopyOnWriteArrayList<>();
    final BlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    volatile PlannedTask fallback = SessionHarness.plan("", "move to the red block", "grasp the red block");
    /** Plans wait for this, if set. */
    volatile CountDownLatch gate;

    @Override
    public String name() {
      return "scripted";
    }

    @Override
    public PlannedTask plan(PlanningRequest request) throws PlanningException {
      requests.add(request);
      CountDownLatch waitFor = gate;
      if (waitFor != null) {
        try {
          waitFor.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      Object answer = answers.poll();
      if (answer instanceof PlanningException failure) {
        throw failure;
      }
      return answer == null ? fallback : (PlannedTask) answer;
    }
  }

  /** Keeps every span the gateway ends. */
  static final class RecordingExporter implements SpanExporter {
    final List<SpanData> spans = new CopyOnWriteArrayList<>();

    List<SpanData> named(String name) {
      return spans.stream().filter(span -> span.getName().equals(name)).toList();
    }

    @Override
    public CompletableResultCode export(Collection<SpanData> batch) {
      spans.addAll(batch);
      return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode flush() {
      return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode shutdown() {
      return CompletableResultCode.ofSuccess();
    }
  }
}
