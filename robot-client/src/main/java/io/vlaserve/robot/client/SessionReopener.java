package io.vlaserve.robot.client;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SessionOutcome;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

/**
 * Keeps a task going across gateway restarts: after a session is lost it opens the session again
 * with the newest resume token the gateway gave (in SessionAccepted, every SubgoalEvent and a
 * shutting-down gateway's HoldNotice; the caller's own token for the first open), so that any gateway replica holding the same keys
 * continues the same subgoal without a replan, with the backoff of a {@link ReconnectPolicy}. A
 * resume the gateway refuses (the token expired, was replayed, was signed with a retired key...)
 * is followed by a <em>new</em> session for the same task, which plans afresh from the scene as it
 * now is; use this only for tasks where starting over is safe.
 *
 * <p>A session is lost when its stream fails before an outcome with a retryable status (UNAVAILABLE
 * when the gateway stops or restarts, ...). An outcome, success or failure, is final, and so is a
 * fatal status (INVALID_ARGUMENT, NOT_FOUND, ...) or giving up after the policy's time counted from
 * the first loss since a session was last accepted. A loss whose status carries a
 * {@code google.rpc.RetryInfo} (RESOURCE_EXHAUSTED: the gateway replica is at capacity) waits at
 * least that long before the next open. A session a shutting-down gateway handed over (its hold
 * carried a fresh resume token) is resumed at once, without the backoff: the robot is holding. While waiting, {@link #driving()} is
 * {@link DriveState#HOLD} with the reason; once final it is {@link DriveState#ENDED}.
 *
 * <p>Every session's messages reach the one {@link GatewaySession.Listener}; its
 * {@code onDriving} sees this reopener's view (a lost session shows as HOLD while a new one is
 * coming). Thread-safe.
 */
public final class SessionReopener implements AutoCloseable {
  private final Channel channel;
  private final SessionOpen open;
  private final GatewaySession.Listener listener;
  private final GatewaySession.Options options;
  private final ReconnectPolicy policy;
  private final RandomGenerator random;
  private final AtomicInteger opened = new AtomicInteger();
  private final CompletableFuture<Driving> ended = new CompletableFuture<>();

  // Guarded by this.
  private GatewaySession current;
  private Forwarder currentForwarder;
  private Driving driving = Driving.hold("opening the session");
  private boolean closed;
  private int attempt;
  private long failingSinceNanos = -1;
  private ScheduledFuture<?> pendingOpen;
  /** The newest resume token; empty until a gateway gives one (or after one was refused). */
  private String resumeToken;
  /** Whether the current session was opened with a token and has not been accepted yet. */
  private boolean resuming;

  private SessionReopener(Channel channel, SessionOpen open, GatewaySession.Listener listener,
      GatewaySession.Options options, ReconnectPolicy policy, RandomGenerator random) {
    this.channel = Objects.requireNonNull(channel, "channel");
    this.open = open.toBuilder().clearResumeToken().build();
    this.resumeToken = open.getResumeToken();
    this.listener = Objects.requireNonNull(listener, "listener");
    this.options = Objects.requireNonNull(options, "options");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.random = Objects.requireNonNull(random, "random");
  }

  /**
   * Opens the first session for {@code open}'s task and keeps reopening per {@code policy}.
   *
   * @param options the options of every session (clock, probing)
   */
  public static SessionReopener open(Channel channel, SessionOpen open, GatewaySession.Listener listener,
      GatewaySession.Options options, ReconnectPolicy policy) {
    return open(channel, open, listener, options, policy, RandomGenerator.getDefault());
  }

  /** As {@link #open(Channel, SessionOpen, GatewaySession.Listener, GatewaySession.Options, ReconnectPolicy)}, with the jitter's random source. */
  public static SessionReopener open(Channel channel, SessionOpen open, GatewaySession.Listener listener,
      GatewaySession.Options options, ReconnectPolicy policy, RandomGenerator random) {
    SessionReopener reopener = new SessionReopener(channel, open, listener, options, policy, random);
    reopener.openSession();
    return reopener;
  }

