package io.vlaserve.controller.safety;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;

/**
 * A bounded, allocation-free queue of one robot's safety events from the control loop to whoever
 * reports them, plus exact per-kind counts.
 *
 * <p>Single producer (the control-loop thread calls {@link #record}), single consumer at a time
 * ({@link #drain} is synchronized). Recording stores primitives and constants in preallocated
 * slots; the {@link SafetyEvent} and its sentence are built by the consumer. When the consumer
 * falls {@code capacity} events behind, new events are counted in {@link #dropped()} instead of
 * queued; {@link #count} stays exact either way. Thread-safe under that discipline.
 */
public final class SafetyEventLog {
  private final String robotId;
  private final int mask;
  private final long[] times;
  private final long[] ticks;
  private final long[] chunkIds;
  private final Cause[] causes;
  private final SafetyAction[] actions;
  private final Axis[] axes;
  private final double[] requested;
  private final double[] limits;
  private final String[] notes;
  private final AtomicLong head = new AtomicLong();
  private final AtomicLong tail = new AtomicLong();
  private final AtomicLongArray counts = new AtomicLongArray(SafetyEventKind.values().length);
  private final AtomicLong dropped = new AtomicLong();

  /**
   * Creates a log.
   *
   * @param robotId stamped on every event
   * @param capacity events held between drains; rounded up to a power of two
   */
  public SafetyEventLog(String robotId, int capacity) {
    if (capacity < 1 || capacity > 1 << 20) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: 1..1048576)");
    }
    int size = Integer.highestOneBit(capacity - 1) << 1;
    size = Math.max(size, 1);
    this.robotId = robotId;
    this.mask = size - 1;
    times = new long[size];
    ticks = new long[size];
    chunkIds = new long[size];
    causes = new Cause[size];
    actions = new SafetyAction[size];
    axes = new Axis[size];
    requested = new double[size];
    limits = new double[size];
    notes = new String[size];
  }

  /** Records one event; control-loop thread only. Allocates nothing. */
  public void record(long timeNanos, long tick, Cause cause, SafetyAction action, Axis axis,
      double requestedValue, double limitValue, long chunkId, String note) {
    int kind = cause.kind().ordinal();
    counts.lazySet(kind, counts.get(kind) + 1);
    long h = head.get();
    if (h - tail.get() > mask) {
      dropped.lazySet(dropped.get() + 1);
      return;
    }
    int slot = (int) (h & mask);
    times[slot] = timeNanos;
    ticks[slot] = tick;
    chunkIds[slot] = chunkId;
    causes[slot] = cause;
    actions[slot] = action;
    axes[slot] = axis;
    requested[slot] = requestedValue;
    limits[slot] = limitValue;
    notes[slot] = note;
    // Release: the slot's writes become visible before the consumer sees the new head.
    head.lazySet(h + 1);
  }

  /**
   * Hands every queued event to {@code sink}, oldest first, and returns how many.
   * Allocates one {@link SafetyEvent} per event; call it off the control-loop thread.
   */
  public synchronized int drain(Consumer<? super SafetyEvent> sink) {
    long t = tail.get();
    long h = head.get();
    int drained = 0;
    while (t < h) {
      int slot = (int) (t & mask);
      Cause cause = causes[slot];
      SafetyEvent event = new SafetyEvent(robotId, times[slot], ticks[slot], cause.kind(), actions[slot],
          axes[slot], requested[slot], limits[slot], chunkIds[slot],
          cause.describe(actions[slot], axes[slot], requested[slot], limits[slot], notes[slot]));
      notes[slot] = null;
      t++;
      tail.lazySet(t);
      drained++;
      sink.accept(event);
    }
    return drained;
  }

  /** Returns how many events of {@code kind} were recorded since creation, including dropped ones. */
  public long count(SafetyEventKind kind) {
    return counts.get(kind.ordinal());
  }

  /** Returns how many events were not queued because the consumer fell behind. */
  public long dropped() {
    return dropped.get();
  }

  /** Returns the robot whose events these are. */
  public String robotId() {
    return robotId;
  }
}
