package io.vlaserve.controller.loop;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A fixed-rate loop on a dedicated platform thread that ticks its {@link Tickable}s once per
 * period, on deadlines rather than sleeps.
 *
 * <p>Deadline-based: the n-th tick is due at {@code start + n * period} however long earlier ticks
 * took, so errors do not accumulate. A tick that starts more than one period late counts as a
 * missed deadline, and the slots it overran are skipped rather than run in a burst (a robot wants
 * one setpoint per period, not several at once). Each tickable receives the slot's nominal time.
 * Waiting is the {@link LoopClock}'s: parked, then spinning for the last tens of microseconds.
 *
 * <p>The per-tick path allocates nothing. {@link #runTicks} runs ticks on the calling thread
 * instead, for deterministic tests with a fake clock. Thread-safe: start/stop from any thread.
 */
public final class ControlLoop implements AutoCloseable {
  private static final System.Logger log = System.getLogger(ControlLoop.class.getName());

  private final String name;
  private final long periodNanos;
  private final LoopClock clock;
  private final Tickable[] tickables;
  private final LoopStatistics statistics;
  private final LoopScheduling scheduling;
  private volatile ThreadScheduling.Outcome schedulingOutcome;
  private volatile boolean running;
  private Thread thread;
  private long deadline = Long.MIN_VALUE;
  private long previousStart = Long.MIN_VALUE;

  /**
   * Creates a stopped loop.
   *
   * @param name used for the thread's name
   * @param periodNanos the tick period, e.g. 1_000_000 for 1 kHz
   * @param clock time and waiting
   * @param tickables ticked in this order every period
   */
  public ControlLoop(String name, long periodNanos, LoopClock clock, List<? extends Tickable> tickables) {
    this(name, periodNanos, clock, tickables, LoopScheduling.NORMAL);
  }

  /**
   * Creates a stopped loop whose thread asks the OS for {@code scheduling} when it starts.
   *
   * @param scheduling e.g. {@link LoopScheduling#realtime(int)}; what the OS granted is
   *     {@link #scheduling()}
   */
  public ControlLoop(String name, long periodNanos, LoopClock clock, List<? extends Tickable> tickables,
      LoopScheduling scheduling) {
    if (periodNanos < 10_000) {
      throw new IllegalArgumentException("periodNanos: " + periodNanos + " (expected: >= 10000, at most 100 kHz)");
    }
    this.name = name;
    this.periodNanos = periodNanos;
    this.clock = clock;
    this.tickables = tickables.toArray(new Tickable[0]);
    this.statistics = new LoopStatistics(periodNanos);
    this.scheduling = scheduling;
  }

  /** Starts the loop thread: a platform thread, scheduled as asked at construction. */
  public synchronized void start() {
    if (thread != null) {
      throw new IllegalStateException("control loop " + name + " already started");
    }
    running = true;
    thread = Thread.ofPlatform().name("control-loop-" + name).daemon(true).unstarted(this::run);
    thread.start();
  }

  private void run() {
    ThreadScheduling.Outcome outcome = ThreadScheduling.applyToCurrentThread(scheduling);
    schedulingOutcome = outcome;
    log.log(outcome.elevated() || !scheduling.realtime() ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
        "control loop " + name + " scheduling: " + outcome);
    while (running) {
      runOneTick();
    }
  }

  /**
   * Runs {@code count} ticks on the calling thread (waiting on the clock as the loop thread
   * would); for tests with a fake clock. Do not combine with {@link #start()}.
   */
  public void runTicks(int count) {
    for (int i = 0; i < count; i++) {
      runOneTick();
    }
  }

  private void runOneTick() {
    if (deadline == Long.MIN_VALUE) {
      deadline = clock.nanoTime() + periodNanos;
    }
    clock.sleepUntil(deadline);
    long start = clock.nanoTime();
    long late = start - deadline;
    boolean missed = late > periodNanos;
    if (missed) {
      // Realign to the slot we are in rather than catch up with a burst of ticks.
      deadline += (late / periodNanos) * periodNanos;
    }
    for (Tickable tickable : tickables) {
      try {
        tickable.tick(deadline);
      } catch (RuntimeException e) {
        // Tickables contain their own faults (a robot controller halts its robot); this is the
        // last line, so that one robot's bug never stops the other robots' setpoints.
        statistics.recordFailure();
        log.log(System.Logger.Level.ERROR, "control loop " + name + ": a tick failed; the loop goes on", e);
      }
    }
    long end = clock.nanoTime();
    statistics.record(previousStart == Long.MIN_VALUE ? -1 : start - previousStart, end - start, missed);
    previousStart = start;
    deadline += periodNanos;
  }

  /** Stops the loop thread after its current tick, waiting at most {@code timeout}. */
  public void stop(Duration timeout) {
    Thread toJoin;
    synchronized (this) {
      running = false;
      toJoin = thread;
    }
    if (toJoin != null) {
      try {
        toJoin.join(TimeUnit.NANOSECONDS.toMillis(timeout.toNanos()) + 1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    stop(Duration.ofSeconds(1));
  }

  /** Returns whether the loop thread is running. */
  public boolean isRunning() {
    Thread t = thread;
    return running && t != null && t.isAlive();
  }

  /** Returns the loop's statistics. */
  public LoopStatistics statistics() {
    return statistics;
  }

  /**
   * Returns how the OS schedules the loop thread: what it asked for and what it got; "not started"
   * before the thread has asked.
   */
  public String scheduling() {
    ThreadScheduling.Outcome outcome = schedulingOutcome;
    return outcome == null ? "not started" : outcome.description();
  }

  /** Returns whether the OS granted the loop thread a higher priority than normal threads. */
  public boolean schedulingElevated() {
    ThreadScheduling.Outcome outcome = schedulingOutcome;
    return outcome != null && outcome.elevated();
  }

  /** Returns the tick period, nanoseconds. */
  public long periodNanos() {
    return periodNanos;
  }

  /** Returns the loop's name. */
  public String name() {
    return name;
  }
}
