package io.vlaserve.robot.client;

import io.vlaserve.controller.v1.Setpoint;
import io.vlaserve.proto.ProtoTimes;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;

/**
 * Plays the setpoints of the bridge's frames ({@code SetpointFrame}) on the robot's own clock, each
 * at its own time, about one frame after the bridge made it.
 *
 * <p>A frame carries a frame period of consecutive setpoints and leaves the bridge when its last
 * one is made, so the setpoints of one frame arrive together, late by up to the frame's span. The
 * playout maps bridge time to robot time with one offset: the smallest (arrival − last setpoint's
 * time) seen so far, which is the clocks' difference plus the quickest delivery, and plays setpoint
 * {@code t} at {@code t + offset + span + margin}. An on-time frame's first setpoint thus plays
 * {@code margin} after it arrives and its last one a span later, just as the next frame arrives;
 * the margin absorbs the delivery's jitter. A frame later than that plays its overdue setpoints at
 * once, in order. The offset may rise slowly ({@value #DRIFT_PER_SECOND} of the time elapsed, more
 * than crystal oscillators drift apart), so that one unusually quick delivery does not shift the
 * playout early for good; it falls at once to any quicker delivery.
 *
 * <p>Times: arrivals and {@link #drain} take the robot's monotonic clock (ns); setpoint times are the
 * bridge's wall clock. Only differences of the two are used, so the clocks need no synchronisation.
 * {@link #reset} (the robot held: the bridge re-anchors its times) forgets everything.
 *
 * <p>Not thread-safe: the agent calls it under its lock.
 */
final class SetpointPlayout {
  /** The most setpoints waiting: a second at 1 kHz; beyond it the oldest are dropped. */
  static final int CAPACITY = 1024;
  /** How fast the offset may rise, relative to the time elapsed: 100 ppm. */
  static final double DRIFT_PER_SECOND = 1e-4;

  private record Timed(Setpoint setpoint, long bridgeNanos) {}

  private final long marginNanos;
  private final ArrayDeque<Timed> waiting = new ArrayDeque<>();
  private boolean hasOffset;
  private long offsetNanos;
  private long lastArrivalNanos;
  private long spanNanos;
  private long dropped;

  /** @param marginNanos how long after an on-time frame's arrival its first setpoint plays */
  SetpointPlayout(long marginNanos) {
    if (marginNanos < 0) {
      throw new IllegalArgumentException("marginNanos: " + marginNanos + " (expected: >= 0)");
    }
    this.marginNanos = marginNanos;
  }

  /**
   * Queues the setpoints of one frame that arrived at {@code arrivalNanos}, oldest first; every one
   * already passed the agent's check, so times increase.
   */
  void offer(List<Setpoint> frame, long arrivalNanos) {
    if (frame.isEmpty()) {
      return;
    }
    long first = ProtoTimes.epochNanos(frame.getFirst().getTime());
    long last = ProtoTimes.epochNanos(frame.getLast().getTime());
    long observed = arrivalNanos - last;
    if (!hasOffset) {
      offsetNanos = observed;
      hasOffset = true;
    } else {
      long risen = offsetNanos + (long) ((arrivalNanos - lastArrivalNanos) * DRIFT_PER_SECOND);
      offsetNanos = Math.min(risen, observed);
    }
    lastArrivalNanos = arrivalNanos;
    spanNanos = Math.max(spanNanos, last - first);
    for (Setpoint setpoint : frame) {
      if (waiting.size() == CAPACITY) {
        waiting.removeFirst();
        dropped++;
      }
      waiting.addLast(new Timed(setpoint, ProtoTimes.epochNanos(setpoint.getTime())));
    }
  }

  /**
   * Hands every setpoint due at {@code nowNanos} to {@code play}, oldest first, and forgets it.
   *
   * @return how many were played
   */
  int drain(long nowNanos, Consumer<Setpoint> play) {
    int played = 0;
    while (!waiting.isEmpty() && dueNanos(waiting.peekFirst()) - nowNanos <= 0) {
      play.accept(waiting.removeFirst().setpoint());
      played++;
    }
    return played;
  }

  /** When the oldest waiting setpoint is due, robot clock; {@code Long.MAX_VALUE} if none waits. */
  long nextDueNanos() {
    return waiting.isEmpty() ? Long.MAX_VALUE : dueNanos(waiting.peekFirst());
  }

  private long dueNanos(Timed timed) {
    return timed.bridgeNanos() + offsetNanos + spanNanos + marginNanos;
  }

  /** Setpoints waiting to be played. */
  int waiting() {
    return waiting.size();
  }

  /** Setpoints dropped because too many waited. */
  long dropped() {
    return dropped;
  }

  /** Forgets every waiting setpoint and the time mapping: the robot held, the bridge starts a new anchor. */
  void reset() {
    waiting.clear();
    hasOffset = false;
    spanNanos = 0;
  }
}
