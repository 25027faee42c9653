package io.vlaserve.planner;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Bounds how many plans another planner makes at once: an LLM endpoint (and its bill) is the
 * scarcest thing the gateway calls, and session opens and replans from a whole fleet must not
 * stampede it. A call waits up to {@code maxWait} for a slot, then fails {@link PlanningException.Kind#BUSY}.
 * Thread-safe.
 */
public final class ConcurrencyLimitedPlanner implements Planner {
  private final Planner delegate;
  private final Semaphore slots;
  private final int limit;
  private final Duration maxWait;

  /**
   * @param limit plans at once, >= 1
   * @param maxWait how long a call waits for a slot
   */
  public ConcurrencyLimitedPlanner(Planner delegate, int limit, Duration maxWait) {
    if (limit < 1) {
      throw new IllegalArgumentException("vla.gateway.quota.max-concurrent-plans: " + limit + " (expected >= 1)");
    }
    this.delegate = delegate;
    this.slots = new Semaphore(limit, true);
    this.limit = limit;
    this.maxWait = maxWait;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public PlannedTask plan(PlanningRequest request) throws PlanningException {
    boolean acquired;
    try {
      acquired = slots.tryAcquire(maxWait.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PlanningException(PlanningException.Kind.TIMEOUT, "interrupted while waiting for a planner slot", e);
    }
    if (!acquired) {
      throw new PlanningException(PlanningException.Kind.BUSY, limit + " plans already being made"
          + " (vla.gateway.quota.max-concurrent-plans) and none finished within " + maxWait.toMillis() + " ms");
    }
    try {
      return delegate.plan(request);
    } finally {
      slots.release();
    }
  }

  /** Plans being made now. */
  public int inFlight() {
    return limit - slots.availablePermits();
  }
}
