package io.vlaserve.controller;

import java.util.List;

/**
 * H consecutive end-effector actions predicted from one observation, spaced one step period apart.
 *
 * <p>Each step is {@code [dx, dy, dz, droll, dpitch, dyaw, gripper]}: a translation (metres) and an
 * extrinsic rotation increment (radians, {@code Rz(dyaw) Ry(dpitch) Rx(droll)}, applied in the
 * world frame, on the left) per step, and the absolute gripper opening to reach by the end of the
 * step. Step {@code i} starts at {@code observationNanos + i * stepPeriodNanos}.
 *
 * <p>Construction validates everything that can be checked without the robot: every value finite,
 * seven dimensions per step, at least one step, a positive step period. Values are not range
 * checked here: bounding motion is the safety gate's job, which also reports it.
 *
 * <p>Immutable and thread-safe; the values are copied in.
 */
public final class ActionChunk {
  /** Values per step. */
  public static final int DIMENSIONS = 7;
  /** Longest step period accepted: 10 s (0.1 Hz), far beyond any policy's. */
  public static final long MAX_STEP_PERIOD_NANOS = 10_000_000_000L;
  /** Dimension names, in order, as error messages and events spell them. */
  public static final List<String> DIMENSION_NAMES =
      List.of("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper");

  private final long chunkId;
  private final long observationNanos;
  private final long stepPeriodNanos;
  private final int firstStep;
  private final double[] values;
  private final int steps;

  /**
   * Creates a validated chunk.
   *
   * @param chunkId the producer's identifier, echoed in events and state
   * @param observationNanos capture time of the observation the chunk answers, on the loop clock
   * @param stepPeriodNanos time between consecutive steps, nanoseconds
   * @param steps the actions, step-major; each {@code double[7]}
   * @param maxSteps the most steps accepted
   * @throws InvalidChunkException naming the offending step, dimension and value
   */
  public static ActionChunk of(long chunkId, long observationNanos, long stepPeriodNanos,
      List<double[]> steps, int maxSteps) {
    return of(chunkId, observationNanos, stepPeriodNanos, 0, steps, maxSteps);
  }

  /**
   * Creates a validated chunk that continues a committed prefix of {@code firstStep} steps.
   *
   * @param firstStep where the first of {@code steps} falls in the chunk the policy decoded: the
   *     committed prefix's length d, or 0 for a whole chunk
   * @param maxSteps the most steps accepted, counting the prefix's
   * @throws InvalidChunkException naming the offending step, dimension and value
   */
  public static ActionChunk of(long chunkId, long observationNanos, long stepPeriodNanos, int firstStep,
      List<double[]> steps, int maxSteps) {
    if (firstStep < 0 || firstStep >= maxSteps) {
      throw new InvalidChunkException("first_step: " + firstStep + " (expected: 0, or the committed prefix's"
          + " length, below the " + maxSteps + " steps a chunk may have)");
    }
    if (stepPeriodNanos <= 0 || stepPeriodNanos > MAX_STEP_PERIOD_NANOS) {
      throw new InvalidChunkException("step_period: " + stepPeriodNanos
          + " ns (expected: > 0 and <= 10 s, e.g. 100 ms for a 10 Hz policy)");
    }
    if (steps.isEmpty()) {
      throw new InvalidChunkException("steps: none (expected: at least one action)");
    }
    if (firstStep + steps.size() > maxSteps) {
      throw new InvalidChunkException(firstStep == 0
          ? "steps: " + steps.size() + " (expected: at most " + maxSteps + " per chunk)"
          : "steps: " + steps.size() + " after a committed prefix of " + firstStep + " (expected: at most "
              + maxSteps + " per chunk, prefix included)");
    }
    double[] flat = new double[steps.size() * DIMENSIONS];
    for (int s = 0; s < steps.size(); s++) {
      double[] step = steps.get(s);
      if (step.length != DIMENSIONS) {
        throw new InvalidChunkException("steps[" + s + "]: " + step.length
            + " values (expected: 7, [dx, dy, dz, droll, dpitch, dyaw, gripper])");
      }
      for (int d = 0; d < DIMENSIONS; d++) {
        if (!Double.isFinite(step[d])) {
          throw new InvalidChunkException("steps[" + s + "][" + d + "] (" + DIMENSION_NAMES.get(d)
              + "): " + step[d] + " (expected: a finite number)");
        }
        flat[s * DIMENSIONS + d] = step[d];
      }
    }
    return new ActionChunk(chunkId, observationNanos, stepPeriodNanos, firstStep, flat, steps.size());
  }

  private ActionChunk(long chunkId, long observationNanos, long stepPeriodNanos, int firstStep, double[] values,
      int steps) {
    this.chunkId = chunkId;
    this.observationNanos = observationNanos;
    this.stepPeriodNanos = stepPeriodNanos;
    this.firstStep = firstStep;
    this.values = values;
    this.steps = steps;
  }

  /** Returns the producer's identifier. */
  public long chunkId() {
    return chunkId;
  }

  /** Returns the capture time of the observation this chunk answers, loop-clock nanoseconds. */
  public long observationNanos() {
    return observationNanos;
  }

  /** Returns the time between consecutive steps, nanoseconds. */
  public long stepPeriodNanos() {
    return stepPeriodNanos;
  }

  /** Returns the number of steps carried, H - first step. */
  public int steps() {
    return steps;
  }

  /**
   * Returns where step 0 falls in the chunk the policy decoded: the committed prefix's length, or 0
   * for a whole chunk.
   */
  public int firstStep() {
    return firstStep;
  }

  /** Returns whether this chunk continues a committed prefix, to be spliced where the prefix ends. */
  public boolean continuesPrefix() {
    return firstStep > 0;
  }

  /** Returns the time from the observation to the end of the last step: how long the chunk runs blind. */
  public long horizonNanos() {
    return (firstStep + (long) steps) * stepPeriodNanos;
  }

  /** Returns value {@code dimension} of step {@code step}. */
  public double value(int step, int dimension) {
    return values[step * DIMENSIONS + dimension];
  }

  /** Returns the loop-clock time at which step {@code step} starts. */
  public long stepTimeNanos(int step) {
    return observationNanos + (firstStep + step) * stepPeriodNanos;
  }

  @Override
  public String toString() {
    return "ActionChunk{id=" + chunkId + ", steps=" + steps + (firstStep > 0 ? ", firstStep=" + firstStep : "")
        + ", stepPeriod=" + stepPeriodNanos + " ns}";
  }
}
