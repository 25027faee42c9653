package io.vlaserve.policy.server;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import com.google.protobuf.util.Durations;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.policy.batching.RejectedException;
import io.vlaserve.policy.batching.SessionKey;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.ObservationError;
import io.vlaserve.policy.v1.SessionReady;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.policy.v1.SessionStart;
import io.vlaserve.service.tracing.VlaTracing;
import java.time.Duration;
import io.vlaserve.service.auth.Principal;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One robot's bidirectional session. Every observation is queued with the batching scheduler as
 * this session's: a newer one replaces an older one still waiting there (the older is answered
 * {@code superseded}), so a session never has more than one observation queued besides the one
 * computing. An observation still queued when the deadline passes is answered DEADLINE_EXCEEDED
 * without compute. Thread-safe: gRPC delivers inbound messages serially; answers arrive on reply
 * threads and are written under {@link #responses}. Locks are only ever taken in the order this
 * session, then {@link #responses}.
 */
final class PolicySession implements StreamObserver<SessionRequest> {
  private static final AtomicLong anonymousSessions = new AtomicLong();
  /** Observations submitted and not yet answered, cancelled if the robot goes away. */
  private final java.util.Set<CompletableFuture<PolicyFrontDoor.Answer>> pending =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final PolicyFrontDoor door;
  private final PolicyMetrics metrics;
  private final VlaTracing tracing;
  private final StreamObserver<SessionResponse> responses;
  private final long defaultDeadlineNanos;
  private final AtomicLong nextChunkId = new AtomicLong(1);
  // Observations reach the scheduler in arrival order, inline when their frame needs no preprocessing.
  private final InlineOrOffload order;

  private SessionStart start;
  private String robot;
  /** Whether this session asked to be recorded in full and the recording is on. */
  private volatile boolean recording;
  private SessionKey key;
  private String instruction;
  private SamplingParams sampling;
  private long deadlineNanos;
  private long lastSequence = -1;
  private int inFlight;
  private boolean halfClosed;
  // Read under either lock; written under responses' lock, or under this one once nothing can answer anymore.
  private volatile boolean closed;
  private final java.util.concurrent.atomic.AtomicBoolean counted = new java.util.concurrent.atomic.AtomicBoolean(true);

  PolicySession(PolicyFrontDoor door, PolicyMetrics metrics, VlaTracing tracing,
      StreamObserver<SessionResponse> responses, Duration defaultDeadline) {
    this.door = door;
    this.metrics = metrics;
    this.tracing = tracing;
    this.responses = responses;
    this.defaultDeadlineNanos = defaultDeadline.toNanos();
    this.order = door.newOrder();
    metrics.sessionOpened();
  }

  /** Counts the stream as ended, once, whichever way it ends. */
  private void uncount() {
    if (counted.compareAndSet(true, false)) {
      metrics.sessionClosed();
    }
    if (recording) {
      recording = false;
      door.recordSession(robot, false);
    }
  }

  @Override
  public void onNext(SessionRequest request) {
    switch (request.getMessageCase()) {
      case START -> onStart(request.getStart());
      case OBSERVATION -> onObservation(request.getObservation(), request.getCommittedPrefix(), traced(request));
      case INSTRUCTION -> onInstruction(request.getInstruction());
      case MESSAGE_NOT_SET -> fail(Status.INVALID_ARGUMENT.withDescription("empty session message (expected start, observation or instruction)"));
    }
  }

  private synchronized void onStart(SessionStart message) {
    if (start != null) {
      fail(Status.INVALID_ARGUMENT.withDescription("a second start on the same session (expected: one start, then observations)"));
      return;
    }
    if (!door.ready()) {
      fail(PolicyStatus.of(door.notReady()));
      return;
    }
    try {
      sampling = PolicyMessages.sampling(message.getSampling());
      int max = door.model().chunkLength();
      if (message.getChunkLength() > max) {
        throw new IllegalArgumentException("chunk_length " + message.getChunkLength() + " (expected: 0.." + max + ")");
      }
    } catch (IllegalArgumentException e) {
      fail(PolicyStatus.of(e));
      return;
    }
    start = message;
    robot = PolicyFrontDoor.queueAs(message.getRobot().getRobotId(), Principal.current(),
        () -> "session-" + anonymousSessions.incrementAndGet());
    key = door.newSession(robot);
    if (message.getRecord()) {
      door.recordSession(robot, true);
      recording = true;
    }
    instruction = message.getInstruction();
    long requested = message.hasObservationDeadline() ? Durations.toNanos(message.getObservationDeadline()) : 0;
    deadlineNanos = requested > 0 ? requested : defaultDeadlineNanos;
    send(SessionResponse.newBuilder().setReady(SessionReady.newBuilder()
        .setMetadata(PolicyMessages.metadata(door.runtime()))).build());
  }

  private synchronized void onInstruction(String text) {
    if (start == null) {
      fail(Status.INVALID_ARGUMENT.withDescription("instruction before start (expected: start first)"));
      return;
    }
    instruction = text;
  }

  /** A span continuing the observation's control step, or null when the message carries no trace context. */
  private Span traced(SessionRequest request) {
    if (request.getTraceContextCount() == 0) {
      return null;
    }
    return tracing.tracer().spanBuilder("policy.infer")
        .setParent(tracing.extract(request.getTraceContextMap()))
        .setAttribute("vla.robot_id", robot == null ? "" : robot)
        .setAttribute("vla.observation_sequence", request.getObservation().getSequence())
        .startSpan();
  }

  private static void endSpan(Span span, InferResponse response, String failure) {
    if (span == null) {
      return;
    }
    if (response != null) {
      span.setAttribute("vla.queue_ms", millis(response.getTiming().getQueue()));
      span.setAttribute("vla.prefill_ms", millis(response.getTiming().getPrefill()));
      span.setAttribute("vla.decode_ms", millis(response.getTiming().getDecode()));
      span.setAttribute("vla.largest_batch", response.getBatching().getLargestBatch());
      span.setAttribute("vla.chunk_id", response.getChunk().getChunkId());
    } else {
      span.setStatus(StatusCode.ERROR, failure);
    }
    span.end();
  }

  private static double millis(com.google.protobuf.Duration d) {
    return d.getSeconds() * 1e3 + d.getNanos() / 1e6;
  }

  private void onObservation(Observation observation, io.vlaserve.common.v1.CommittedPrefix prefix, Span span) {
    long sequence = observation.getSequence();
    long previous;
    String currentInstruction;
    synchronized (this) {
      if (start == null) {
        fail(Status.INVALID_ARGUMENT.withDescription("observation before start (expected: start first)"));
        return;
      }
      previous = lastSequence;
      if (sequence > previous) {
        lastSequence = sequence;
        inFlight++;
      }
      currentInstruction = instruction;
    }
    if (sequence <= previous) {
      sendError(sequence, Status.Code.FAILED_PRECONDITION, "observation " + sequence
          + " arrived after observation " + previous + " (expected increasing sequence numbers); dropped", null);
      endSpan(span, null, "out of order");
      return;
    }
    long received = System.nanoTime();
    try {
      PolicyFrontDoor.Observation submitted = PolicyMessages.observation(door.model(), robot, key, observation,
          currentInstruction, sampling, start.getChunkLength(), received, received + deadlineNanos, prefix);
      CompletableFuture<PolicyFrontDoor.Answer> queued = door.submit(submitted, order);
      pending.add(queued);
      queued.whenComplete((answer, failure) -> pending.remove(queued));
      if (closed) {
        queued.cancel(false); // the robot went away while this was being submitted
      }
      queued
          .thenApply(answer -> {
            metrics.recordInference(answer, received);
            return PolicyMessages.response(door.model(), answer, observation, nextChunkId.getAndIncrement(), received,
                submitted.committedPrefix().length);
          })
          .whenComplete((response, failure) -> {
            endSpan(span, response, failure == null ? null : String.valueOf(PolicyStatus.unwrap(failure)));
            answer(sequence, response, failure);
          });
    } catch (RuntimeException e) {
      endSpan(span, null, e.toString());
      answer(sequence, null, e);
    }
  }

  private void answer(long sequence, InferResponse response, Throwable failure) {
    if (response != null) {
      send(SessionResponse.newBuilder().setChunk(response).build());
    } else if (PolicyStatus.unwrap(failure) instanceof RejectedException.Superseded) {
      send(SessionResponse.newBuilder().setSuperseded(sequence).build());
    } else {
      StatusRuntimeException status = metrics.failed(failure);
      sendError(sequence, status.getStatus().getCode(), status.getStatus().getDescription(),
          PolicyStatus.retryAfter(failure));
    }
    boolean complete;
    synchronized (this) {
      inFlight--;
      complete = inFlight == 0 && halfClosed;
    }
    if (complete) {
      complete();
    }
  }

  @Override
  public void onError(Throwable t) {
    // The robot went away: what still waits in the queue leaves it uncomputed; answers are discarded.
    closed = true;
    uncount();
    for (CompletableFuture<PolicyFrontDoor.Answer> queued : pending) {
      queued.cancel(false);
    }
  }

  @Override
  public void onCompleted() {
    boolean complete;
    synchronized (this) {
      halfClosed = true;
      complete = inFlight == 0;
    }
    if (complete) {
      complete();
    }
  }

  private void complete() {
    synchronized (responses) {
      if (!closed) {
        closed = true;
        responses.onCompleted();
      }
      uncount();
    }
  }

  private void sendError(long sequence, Status.Code code, String message, Duration retryAfter) {
    ObservationError.Builder error = ObservationError.newBuilder()
        .setObservationSequence(sequence).setCode(code.value()).setMessage(message);
    if (retryAfter != null) {
      error.setRetryAfter(Durations.fromNanos(retryAfter.toNanos()));
    }
    send(SessionResponse.newBuilder().setError(error).build());
  }

  private void send(SessionResponse response) {
    synchronized (responses) {
      if (!closed) {
        responses.onNext(response);
      }
    }
  }

  private void fail(Status status) {
    synchronized (responses) {
      if (!closed) {
        closed = true;
        responses.onError(status.asRuntimeException());
      }
      uncount();
    }
  }
}
