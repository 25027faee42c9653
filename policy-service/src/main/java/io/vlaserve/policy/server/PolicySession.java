package io.vlaserve.policy.server;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.ObservationError;
import io.vlaserve.policy.v1.SessionReady;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.policy.v1.SessionStart;
import java.time.Duration;

/**
 * One robot's bidirectional session. Observations are processed one at a time on the session's own
 * virtual thread; while one is computing, the newest arrival waits in a single slot and any older
 * waiting observation is answered {@code superseded} (the newest observation wins, and the queue can
 * never grow). An observation that waited longer than the deadline is answered DEADLINE_EXCEEDED
 * without compute. Thread-safe: gRPC delivers inbound messages serially; the worker and the inbound
 * side share state under this object's lock, and responses are written under {@link #responses}.
 */
final class PolicySession implements StreamObserver<SessionRequest> {
  private final PolicyGrpcService service;
  private final StreamObserver<SessionResponse> responses;
  private final long defaultDeadlineNanos;

  private SessionStart start;
  private String instruction;
  private SamplingParams sampling;
  private long deadlineNanos;
  private long lastSequence = -1;
  private long nextChunkId = 1;
  private Pending pending;
  private boolean working;
  private boolean halfClosed;
  private boolean closed;

  private record Pending(Observation observation, String instruction, long received) {}

  PolicySession(PolicyGrpcService service, StreamObserver<SessionResponse> responses, Duration defaultDeadline) {
    this.service = service;
    this.responses = responses;
    this.defaultDeadlineNanos = defaultDeadline.toNanos();
  }

  @Override
  public void onNext(SessionRequest request) {
    switch (request.getMessageCase()) {
      case START -> onStart(request.getStart());
      case OBSERVATION -> onObservation(request.getObservation());
      case INSTRUCTION -> onInstruction(request.getInstruction());
      case MESSAGE_NOT_SET -> fail(Status.INVALID_ARGUMENT.withDescription("empty session message (expected start, observation or instruction)"));
    }
  }

  private synchronized void onStart(SessionStart message) {
    if (start != null) {
      fail(Status.INVALID_ARGUMENT.withDescription("a second start on the same session (expected: one start, then observations)"));
      return;
    }
    if (!service.runtime().ready()) {
      fail(PolicyStatus.of(service.notReady()));
      return;
    }
    try {
      sampling = PolicyMessages.sampling(message.getSampling());
      int max = service.runtime().model().chunkLength();
      if (message.getChunkLength() > max) {
        throw new IllegalArgumentException("chunk_length " + message.getChunkLength() + " (expected: 0.." + max + ")");
      }
    } catch (IllegalArgumentException e) {
      fail(PolicyStatus.of(e));
      return;
    }
    start = message;
    instruction = message.getInstruction();
    deadlineNanos = message.hasObservationDeadline() && message.getObservationDeadline().getSeconds() * 1_000_000_000L
        + message.getObservationDeadline().getNanos() > 0
        ? message.getObservationDeadline().getSeconds() * 1_000_000_000L + message.getObservationDeadline().getNanos()
        : defaultDeadlineNanos;
    send(SessionResponse.newBuilder().setReady(SessionReady.newBuilder()
        .setMetadata(PolicyMessages.metadata(service.runtime()))).build());
  }

  private synchronized void onInstruction(String text) {
    if (start == null) {
      fail(Status.INVALID_ARGUMENT.withDescription("instruction before start (expected: start first)"));
      return;
    }
    instruction = text;
  }

  private synchronized void onObservation(Observation observation) {
    if (start == null) {
      fail(Status.INVALID_ARGUMENT.withDescription("observation before start (expected: start first)"));
      return;
    }
    if (observation.getSequence() <= lastSequence) {
      sendError(observation.getSequence(), Status.Code.FAILED_PRECONDITION, "observation " + observation.getSequence()
          + " arrived after observation " + lastSequence + " (expected increasing sequence numbers); dropped");
      return;
    }
    lastSequence = observation.getSequence();
    if (pending != null) {
      send(SessionResponse.newBuilder().setSuperseded(pending.observation().getSequence()).build());
    }
    pending = new Pending(observation, instruction, System.nanoTime());
    if (!working) {
      working = true;
      Thread.ofVirtual().name("policy-session").start(this::drain);
    }
  }

  private void drain() {
    while (true) {
      Pending next;
      synchronized (this) {
        next = pending;
        pending = null;
        if (next == null || closed) {
          working = false;
          if (halfClosed && !closed) {
            closed = true;
            synchronized (responses) {
              responses.onCompleted();
            }
          }
          return;
        }
      }
      process(next);
    }
  }

  private void process(Pending next) {
    long started = System.nanoTime();
    long sequence = next.observation().getSequence();
    if (started - next.received() > deadlineNanos) {
      service.metrics().recordOutcome(Status.Code.DEADLINE_EXCEEDED.name());
      sendError(sequence, Status.Code.DEADLINE_EXCEEDED, "observation " + sequence + " waited "
          + (started - next.received()) / 1_000_000 + " ms, over the session's " + deadlineNanos / 1_000_000
          + " ms deadline; dropped without compute");
      return;
    }
    try {
      long chunkId;
      synchronized (this) {
        chunkId = nextChunkId++;
      }
      InferResponse response = service.run(next.observation(), next.instruction(), sampling, start.getChunkLength(),
          chunkId, next.received(), started);
      send(SessionResponse.newBuilder().setChunk(response).build());
    } catch (RuntimeException e) {
      Status status = PolicyStatus.of(e);
      service.metrics().recordOutcome(status.getCode().name());
      sendError(sequence, status.getCode(), status.getDescription());
    }
  }

  @Override
  public synchronized void onError(Throwable t) {
    // The robot went away: drop what waits; the computing observation's answer is discarded.
    closed = true;
    pending = null;
  }

  @Override
  public synchronized void onCompleted() {
    halfClosed = true;
    if (!working && !closed) {
      closed = true;
      synchronized (responses) {
        responses.onCompleted();
      }
    }
  }

  private void sendError(long sequence, Status.Code code, String message) {
    send(SessionResponse.newBuilder().setError(ObservationError.newBuilder()
        .setObservationSequence(sequence).setCode(code.value()).setMessage(message)).build());
  }

  private void send(SessionResponse response) {
    synchronized (responses) {
      synchronized (this) {
        if (closed) {
          return;
        }
      }
      responses.onNext(response);
    }
  }

  private void fail(Status status) {
    synchronized (responses) {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        pending = null;
      }
      responses.onError(status.asRuntimeException());
    }
  }
}
