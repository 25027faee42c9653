package io.vlaserve.robot.client;

import io.grpc.Status;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.HoldNotice;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.SubgoalEvent;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The blocking alternative to a {@link GatewaySession.Listener}: pass it as the session's listener
 * and take the gateway's messages in order, on the robot's own thread, until the stream closes.
 *
 * <pre>{@code
 * SessionEvents events = new SessionEvents();
 * GatewaySession session = GatewaySession.open(channel, open, events);
 * for (GatewayMessage m; (m = events.next(Duration.ofSeconds(30))) != null; ) { ... }
 * Status status = events.closedWith().orElseThrow();
 * }</pre>
 *
 * <p>Clock replies are not queued (the session consumes them). The queue is unbounded: take
 * messages steadily, as execution states arrive at the bridge's state rate. Thread-safe.
 */
public final class SessionEvents implements GatewaySession.Listener {
  /** Marks the end of the stream in the queue; never handed out. */
  private static final GatewayMessage END = GatewayMessage.getDefaultInstance();

  private final LinkedBlockingQueue<GatewayMessage> queue = new LinkedBlockingQueue<>();
  private volatile Status closedWith;

  /**
   * The next message, waiting at most {@code timeout}.
   *
   * @return the message, or null when the stream has closed and every message was taken
   * @throws java.util.concurrent.TimeoutException if no message arrives in time while the stream is open
   */
  public GatewayMessage next(Duration timeout) throws InterruptedException, java.util.concurrent.TimeoutException {
    GatewayMessage message = queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    if (message == null) {
      throw new java.util.concurrent.TimeoutException("no message from the gateway within " + timeout);
    }
    if (message == END) {
      queue.add(END); // Every later call, on any thread, sees the end too.
      return null;
    }
    return message;
  }

  /** How the stream closed, once it has (messages may still wait in the queue). */
  public Optional<Status> closedWith() {
    return Optional.ofNullable(closedWith);
  }

  @Override
  public void onAccepted(SessionAccepted accepted) {
    queue.add(GatewayMessage.newBuilder().setAccepted(accepted).build());
  }

  @Override
  public void onPlan(Plan plan) {
    queue.add(GatewayMessage.newBuilder().setPlan(plan).build());
  }

  @Override
  public void onSubgoal(SubgoalEvent event) {
    queue.add(GatewayMessage.newBuilder().setSubgoal(event).build());
  }

  @Override
  public void onState(ExecutionState state) {
    queue.add(GatewayMessage.newBuilder().setState(state).build());
  }

  @Override
  public void onSafetyEvent(SafetyEvent event) {
    queue.add(GatewayMessage.newBuilder().setSafetyEvent(event).build());
  }

  @Override
  public void onHold(HoldNotice hold) {
    queue.add(GatewayMessage.newBuilder().setHold(hold).build());
  }

  @Override
  public void onOutcome(SessionOutcome outcome) {
    queue.add(GatewayMessage.newBuilder().setOutcome(outcome).build());
  }

  @Override
  public void onClosed(Status status) {
    closedWith = status;
    queue.add(END);
  }
}
