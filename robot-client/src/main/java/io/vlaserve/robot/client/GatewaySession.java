package io.vlaserve.robot.client;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.HoldNotice;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.PlannerGatewayGrpc;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.SubgoalEvent;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A robot's session with the planner gateway ({@code vla.planner.v1.PlannerGateway.RobotSession}):
 * opens it with a task, streams observations, and hands every gateway message to a {@link Listener}.
 *
 * <p>Observations are flow-controlled: while the transport is not ready the newest observation
 * waits in a single slot and replaces any older one, so a slow link never queues stale frames.
 * Thread-safe.
 */
public final class GatewaySession implements AutoCloseable {
  /** Receives the gateway's messages, on a gRPC thread; implementations must not block. */
  public interface Listener {
    default void onAccepted(SessionAccepted accepted) {}

    default void onPlan(Plan plan) {}

    default void onSubgoal(SubgoalEvent event) {}

    default void onState(ExecutionState state) {}

    default void onSafetyEvent(SafetyEvent event) {}

    /** The robot must hold: the gateway cannot drive it for now (see the reason). */
    default void onHold(HoldNotice hold) {}

    default void onOutcome(SessionOutcome outcome) {}

    /** The stream ended: OK after an outcome, else the error (e.g. UNAVAILABLE when the gateway stops). */
    default void onClosed(Status status) {}
  }

  private final Listener listener;
  private final CompletableFuture<SessionOutcome> outcome = new CompletableFuture<>();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final AtomicLong droppedObservations = new AtomicLong();
  private ClientCallStreamObserver<RobotMessage> requests;
  private RobotMessage pendingObservation;
  private boolean finished;

  private GatewaySession(Listener listener) {
    this.listener = listener;
  }

  /** Opens a session on {@code channel}; the gateway answers with {@code accepted} or fails the stream. */
  public static GatewaySession open(Channel channel, SessionOpen open, Listener listener) {
    GatewaySession session = new GatewaySession(listener);
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

  /** Asks the gateway to halt the robot (effective within one control tick at the bridge). */
  public void halt(String reason) {
    sendNow(RobotMessage.newBuilder().setHalt(reason).build());
  }

  /** Clears a halt. */
  public void resume() {
    sendNow(RobotMessage.newBuilder().setResume(true).build());
  }

  /** Gives up on the task: the gateway stops execution and reports CANCELLED. */
  public void cancel(String reason) {
    sendNow(RobotMessage.newBuilder().setCancel(reason).build());
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

  /** Ends the session from the robot's side (the gateway stops driving the robot). */
  @Override
  public void close() {
    synchronized (this) {
      if (finished) {
        return;
      }
      finished = true;
      requests.onCompleted();
    }
  }

  private void end(Status status) {
    synchronized (this) {
      finished = true;
      pendingObservation = null;
    }
    if (!outcome.isDone()) {
      outcome.completeExceptionally(new IllegalStateException(
          "the session ended without an outcome: " + status.getCode() + " " + status.getDescription()));
    }
    closed.complete(status);
    listener.onClosed(status);
  }

  private final class Responses implements ClientResponseObserver<RobotMessage, GatewayMessage> {
    @Override
    public void beforeStart(ClientCallStreamObserver<RobotMessage> requestStream) {
      requests = requestStream;
      requestStream.setOnReadyHandler(GatewaySession.this::flushPending);
    }

    @Override
    public void onNext(GatewayMessage message) {
      switch (message.getMessageCase()) {
        case ACCEPTED -> listener.onAccepted(message.getAccepted());
        case PLAN -> listener.onPlan(message.getPlan());
        case SUBGOAL -> listener.onSubgoal(message.getSubgoal());
        case STATE -> listener.onState(message.getState());
        case SAFETY_EVENT -> listener.onSafetyEvent(message.getSafetyEvent());
        case HOLD -> listener.onHold(message.getHold());
        case OUTCOME -> {
          listener.onOutcome(message.getOutcome());
          outcome.complete(message.getOutcome());
        }
        case CLOCK_REPLY, MESSAGE_NOT_SET -> { }
      }
    }

    @Override
    public void onError(Throwable t) {
      end(Status.fromThrowable(t));
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
