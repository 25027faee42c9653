package io.vlaserve.controller.server;

import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.Blending;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.controller.v1.ExecuteStart;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.Interpolation;
import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.controller.v1.SafetyEventKind;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A client's Execute stream that records everything the bridge sends. */
final class ExecuteSession implements StreamObserver<ExecuteResponse>, AutoCloseable {
  static final long TIMEOUT_MILLIS = 15_000;

  final List<ExecuteResponse> received = new CopyOnWriteArrayList<>();
  final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final StreamObserver<ExecuteRequest> requests;
  private final boolean retain;

  ExecuteSession(ManagedChannel channel) {
    this(channel, true);
  }

  /** @param retain whether to keep what the bridge sends (benchmarks don't, to not load the heap) */
  ExecuteSession(ManagedChannel channel, boolean retain) {
    this.retain = retain;
    requests = ControllerBridgeGrpc.newStub(channel).execute(this);
  }

  /** Opens a stream driving {@code robotId}: minimum-jerk, 100 ms crossfade, state every 20 ms. */
  static ExecuteSession start(ManagedChannel channel, String robotId) {
    return start(channel, robotId, true);
  }

  /** Opens a stream with {@code start} as its first message. */
  static ExecuteSession start(ManagedChannel channel, ExecuteStart start) {
    ExecuteSession session = new ExecuteSession(channel, true);
    session.requests.onNext(ExecuteRequest.newBuilder().setStart(start).build());
    return session;
  }

  static ExecuteSession start(ManagedChannel channel, String robotId, boolean retain) {
    ExecuteSession session = new ExecuteSession(channel, retain);
    session.requests.onNext(ExecuteRequest.newBuilder().setStart(ExecuteStart.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId(robotId).setEmbodiment("eef-delta-7dof"))
        .setInterpolation(Interpolation.INTERPOLATION_MINIMUM_JERK)
        .setBlending(Blending.BLENDING_LINEAR_CROSSFADE)
        .setBlendTime(Duration.newBuilder().setNanos(100_000_000))
        .setStatePeriod(Duration.newBuilder().setNanos(20_000_000))).build());
    return session;
  }

  static ActionChunk chunk(long id, Instant observation, double[]... steps) {
    ActionChunk.Builder chunk = ActionChunk.newBuilder()
        .setChunkId(id)
        .setActionProfile("eef-delta-7dof")
        .setStepPeriod(Duration.newBuilder().setNanos(100_000_000))
        .setObservationTime(Timestamp.newBuilder().setSeconds(observation.getEpochSecond())
            .setNanos(observation.getNano()));
    for (double[] step : steps) {
      ActionVector.Builder vector = ActionVector.newBuilder();
      for (double v : step) {
        vector.addValues(v);
      }
      chunk.addSteps(vector);
    }
    return chunk.build();
  }

  static double[][] repeat(int count, double... step) {
    double[][] steps = new double[count][];
    for (int i = 0; i < count; i++) {
      steps[i] = step.clone();
    }
    return steps;
  }

  void send(ActionChunk chunk) {
    requests.onNext(ExecuteRequest.newBuilder().setChunk(chunk).build());
  }

  void send(ExecuteRequest request) {
    requests.onNext(request);
  }

  @Override
  public void onNext(ExecuteResponse value) {
    if (retain) {
      received.add(value);
    }
  }

  @Override
  public void onError(Throwable t) {
    closed.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    closed.complete(Status.OK);
  }

  /** Waits for the first response matching {@code condition} (received before or after the call). */
  ExecuteResponse await(String what, Predicate<ExecuteResponse> condition) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS);
    while (System.nanoTime() < deadline) {
      for (ExecuteResponse response : received) {
        if (condition.test(response)) {
          return response;
        }
      }
      if (closed.isDone()) {
        fail("stream closed with " + closed.join() + " while waiting for " + what);
      }
      sleep();
    }
    return fail("no " + what + " within " + TIMEOUT_MILLIS + " ms; received " + received.size() + " messages");
  }

  /** Waits for a state received from now on that matches {@code condition}. */
  ExecutionState awaitState(String what, Predicate<ExecutionState> condition) {
    int from = received.size();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS);
    while (System.nanoTime() < deadline) {
      for (int i = from; i < received.size(); i++) {
        ExecuteResponse response = received.get(i);
        if (response.hasState() && condition.test(response.getState())) {
          return response.getState();
        }
      }
      if (closed.isDone()) {
        fail("stream closed with " + closed.join() + " while waiting for " + what);
      }
      sleep();
    }
    return fail("no state with " + what + " within " + TIMEOUT_MILLIS + " ms");
  }

  SafetyEvent awaitEvent(SafetyEventKind kind) {
    return await("safety event " + kind, r -> r.hasSafetyEvent() && r.getSafetyEvent().getKind() == kind)
        .getSafetyEvent();
  }

  Status awaitClosed() {
    try {
      return closed.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      return fail("stream not closed within " + TIMEOUT_MILLIS + " ms");
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(2);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    try {
      requests.onCompleted();
    } catch (RuntimeException ignored) {
      // Already closed by the server.
    }
  }
}