  /** The session now in use (the newest one opened). */
  public synchronized GatewaySession current() {
    return current;
  }

  /** Sessions opened so far: 1, then one per reopen. */
  public int sessionsOpened() {
    return opened.get();
  }

  /** Whether the robot is driven, must hold (also while a new session is coming) or everything ended. */
  public synchronized Driving driving() {
    return driving;
  }

  /** Sends an observation on the current session (dropped while no session is open). */
  public void send(RobotObservation observation) {
    current().send(observation);
  }

  /** Halts the robot through the current session. */
  public void halt(String reason) {
    current().halt(reason);
  }

  /** Clears a halt on the current session. */
  public void resume() {
    current().resume();
  }

  /** Gives up on the task: the current session is cancelled and no new one is opened. */
  public void cancel(String reason) {
    GatewaySession session;
    synchronized (this) {
      closed = true;
      session = current;
      cancelPendingOpen();
    }
    session.cancel(reason);
  }

  /**
   * Waits until no session will be opened any more and returns the final drive state (an outcome's
   * reason, a fatal status, or the give-up).
   *
   * @throws TimeoutException if a session is still running or coming after {@code timeout}
   */
  public Driving awaitEnded(Duration timeout) throws TimeoutException, InterruptedException {
    try {
      return ended.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  /**
   * Waits for the task's outcome from whichever session reaches one.
   *
   * @throws TimeoutException if none arrives in time
   * @throws IllegalStateException if everything ended without one (the reason in the message)
   */
  public SessionOutcome awaitOutcome(Duration timeout) throws TimeoutException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    awaitEnded(timeout);
    GatewaySession session = current();
    return session.awaitOutcome(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
  }

  /** Closes the current session and opens no new one. */
  @Override
  public void close() {
    GatewaySession session;
    synchronized (this) {
      closed = true;
      session = current;
      cancelPendingOpen();
    }
    if (session != null) {
      session.close();
    }
    finish(Driving.ended("closed by the robot", Status.CANCELLED.withDescription("closed by the robot")));
  }

  // ------------------------------------------------------------------ internals

  private void openSession() {
    synchronized (this) {
      if (closed) {
        return;
      }
      pendingOpen = null;
      if (opened.get() > 0 && channel instanceof ManagedChannel managed) {
        managed.resetConnectBackoff();
      }
      opened.incrementAndGet();
      resuming = !resumeToken.isEmpty();
      SessionOpen next = resuming ? open.toBuilder().setResumeToken(resumeToken).build() : open;
      // Under the lock: the new session's first callbacks wait until it is the current one.
      currentForwarder = new Forwarder();
      current = GatewaySession.open(channel, next, currentForwarder, options);
    }
  }

  private void cancelPendingOpen() {
    if (pendingOpen != null) {
      pendingOpen.cancel(false);
      pendingOpen = null;
    }
  }

  private void show(Driving next) {
    synchronized (this) {
      if (driving.ended()) {
        return;
      }
      driving = next;
    }
    listener.onDriving(next);
  }

  private void finish(Driving last) {
    show(last);
    ended.complete(last);
  }

  /** Decides what a session's end means: final, or a reopen after the backoff. */
  private void sessionEnded(Forwarder from, Driving last) {
    Driving reopening = null;
    Driving finalState = null;
    synchronized (this) {
      if (from != currentForwarder) {
        return;
      }
      Status status = last.status();
      long now = System.nanoTime();
      if (failingSinceNanos < 0) {
        failingSinceNanos = now;
      }
      boolean outcome = status.isOk();
      boolean resumeRefused = resuming && !outcome && !closed && !policy.retryable(status);
      if (resumeRefused) {
        // The token is spent or no good (expired, replayed, another key, the robot busy): the task
        // goes on in a new session, planned afresh.
        resumeToken = "";
        Duration wait = policy.backoff(attempt++, random);
        reopening = Driving.hold("the gateway refused to resume the session (" + last.reason()
            + "); opening a new session for the same task in " + wait.toMillis() + " ms");
        pendingOpen = ClientScheduler.TIMER.schedule(this::openSession, wait.toNanos(), TimeUnit.NANOSECONDS);
      } else if (outcome || closed || !policy.retryable(status)) {
        finalState = last;
      } else if (!policy.keepTrying(now - failingSinceNanos)) {
        finalState = Driving.ended("gave up opening a new session after "
            + TimeUnit.NANOSECONDS.toMillis(now - failingSinceNanos) + " ms; last: " + last.reason(), status);
      } else if (from.handedOver && !resumeToken.isEmpty()) {
        // A gateway shutting down asked for this reconnect and handed over a fresh token: no backoff,
        // the robot holds until another replica takes the session. Failing that, the backoff applies.
        reopening = Driving.hold("session lost (" + last.reason() + "); the gateway handed the session over:"
            + " resuming it now");
        pendingOpen = ClientScheduler.TIMER.schedule(this::openSession, 0, TimeUnit.NANOSECONDS);
      } else {
        Duration wait = policy.backoff(attempt++, random);
        // A gateway at capacity says when to come back: never sooner than that.
        Duration asked = current == null ? null : current.retryAfter().orElse(null);
        if (asked != null && asked.compareTo(wait) > 0) {
          wait = asked;
        }
        reopening = Driving.hold("session lost (" + last.reason() + "); opening a new session for the same task in "
            + wait.toMillis() + " ms (attempt " + attempt + ")");
        pendingOpen = ClientScheduler.TIMER.schedule(this::openSession, wait.toNanos(), TimeUnit.NANOSECONDS);
      }
    }
    if (finalState != null) {
      finish(finalState);
    } else {
      show(reopening);
    }
  }

  private synchronized boolean isCurrent(Forwarder forwarder) {
    return forwarder == currentForwarder;
  }

  private synchronized void sessionAccepted(Forwarder from, String token) {
    if (from != currentForwarder) {
      return;
    }
    attempt = 0;
    failingSinceNanos = -1;
    resuming = false;
    remember(from, token);
  }

  /** Keeps {@code token} as the one to resume with, if it is new and from the current session. */
  private synchronized void remember(Forwarder from, String token) {
    if (from == currentForwarder && !token.isEmpty()) {
      resumeToken = token;
    }
  }

  /** The token the next open would carry; empty for a new session. */
  synchronized String resumeToken() {
    return resumeToken;
  }

  /** Passes one session's messages on and reports its end to the reopener. */
  private final class Forwarder implements GatewaySession.Listener {
    /** The gateway handed this session over (a hold with a fresh resume token: it is shutting down). */
    volatile boolean handedOver;

    @Override
    public void onAccepted(SessionAccepted accepted) {
      sessionAccepted(this, accepted.getResumeToken());
      listener.onAccepted(accepted);
    }

    @Override
    public void onPlan(io.vlaserve.planner.v1.Plan plan) {
      listener.onPlan(plan);
    }

    @Override
    public void onSubgoal(io.vlaserve.planner.v1.SubgoalEvent event) {
      remember(this, event.getResumeToken());
      listener.onSubgoal(event);
    }

    @Override
    public void onState(io.vlaserve.controller.v1.ExecutionState state) {
      listener.onState(state);
    }

    @Override
    public void onSafetyEvent(io.vlaserve.controller.v1.SafetyEvent event) {
      listener.onSafetyEvent(event);
    }

    @Override
    public void onHold(io.vlaserve.planner.v1.HoldNotice hold) {
      remember(this, hold.getResumeToken());
      if (!hold.getResumeToken().isEmpty()) {
        handedOver = true;
      }
      listener.onHold(hold);
    }

    @Override
    public void onStepForwarded(io.vlaserve.planner.v1.StepForwarded step) {
      listener.onStepForwarded(step);
    }

    @Override
    public void onOutcome(SessionOutcome outcome) {
      listener.onOutcome(outcome);
    }

    @Override
    public void onClosed(Status status) {
      listener.onClosed(status);
    }

    @Override
    public void onDriving(Driving next) {
      if (next.ended()) {
        sessionEnded(this, next);
      } else if (isCurrent(this)) {
        show(next);
      }
    }
  }
}
