package io.vlaserve.planner.gateway;

import com.google.protobuf.ByteString;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.StreamStateRequest;
import io.vlaserve.planner.EmbeddedPlanner;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.PlannerGatewayGrpc;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SubgoalSignal;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.policy.v1.CameraSpec;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SessionReady;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.proto.ProtoTimes;
import io.vlaserve.service.tracing.VlaTracing;
import io.vlaserve.service.warmup.WarmUpTask;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Rehearses a robot's session before the gateway reports SERVING: a second instance of the
 * gateway's service, with this replica's settings but its own metrics, a throwaway resume key, no
 * tracing export and no recording, serves a made-up robot on loopback sockets, with a stand-in
 * policy-service and bridge in this process. Each round opens a session, plans it with the embedded
 * planner, runs every subgoal through observations, chunks and Execute streams to its end, and
 * resumes it once with its token on a new connection. A replica that has just started takes the
 * robots handed over from one that is shutting down; without this, each of their resumes ran
 * the session's code for the first time in the process, several times slower
 * (ReplicaLossIntegrationTest: 170-375 ms on a new replica against 40-95 ms on one that had served
 * sessions). Touches no robot and no other service; the audit log shows the rehearsal's sessions
 * under robot {@value #ROBOT}.
 */
@Component
class GatewayRehearsal implements WarmUpTask {
  static final String ROBOT = "vla-gateway-rehearsal";
  private static final String TASK = "put the red block on the plate";
  /** Far beyond what one round takes; a round that takes longer is a fault, reported as one. */
  private static final Duration PATIENCE = Duration.ofSeconds(10);
  private static final PolicyMetadata METADATA = PolicyMetadata.newBuilder().setModelName("rehearsal")
      .setActionProfile("tiny-sim")
      .addCameras(CameraSpec.newBuilder().setName("third_person").setWidth(64).setHeight(64))
      .addSkills("move to the red block").addSkills("grasp the red block").addSkills("lift the block")
      .addSkills("move above the plate").addSkills("release the block")
      .setStepPeriod(ProtoTimes.duration(Duration.ofMillis(100))).build();

  /** Put in a connection's queue when its stream closes. */
  private static final GatewayMessage CLOSED = GatewayMessage.newBuilder().build();

  private final GatewayProperties properties;
  private Rehearsal rehearsal;

  @Autowired
  GatewayRehearsal(GatewayProperties properties) {
    this.properties = properties;
  }

  @Override
  public String name() {
    return "a robot's session (rehearsed on loopback)";
  }

  /** Enough for the JIT to have compiled the session's paths; each round is audited, so not more. */
  @Override
  public int maxRounds() {
    return 20;
  }

  @Override
  public void runOnce() {
    try {
      if (rehearsal == null) {
        rehearsal = new Rehearsal(properties);
      }
      rehearsal.session();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** WarmUp calls this after the last round, also after a failed one. */
  @Override
  public void finished() {
    close();
  }

  /** Sessions rehearsed to success since the last {@link #finished}. */
  int sessionsRehearsed() {
    return rehearsal == null ? 0 : rehearsal.sessionsRehearsed;
  }

  private void close() {
    if (rehearsal != null) {
      rehearsal.close();
      rehearsal = null;
    }
  }

  /** The stand-ins, the second gateway and a channel to it. */
  private static final class Rehearsal implements AutoCloseable {
    private final Server policyServer;
    private final Server bridgeServer;
    private final ManagedChannel policyChannel;
    private final ManagedChannel bridgeChannel;
    private final PlannerGatewayGrpcService gateway;
    private final Server gatewayServer;
    private final ManagedChannel robotChannel;
    private final byte[] frame = new byte[64 * 64 * 3];
    private long sequence;
    int sessionsRehearsed;

    Rehearsal(GatewayProperties real) throws IOException {
      policyServer = serve(new StandInPolicy());
      bridgeServer = serve(new StandInBridge());
      policyChannel = channel(policyServer);
      bridgeChannel = channel(bridgeServer);
      GatewayProperties.Resume resume = real.resume();
      GatewayProperties properties = new GatewayProperties("rehearsal", "rehearsal", List.of(),
          new GatewayProperties.Planner("embedded", null), real.observationValidity(), real.maxReplans(),
          real.subgoalTimeFactor(), real.policyFailoverTimeout(), real.bridgeFailoverTimeout(), real.callTimeout(),
          real.statePeriod(), Duration.ZERO, real.quota(),
          // A key of its own: no token of the rehearsal resumes anything on a real replica.
          new GatewayProperties.Resume(null, resume.keysCheckPeriod(), resume.tokenLifetime(), resume.allowedSkew(),
              resume.ledgerCapacity()),
          real.chunkContinuation(), real.prefixMinDelay());
      gateway = new PlannerGatewayGrpcService(new GatewayConfiguration.ServiceChannels(policyChannel, bridgeChannel),
          new EmbeddedPlanner(), new GatewayMetrics(new SimpleMeterRegistry()), properties,
          new VlaTracing("planner-gateway", SpanExporter.composite(List.of()), false, 1.0), Clock.systemUTC(), null);
      gatewayServer = serve(gateway);
      robotChannel = channel(gatewayServer);
    }

    /** One session to its end, its connection dropped in its second subgoal and the session resumed with its token. */
    void session() throws InterruptedException {
      awaitNoSession();
      Connection first = new Connection(SessionOpen.newBuilder().setTask(TASK));
      first.await(GatewayMessage::hasAccepted, "SessionAccepted");
      first.runSubgoal();
      first.awaitSubgoal();
      String interrupted = first.subgoal;
      first.observe(interrupted, false);
      first.take();
      String token = first.latestToken;
      first.drop();
      Connection resumed = resume(token);
      resumed.subgoal = interrupted; // a resumed session goes on with it and does not start it again
      while (!resumed.ended) {
        resumed.runSubgoal();
      }
      resumed.drop();
      if (resumed.outcome == null || resumed.outcome.getOutcome() != io.vlaserve.planner.v1.Outcome.OUTCOME_SUCCEEDED) {
        throw new IllegalStateException("the rehearsal's session did not succeed: "
            + (resumed.outcome == null ? "no outcome" : resumed.outcome.getOutcome() + " " + resumed.outcome.getReason()));
      }
      sessionsRehearsed++;
    }

    /** Resumes with {@code token} once the gateway has let the dropped connection's session go. */
    private Connection resume(String token) throws InterruptedException {
      awaitNoSession();
      Connection resumed = new Connection(SessionOpen.newBuilder().setResumeToken(token));
      resumed.await(GatewayMessage::hasAccepted, "SessionAccepted of the resume");
      return resumed;
    }

    /** Waits until the gateway holds no session of the robot: a robot has one at a time. */
    private void awaitNoSession() throws InterruptedException {
      long deadline = System.nanoTime() + PATIENCE.toNanos();
      while (gateway.sessionsOpen() > 0) {
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("the rehearsal's gateway still holds a session after " + PATIENCE);
        }
        Thread.sleep(1);
      }
    }

    @Override
    public void close() {
      robotChannel.shutdownNow();
      gatewayServer.shutdownNow();
      gateway.shutdown();
      policyChannel.shutdownNow();
      bridgeChannel.shutdownNow();
      policyServer.shutdownNow();
      bridgeServer.shutdownNow();
    }

    /** One robot connection: sends observations, follows the subgoals the gateway starts. */
    private final class Connection implements ClientResponseObserver<RobotMessage, GatewayMessage> {
      private final BlockingQueue<GatewayMessage> received = new LinkedBlockingQueue<>();
      private ClientCallStreamObserver<RobotMessage> requests;
      String subgoal;
      String latestToken = "";
      /** The session's outcome came, or the stream closed. */
      boolean ended;
      private volatile String closedWith = "";
      io.vlaserve.planner.v1.SessionOutcome outcome;

      Connection(SessionOpen.Builder open) {
        PlannerGatewayGrpc.newStub(robotChannel).robotSession(this);
        requests.onNext(RobotMessage.newBuilder().setOpen(open
            .setRobot(RobotIdentity.newBuilder().setRobotId(ROBOT).setEmbodiment("tiny-sim"))
            .setReportsSuccess(true).setReportSteps(true)).build());
      }

      /** Observes until the current (or next) subgoal is over, saying it succeeded from the second step on. */
      void runSubgoal() throws InterruptedException {
        awaitSubgoal();
        String running = subgoal;
        int steps = 0;
        while (running != null && running.equals(subgoal) && !ended) {
          observe(running, ++steps >= 2);
          // The step forwarded, the subgoal over, or a state: progress either way.
          take();
        }
      }

      /** Waits for a subgoal to be started, unless one runs or the session ended. */
      void awaitSubgoal() throws InterruptedException {
        while (subgoal == null && !ended) {
          take();
        }
      }

      void observe(String running, boolean succeeded) {
        Instant now = Instant.now();
        RobotObservation.Builder observation = RobotObservation.newBuilder().setObservation(Observation.newBuilder()
            .setSequence(++sequence).setCaptureTime(ProtoTimes.timestamp(now))
            .addImages(Image.newBuilder().setCamera("third_person").setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8)
                .setWidth(64).setHeight(64).setData(ByteString.copyFrom(frame)))
            .setState(RobotState.newBuilder().setTime(ProtoTimes.timestamp(now)).setEndEffector(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(0.5).setZ(0.2)).setOrientation(Quaternion.newBuilder().setW(1)))
                .setGripper(1)));
        if (succeeded) {
          observation.addSignals(SubgoalSignal.newBuilder().setSubgoalId(running).setSucceeded(true));
        }
        requests.onNext(RobotMessage.newBuilder().setObservation(observation).build());
      }

      void await(java.util.function.Predicate<GatewayMessage> wanted, String what) throws InterruptedException {
        while (!wanted.test(take())) {
          if (ended) {
            throw new IllegalStateException("the rehearsal's session ended before " + what);
          }
        }
      }

      GatewayMessage take() throws InterruptedException {
        GatewayMessage message = received.poll(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
        if (message == null || message == CLOSED) {
          ended = true;
          if (message == CLOSED) {
            throw new IllegalStateException("the rehearsal's gateway closed the robot's stream"
                + (subgoal == null ? "" : " during subgoal " + subgoal) + ": " + closedWith);
          }
          throw new IllegalStateException("the rehearsal's gateway said nothing for " + PATIENCE
              + (subgoal == null ? "" : " during subgoal " + subgoal));
        }
        if (message.hasAccepted()) {
          latestToken = message.getAccepted().getResumeToken();
        } else if (message.hasSubgoal()) {
          if (!message.getSubgoal().getResumeToken().isEmpty()) {
            latestToken = message.getSubgoal().getResumeToken();
          }
          subgoal = message.getSubgoal().getStatus() == SubgoalStatus.SUBGOAL_STATUS_STARTED
              ? message.getSubgoal().getSubgoalId() : null;
        } else if (message.hasOutcome()) {
          outcome = message.getOutcome();
          ended = true;
        }
        return message;
      }

      /** The robot goes away, as one whose connection breaks. */
      void drop() {
        requests.cancel("rehearsal connection done", null);
      }

      @Override
      public void beforeStart(ClientCallStreamObserver<RobotMessage> requestStream) {
        requests = requestStream;
      }

      @Override
      public void onNext(GatewayMessage message) {
        received.add(message);
      }

      @Override
      public void onError(Throwable t) {
        closedWith = io.grpc.Status.fromThrowable(t).toString();
        received.add(CLOSED);
      }

      @Override
      public void onCompleted() {
        closedWith = "completed";
        received.add(CLOSED);
      }
    }
  }

  private static Server serve(io.grpc.BindableService service) throws IOException {
    // Plaintext, so bound to the loopback interface only, for the seconds the warm-up lasts.
    return io.grpc.netty.NettyServerBuilder.forAddress(
            new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0),
            InsecureServerCredentials.create())
        .addService(service).build().start();
  }

  private static ManagedChannel channel(Server server) {
    return Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(), InsecureChannelCredentials.create())
        .build();
  }

  /** policy-service's part: READY at a session's start, a chunk of zeros for every observation. */
  private static final class StandInPolicy extends PolicyServiceGrpc.PolicyServiceImplBase {
    @Override
    public void getMetadata(GetMetadataRequest request, StreamObserver<PolicyMetadata> responses) {
      responses.onNext(METADATA);
      responses.onCompleted();
    }

    @Override
    public StreamObserver<SessionRequest> session(StreamObserver<SessionResponse> responses) {
      return new StreamObserver<>() {
        @Override
        public void onNext(SessionRequest request) {
          if (request.hasStart()) {
            responses.onNext(SessionResponse.newBuilder().setReady(SessionReady.newBuilder().setMetadata(METADATA))
                .build());
          } else if (request.hasObservation()) {
            long observed = request.getObservation().getSequence();
            ActionChunk.Builder chunk = ActionChunk.newBuilder().setChunkId(observed).setObservationSequence(observed)
                .setActionProfile(METADATA.getActionProfile()).setStepPeriod(METADATA.getStepPeriod())
                .setObservationTime(request.getObservation().getCaptureTime());
            for (int step = 0; step < 4; step++) {
              ActionVector.Builder action = ActionVector.newBuilder();
              for (int d = 0; d < 7; d++) {
                action.addValues(d == 6 ? 1 : 0);
              }
              chunk.addSteps(action);
            }
            responses.onNext(SessionResponse.newBuilder().setChunk(InferResponse.newBuilder().setChunk(chunk)).build());
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          responses.onCompleted();
        }
      };
    }
  }

  /** The bridge's part: takes every Execute stream, reports a state at its start and for each chunk. */
  private static final class StandInBridge extends ControllerBridgeGrpc.ControllerBridgeImplBase {
    private static ExecutionState state(String robotId) {
      return ExecutionState.newBuilder().setRobotId(robotId).setMode(ExecutionMode.EXECUTION_MODE_IDLE)
          .setMeasured(RobotState.getDefaultInstance()).build();
    }

    @Override
    public void streamState(StreamStateRequest request, StreamObserver<ExecutionState> responses) {
      responses.onNext(state(request.getRobotId()));
      responses.onCompleted();
    }

    @Override
    public StreamObserver<ExecuteRequest> execute(StreamObserver<ExecuteResponse> responses) {
      return new StreamObserver<>() {
        private String robotId = "";

        @Override
        public synchronized void onNext(ExecuteRequest request) {
          if (request.hasStart()) {
            robotId = request.getStart().getRobot().getRobotId();
          }
          responses.onNext(ExecuteResponse.newBuilder().setState(state(robotId)).build());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public synchronized void onCompleted() {
          responses.onCompleted();
        }
      };
    }
  }
}
