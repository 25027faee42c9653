package io.vlaserve.planner.gateway;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.CommittedPrefix;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.TimingBreakdown;
import io.vlaserve.policy.v1.ObservationError;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import java.util.Map;
import java.util.function.Function;

/**
 * A robot session's link to policy-service: one {@code Session} stream at a time (the session
 * opens another after a loss), and the observation slot in front of it.
 *
 * <p><b>Backpressure.</b> At most one observation is at the policy at a time; while it is there,
 * newer ones replace each other in a single slot (the newest wins), so neither a fast camera nor a
 * slow policy grows a queue.
 *
 * <p>Each observation sent opens a control step, one trace from here through the policy's
 * inference to the bridge's handling of its chunk; the session ends it with {@link #endStep}.
 *
 * <p>Not thread-safe: the session calls it under its lock, and its streams report to the
 * session's {@link Events} under that same lock, ignoring every stream but the current one.
 */
final class PolicyLink {
  /** What the session hears from policy-service; called under the session's lock. */
  /**
   * When a control step passed the gateway's stages (System.nanoTime()): the observation arrived,
   * its request left for policy-service, its chunk came back; and policy-service's own timing.
   */
  record StepTiming(long arrivalNanos, long sentNanos, long answeredNanos, TimingBreakdown policy) {}

  interface Events {
    /** The stream is open; observations may go. */
    void policyReady();

    /** The observation in flight, sent in {@code epoch}, was answered with {@code chunk}. */
    void chunkAnswered(ActionChunk chunk, int epoch, StepTiming timing, long sequence);

    /** The observation in flight was not answered with a chunk (its step has ended). */
    void observationFailed(ObservationError error);

    /** The stream failed or closed (its step, if any, has ended). */
    void policyLost(Status status);
  }

  private final SessionServices services;
  private final Object lock;
  private final Events events;
  private final String sessionId;

  private Stream stream;
  private boolean ready;
  private Observation waiting;
  private long waitingArrivalNanos;
  private boolean inFlight;
  private int inFlightEpoch;
  private long inFlightArrivalNanos;
  private long inFlightSentNanos;
  private long inFlightSequence;
  private Observation inFlightObservation;
  /** The session's span, which every control step's trace links to; null if none. */
  private io.opentelemetry.api.trace.SpanContext session;
  private Span step;

  PolicyLink(SessionServices services, Object lock, Events events, String sessionId) {
    this.services = services;
    this.lock = lock;
    this.events = events;
    this.sessionId = sessionId;
  }

  /** Links every control step from now on to the session's span {@code session}. */
  void linkSteps(io.opentelemetry.api.trace.SpanContext session) {
    this.session = session;
  }

  /**
   * Opens a Session stream for {@code robot}, instructed {@code instruction}, recorded in full when
   * {@code record}; it is ready when it says so.
   */
  void open(RobotIdentity robot, String instruction, boolean record) {
    ready = false;
    Stream opened = new Stream();
    PolicyServiceGrpc.newStub(services.channels().policy()).session(opened);
    stream = opened;
    opened.requests.onNext(GatewayMessages.policyStart(robot, instruction,
        services.properties().observationValidity(), record));
  }

  /** Gives the open stream a new instruction; nothing if no stream is open. */
  void instruct(String instruction) {
    if (stream != null) {
      stream.requests.onNext(GatewayMessages.instruction(instruction));
    }
  }

  /**
   * Puts {@code observation} in the slot, to go when the policy is free.
   *
   * @return whether it replaced one that was waiting
   */
  boolean offer(Observation observation, long arrivalNanos) {
    boolean replaced = waiting != null;
    waiting = observation;
    waitingArrivalNanos = arrivalNanos;
    return replaced;
  }

  /** Forgets the waiting observation: the robot halted, so it is stale by the time it could run. */
  void dropWaiting() {
    waiting = null;
  }

