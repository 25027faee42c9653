package io.vlaserve.planner.session;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * What a robot is committed to executing: the timeline of the chunks its bridge accepted, as the
 * bridge executes them, resampled onto a new observation's step grid as a committed prefix
 * (real-time chunking).
 *
 * <p>The bridge runs a chunk's steps from the time its first executed step starts (a continuation
 * on time: where its prefix ends; a blended chunk: when it activates) until a newer chunk starts,
 * and past its last step it continues at the last step's rate. So the action executing at time
 * {@code t} is that of the newest accepted chunk started by {@code t}. Increment dimensions
 * ({@code dx, dy, ...}: so much per step) are integrated over each cell of the new grid, so a
 * prefix step is exactly the motion the robot makes in that cell, whatever the two grids' offset;
 * absolute dimensions (a gripper opening) are read at the cell's end.
 *
 * <p>The timeline is forgotten by {@link #clear()} when the robot stops following chunks (a hold,
 * a halt, a new subgoal): then nothing is committed and no prefix is sent. Not thread-safe.
 */
public final class CommittedActions {
  /** Chunks kept: enough for every chunk that can still be executing or about to start. */
  private static final int MAX_SEGMENTS = 8;

  private record Segment(long step0Nanos, long startNanos, long periodNanos, double[][] steps) {
    /** Index into {@code steps} of the step executing at {@code t} ({@code >= steps.length}: past the end). */
    int stepAt(long t) {
      return (int) Math.max(0, Math.floorDiv(t - step0Nanos, periodNanos));
    }

    long stepStart(int index) {
      return step0Nanos + index * periodNanos;
    }
  }

  private final boolean[] absolute;
  private final Deque<Segment> segments = new ArrayDeque<>();

  /**
   * Creates an empty timeline.
   *
   * @param absolute per action dimension: true for a value to reach (a gripper opening), false for
   *     an increment per step
   */
  public CommittedActions(boolean[] absolute) {
    this.absolute = absolute.clone();
  }

  /** The project's end-effector profile: six increments, then the absolute gripper opening. */
  public static CommittedActions endEffectorDelta() {
    return new CommittedActions(new boolean[] {false, false, false, false, false, false, true});
  }

  /**
   * Records a chunk the bridge accepted.
   *
   * @param observationNanos capture time of the observation it answers
   * @param periodNanos its step period
   * @param firstStep where {@code steps[0]} falls in the policy's chunk (the committed prefix's length)
   * @param steps its actions, {@code steps[i]} starting at observation + (firstStep + i) * period
   * @param startNanos when the bridge starts executing it (its first executed step's start, or its
   *     activation if later); later steps than the newest chunk's start are replaced by it
   */
  public void accepted(long observationNanos, long periodNanos, int firstStep, double[][] steps, long startNanos) {
    if (steps.length == 0 || periodNanos <= 0) {
      throw new IllegalArgumentException("a chunk with " + steps.length + " steps and period " + periodNanos + " ns");
    }
    for (double[] step : steps) {
      if (step.length != absolute.length) {
        throw new IllegalArgumentException(step.length + " values per step (expected: " + absolute.length + ")");
      }
    }
    // A chunk started at or before an older one's start replaces it entirely.
    while (!segments.isEmpty() && segments.peekLast().startNanos() >= startNanos) {
      segments.pollLast();
    }
    segments.addLast(new Segment(observationNanos + firstStep * periodNanos, startNanos, periodNanos,
        Arrays.stream(steps).map(double[]::clone).toArray(double[][]::new)));
    while (segments.size() > MAX_SEGMENTS) {
      segments.pollFirst();
    }
  }

  /** Forgets everything: the robot no longer follows the chunks it was sent. */
  public void clear() {
    segments.clear();
  }

  /** Returns whether any chunk is committed. */
  public boolean isEmpty() {
    return segments.isEmpty();
  }

  /**
   * The {@code steps} actions the robot will execute from {@code fromNanos}, one per {@code
   * periodNanos}: the committed prefix for an observation captured at {@code fromNanos}.
   *
   * @return the prefix, or an empty array if no chunk is committed at {@code fromNanos} (the robot
   *     was not yet following chunks then: nothing is committed)
   */
  public double[][] prefix(long fromNanos, long periodNanos, int steps) {
    if (steps <= 0 || segments.isEmpty() || segments.peekFirst().startNanos() > fromNanos) {
      return new double[0][];
    }
    double[][] prefix = new double[steps][absolute.length];
    for (int i = 0; i < steps; i++) {
      long cellStart = fromNanos + i * periodNanos;
      long cellEnd = cellStart + periodNanos;
      integrate(cellStart, cellEnd, prefix[i]);
      Segment last = segmentAt(cellEnd - 1);
      double[] step = last.steps()[Math.min(last.stepAt(cellEnd - 1), last.steps().length - 1)];
      for (int d = 0; d < absolute.length; d++) {
        if (absolute[d]) {
          prefix[i][d] = step[d];
        }
      }
    }
    return prefix;
  }

  /** Adds the increments executed over {@code [from, to)} into {@code out}. */
  private void integrate(long from, long to, double[] out) {
    long t = from;
    while (t < to) {
      Segment segment = segmentAt(t);
      int index = segment.stepAt(t);
      long next = to;
      Segment newer = newerThan(segment);
      if (newer != null) {
        next = Math.min(next, newer.startNanos());
      }
      double[] step;
      if (index < segment.steps().length) {
        step = segment.steps()[index];
        next = Math.min(next, segment.stepStart(index + 1));
      } else {
        // Past its last step the bridge continues at the last step's rate.
        step = segment.steps()[segment.steps().length - 1];
      }
      double fraction = (next - t) / (double) segment.periodNanos();
      for (int d = 0; d < absolute.length; d++) {
        if (!absolute[d]) {
          out[d] += step[d] * fraction;
        }
      }
      t = next;
    }
  }

  /** The newest segment started by {@code t} (the oldest if none is). */
  private Segment segmentAt(long t) {
    Segment found = segments.peekFirst();
    for (Segment segment : segments) {
      if (segment.startNanos() <= t) {
        found = segment;
      }
    }
    return found;
  }

  private Segment newerThan(Segment segment) {
    boolean seen = false;
    for (Segment candidate : segments) {
      if (seen) {
        return candidate;
      }
      seen = candidate == segment;
    }
    return null;
  }

  /**
   * How many steps a committed prefix should have: none if the expected delay is at most half a
   * step (the chunk then starts on arrival from its first step, as the bridge runs any chunk whose
   * first step is less than half over); otherwise enough whole steps to cover it, so the chunk
   * arrives before its prefix ends and is spliced there; always fewer than the chunk's length.
   *
   * @param expectedDelayNanos e.g. the recent p90 of observation-to-chunk latency
   */
  public static int prefixLength(long expectedDelayNanos, long periodNanos, int chunkLength) {
    return prefixLength(expectedDelayNanos, periodNanos / 2, periodNanos, chunkLength);
  }

  /**
   * As {@link #prefixLength(long, long, int)}, with the delay up to which no prefix is sent given:
   * {@code minDelayNanos} (0: a prefix whenever there is any delay).
   */
  public static int prefixLength(long expectedDelayNanos, long minDelayNanos, long periodNanos, int chunkLength) {
    if (expectedDelayNanos <= minDelayNanos || expectedDelayNanos <= 0) {
      return 0;
    }
    long steps = -Math.floorDiv(-expectedDelayNanos, periodNanos);
    return (int) Math.min(steps, chunkLength - 1L);
  }
}
