package io.vlaserve.controller;

/**
 * A consistent copy of one robot's execution state at the end of a tick, for reporting.
 *
 * <p>A reusable buffer filled by {@link RobotController#readState}. Not thread-safe.
 */
public final class ExecutionSnapshot {
  /** Loop-clock time of the tick. */
  public long timeNanos;
  /**
   * How far the trajectory timeline lags the loop clock because of missed deadlines (it pauses over
   * skipped slots rather than jump, and catches up when the robot rests).
   */
  public long timelineLagNanos;
  /** Ticks since the controller was created. */
  public long tick;
  public ExecutionMode mode = ExecutionMode.IDLE;
  /** Whether the robot has reported its state at least once. */
  public boolean ready;
  /** The chunk executing (or last executed); 0 before the first. */
  public long chunkId;
  /** The step of that chunk being executed, and the fraction (0..1) done of it. */
  public int stepIndex;
  public double stepFraction;
  /** The last setpoint sent (after the gate). */
  public final CartesianPose commanded = new CartesianPose();
  /** The last state the robot reported, and when (loop clock). */
  public final CartesianPose measured = new CartesianPose();
  public long measuredTimeNanos;
  /** Whether the robot's link is alive, and how old its last report is. */
  public boolean linkAlive;
  public long stateAgeNanos;
  /** Commanded linear velocity {@code [x, y, z]}, m/s (finite differences of setpoints). */
  public final double[] commandedVelocity = new double[3];
  /** Chunks activated and dropped (superseded before they started, or all steps past by then). */
  public long chunksActivated;
  public long chunksDropped;
  /**
   * Of the chunks activated, those spliced where their committed prefix ended (real-time chunking,
   * on time); the other continuations arrived late and were blended.
   */
  public long chunksSpliced;

  /** Copies every value of {@code other} into this. */
  public void set(ExecutionSnapshot other) {
    timeNanos = other.timeNanos;
    timelineLagNanos = other.timelineLagNanos;
    tick = other.tick;
    mode = other.mode;
    ready = other.ready;
    chunkId = other.chunkId;
    stepIndex = other.stepIndex;
    stepFraction = other.stepFraction;
    commanded.set(other.commanded);
    measured.set(other.measured);
    measuredTimeNanos = other.measuredTimeNanos;
    linkAlive = other.linkAlive;
    stateAgeNanos = other.stateAgeNanos;
    System.arraycopy(other.commandedVelocity, 0, commandedVelocity, 0, 3);
    chunksActivated = other.chunksActivated;
    chunksDropped = other.chunksDropped;
    chunksSpliced = other.chunksSpliced;
  }

  /** Returns the commanded linear speed (norm of {@link #commandedVelocity}), m/s. */
  public double commandedSpeed() {
    return Math.sqrt(commandedVelocity[0] * commandedVelocity[0] + commandedVelocity[1] * commandedVelocity[1]
        + commandedVelocity[2] * commandedVelocity[2]);
  }
}