  /**
   * Sends the waiting observation, tagged with the instruction {@code epoch}, if the stream is ready
   * and nothing is in flight.
   *
   * @param subgoal the running subgoal's instruction, for the step's trace
   * @param committedPrefix the actions the robot will execute while the policy answers an observation
   *     (real-time chunking), or null for none
   */
  void sendWaiting(RobotIdentity robot, int epoch, String subgoal,
      Function<Observation, CommittedPrefix> committedPrefix) {
    if (waiting == null || inFlight || stream == null || !ready) {
      return;
    }
    // One control step, one trace: it starts here and continues at the policy and the bridge.
    var builder = services.tracing().tracer().spanBuilder("control-step")
        .setNoParent();
    if (session != null && session.isValid()) {
      builder.addLink(session);
    }
    step = builder
        .setAttribute("vla.robot_id", robot.getRobotId())
        .setAttribute("vla.session_id", sessionId)
        .setAttribute("vla.observation_sequence", waiting.getSequence())
        .setAttribute("vla.subgoal", subgoal)
        .startSpan();
    CommittedPrefix prefix = committedPrefix.apply(waiting);
    if (prefix != null) {
      step.setAttribute("vla.committed_prefix_steps", prefix.getStepsCount());
      services.metrics().committedPrefix(prefix.getStepsCount());
    }
    stream.requests.onNext(GatewayMessages.observation(waiting, prefix, stepTraceContext()));
    inFlight = true;
    inFlightEpoch = epoch;
    inFlightArrivalNanos = waitingArrivalNanos;
    inFlightSentNanos = System.nanoTime();
    inFlightSequence = waiting.getSequence();
    inFlightObservation = waiting;
    waiting = null;
  }

  /** The in-flight control step's trace context, for the messages that continue it. */
  Map<String, String> stepTraceContext() {
    return services.tracing().inject(Context.root().with(step));
  }

  /** Ends the in-flight control step's span; {@code failure} null if its chunk went to the bridge. */
  void endStep(String failure) {
    if (step == null) {
      return;
    }
    if (failure != null) {
      step.setStatus(StatusCode.ERROR, failure);
    }
    step.end();
    step = null;
  }

  /** Closes the stream, if one is open; its late answers are ignored. */
  void close() {
    if (stream != null) {
      Stream closing = stream;
      stream = null;
      closing.requests.onCompleted();
    }
  }

  private final class Stream implements ClientResponseObserver<SessionRequest, SessionResponse> {
    ClientCallStreamObserver<SessionRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<SessionRequest> requestStream) {
      requests = requestStream;
    }

    @Override
    public void onNext(SessionResponse response) {
      synchronized (lock) {
        if (this != stream) {
          return;
        }
        switch (response.getMessageCase()) {
          case READY -> {
            ready = true;
            events.policyReady();
          }
          case CHUNK -> {
            inFlight = false;
            inFlightObservation = null;
            events.chunkAnswered(response.getChunk().getChunk(), inFlightEpoch, new StepTiming(inFlightArrivalNanos,
                inFlightSentNanos, System.nanoTime(), response.getChunk().getTiming()), inFlightSequence);
          }
          case ERROR -> {
            inFlight = false;
            inFlightObservation = null;
            ObservationError error = response.getError();
            endStep("policy-service: " + Status.fromCodeValue(error.getCode()).getCode() + " " + error.getMessage());
            events.observationFailed(error);
          }
          case SUPERSEDED, MESSAGE_NOT_SET -> { }
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      lost(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      lost(Status.UNAVAILABLE.withDescription("policy-service closed the session"));
    }

    private void lost(Status status) {
      synchronized (lock) {
        if (this != stream) {
          return;
        }
        stream = null;
        ready = false;
        if (inFlight && waiting == null) {
          // The newest observation never got its chunk: it goes first to the stream that replaces
          // this one (another replica), not lost until the robot's next frame.
          waiting = inFlightObservation;
          waitingArrivalNanos = inFlightArrivalNanos;
        }
        inFlight = false;
        inFlightObservation = null;
        endStep("policy-service stream failed: " + status.getCode());
        events.policyLost(status);
      }
    }
  }
}
