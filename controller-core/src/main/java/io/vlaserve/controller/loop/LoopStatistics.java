package io.vlaserve.controller.loop;

import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

/**
 * Periodicity statistics of one control loop, like ros2_control's: the distribution of the actual
 * tick period and of the compute time per tick, and the count of missed deadlines.
 *
 * <p>The loop thread records into wait-free, allocation-free {@link SingleWriterRecorder}s;
 * {@link #snapshot()} (any thread) folds their intervals into cumulative histograms since start.
 * Thread-safe: one writer, any number of readers.
 */
public final class LoopStatistics {
  /** Values above this (ns) are recorded as this: 10 s, far beyond any meaningful period. */
  private static final long HIGHEST_NANOS = 10_000_000_000L;

  private final long periodNanos;
  private final SingleWriterRecorder periods = new SingleWriterRecorder(1, HIGHEST_NANOS, 3);
  private final SingleWriterRecorder computes = new SingleWriterRecorder(1, HIGHEST_NANOS, 3);
  private final Histogram periodTotal = new Histogram(1, HIGHEST_NANOS, 3);
  private final Histogram computeTotal = new Histogram(1, HIGHEST_NANOS, 3);
  private Histogram periodInterval;
  private Histogram computeInterval;
  private final AtomicLong ticks = new AtomicLong();
  private final AtomicLong missedDeadlines = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  // Counts at the last reset(), subtracted in snapshots: the loop thread stays the only writer.
  private long ticksBaseline;
  private long missedBaseline;
  private long failuresBaseline;

  /** Creates empty statistics for a loop with the given target period. */
  public LoopStatistics(long periodNanos) {
    this.periodNanos = periodNanos;
  }

  /**
   * Records one tick; loop thread only.
   *
   * @param actualPeriodNanos time since the previous tick started, or a negative value for the first tick
   * @param computeNanos time the tick's work took
   * @param missed whether the tick started more than one period after its deadline
   */
  void record(long actualPeriodNanos, long computeNanos, boolean missed) {
    if (actualPeriodNanos >= 0) {
      periods.recordValue(clamp(actualPeriodNanos));
    }
    computes.recordValue(clamp(computeNanos));
    ticks.lazySet(ticks.get() + 1);
    if (missed) {
      missedDeadlines.lazySet(missedDeadlines.get() + 1);
    }
  }

  void recordFailure() {
    failures.lazySet(failures.get() + 1);
  }

  private static long clamp(long nanos) {
    return Math.max(1, Math.min(HIGHEST_NANOS, nanos));
  }

  /**
   * Starts the statistics afresh, e.g. after warm-up when benchmarking; {@link #snapshot()} then
   * covers the ticks since this call.
   */
  public synchronized void reset() {
    fold();
    periodTotal.reset();
    computeTotal.reset();
    ticksBaseline = ticks.get();
    missedBaseline = missedDeadlines.get();
    failuresBaseline = failures.get();
  }

  private void fold() {
    periodInterval = periods.getIntervalHistogram(periodInterval);
    periodTotal.add(periodInterval);
    computeInterval = computes.getIntervalHistogram(computeInterval);
    computeTotal.add(computeInterval);
  }

  /**
   * Returns the statistics since the loop started (or since {@link #reset()}). Allocates; call it
   * off the loop thread.
   */
  public synchronized Snapshot snapshot() {
    fold();
    boolean anyPeriod = periodTotal.getTotalCount() > 0;
    boolean anyCompute = computeTotal.getTotalCount() > 0;
    return new Snapshot(
        1e9 / periodNanos,
        ticks.get() - ticksBaseline,
        missedDeadlines.get() - missedBaseline,
        failures.get() - failuresBaseline,
        anyPeriod ? periodTotal.getValueAtPercentile(50) - periodNanos : 0,
        anyPeriod ? periodTotal.getValueAtPercentile(99) - periodNanos : 0,
        anyPeriod ? periodTotal.getValueAtPercentile(99.9) - periodNanos : 0,
        anyPeriod ? periodTotal.getMaxValue() - periodNanos : 0,
        anyCompute ? computeTotal.getValueAtPercentile(50) : 0,
        anyCompute ? computeTotal.getValueAtPercentile(99) : 0,
        anyCompute ? computeTotal.getValueAtPercentile(99.9) : 0,
        anyCompute ? computeTotal.getMaxValue() : 0);
  }

  /**
   * Loop statistics at one moment. Period errors are the actual period minus the target, so
   * negative when a tick follows a late one (the schedule keeps its deadlines); percentiles are
   * HdrHistogram's, with three significant digits.
   *
   * @param rateHz the target tick rate
   * @param ticks ticks run
   * @param missedDeadlines ticks that started more than one period after their deadline
   * @param failures ticks in which a tickable threw
   * @param periodErrorP50Nanos median period error
   * @param periodErrorP99Nanos 99th percentile period error
   * @param periodErrorP999Nanos 99.9th percentile period error
   * @param periodErrorMaxNanos largest period error
   * @param computeP50Nanos median compute time per tick (all tickables)
   * @param computeP99Nanos 99th percentile compute time
   * @param computeP999Nanos 99.9th percentile compute time
   * @param computeMaxNanos largest compute time
   */
  public record Snapshot(
      double rateHz,
      long ticks,
      long missedDeadlines,
      long failures,
      long periodErrorP50Nanos,
      long periodErrorP99Nanos,
      long periodErrorP999Nanos,
      long periodErrorMaxNanos,
      long computeP50Nanos,
      long computeP99Nanos,
      long computeP999Nanos,
      long computeMaxNanos) {}
}
