package io.vlaserve.planner.gateway;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ResumeResponse;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A robot session's link to the controller bridge: the robot's {@code Execute} stream, which the
 * chunks go down and its states and safety events come up, and the unary Halt, Resume and
 * StreamState calls.
 *
 * <p><b>Safety.</b> The gateway never commands motion itself: closing the Execute stream, like a
 * gap in the chunks, makes the bridge bring the robot to a hold within its limits.
 *
 * <p>Not thread-safe: the session calls it under its lock (but {@link #mode}, which blocks), and its
 * stream and calls report to the session under that same lock, the stream's only while current.
 */
final class BridgeLink {
  private static final Logger log = LoggerFactory.getLogger(BridgeLink.class);

  /** What the session hears on the Execute stream; called under the session's lock. */
  interface Events {
    void bridgeReported(ExecuteResponse response);

    /** The bridge ended the stream. */
    void executionLost(Status status);
  }

  private final SessionServices services;
  private final Object lock;
  private final Events events;
  private Stream stream;
  private boolean blendAtOnce;
  private boolean record;

  BridgeLink(SessionServices services, Object lock, Events events) {
    this.services = services;
    this.lock = lock;
    this.events = events;
  }

  /**
   * Opens the robot's Execute stream for session {@code sessionId} on connection {@code epoch} (the
   * bridge refuses an epoch lower than one it has seen for the session: a replayed resume token).
   */
  void open(RobotIdentity robot, String sessionId, long epoch) {
    Stream opened = new Stream(robot.getRobotId());
    ControllerBridgeGrpc.newStub(services.channels().bridges().channel(robot.getRobotId())).execute(opened);
    stream = opened;
    opened.requests.onNext(GatewayMessages.executeStart(robot, services.properties().statePeriod(), sessionId, epoch,
        blendAtOnce, record));
  }

  /** Whether Execute streams opened from now on ask the bridge to record them in full (SessionOpen.record). */
  void record(boolean recordStreams) {
    record = recordStreams;
  }

  /** Whether Execute streams opened from now on ask for each chunk to replace the motion at once. */
  void blendAtOnce(boolean atOnce) {
    blendAtOnce = atOnce;
  }

  /** Whether the Execute stream is open, so a chunk can go down it. */
  boolean executing() {
    return stream != null;
  }

  void execute(ActionChunk chunk, Map<String, String> traceContext) {
    stream.requests.onNext(GatewayMessages.chunk(chunk, traceContext));
  }

  /**
   * Closes the Execute stream, if open: the bridge holds the robot.
   *
   * @return completes once the bridge has ended the stream (it has let go of the robot, so another
   *     stream may drive it), or at once if none was open
   */
  CompletableFuture<Void> close() {
    if (stream == null) {
      return CompletableFuture.completedFuture(null);
    }
    Stream closing = stream;
    stream = null;
    closing.requests.onCompleted();
    return closing.ended;
  }

  /** Asks the bridge to halt the robot; a failure is only logged (the robot's own stop applies regardless). */
  void halt(String robotId, String reason) {
    stub(robotId).halt(GatewayMessages.halt(robotId, reason), new LoggingObserver<>("halt"));
  }

  /**
   * Asks the bridge to resume the robot; reports under the session's lock to {@code resumed}, or to
   * {@code refused} with the bridge's answer.
   */
  void resume(String robotId, Runnable resumed, Consumer<Status> refused) {
    stub(robotId).resume(GatewayMessages.resume(robotId), new LoggingObserver<>("resume") {
      @Override
      public void onNext(ResumeResponse value) {
        synchronized (lock) {
          resumed.run();
        }
      }

      @Override
      public void onError(Throwable t) {
        super.onError(t);
        synchronized (lock) {
          refused.accept(Status.fromThrowable(t));
        }
      }
    });
  }

  /**
   * Finds the robot's bridge (among the shards) and returns its mode there, or UNSPECIFIED if no
   * bridge can say (the Execute stream will). Blocks; the later calls go to the bridge found.
   */
  ExecutionMode mode(String robotId) {
    return services.channels().bridges().locate(robotId, services.properties().callTimeout()).mode();
  }

  /** Whether the robot's bridge is known without looking (see {@link BridgeShards#knows}). */
  boolean knows(String robotId, String hint) {
    return services.channels().bridges().knows(robotId, hint);
  }

  /** Where the robot is driven, for the next replica (see {@link BridgeShards#hint}). */
  String hint(String robotId) {
    return services.channels().bridges().hint(robotId);
  }

  private ControllerBridgeGrpc.ControllerBridgeStub stub(String robotId) {
    return ControllerBridgeGrpc.newStub(services.channels().bridges().channel(robotId))
        .withDeadlineAfter(services.properties().callTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  private final class Stream implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
    private final String robotId;
    ClientCallStreamObserver<ExecuteRequest> requests;
    /** Completes when the bridge ends the stream, however it ends. */
    final CompletableFuture<Void> ended = new CompletableFuture<>();

    Stream(String robotId) {
      this.robotId = robotId;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ExecuteRequest> requestStream) {
      requests = requestStream;
    }

    @Override
    public void onNext(ExecuteResponse response) {
      synchronized (lock) {
        if (this == stream) {
          events.bridgeReported(response);
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      lost(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      lost(Status.UNAVAILABLE.withDescription("controller-bridge closed the stream"));
    }

    private void lost(Status status) {
      ended.complete(null);
      if (BridgeShards.notThere(status)) {
        services.channels().bridges().forget(robotId); // moved or gone: located afresh next time
      }
      synchronized (lock) {
        if (this == stream) {
          stream = null;
          events.executionLost(status);
        }
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
