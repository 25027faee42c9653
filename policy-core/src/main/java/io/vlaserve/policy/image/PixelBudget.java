package io.vlaserve.policy.image;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A bound on how many decoded pixels exist at once over every concurrent decode, so that many large
 * compressed frames arriving together cannot exhaust the heap: a decode takes a lease for its
 * frame's pixels before it allocates anything and returns it when done. When the budget is spent a
 * decode waits at most {@code maxWait} for leases to come back, then is refused with
 * {@link ExhaustedException}. A frame larger than the whole budget asks for the whole budget (it
 * decodes alone). Leases are granted first come, first served. Thread-safe.
 */
public final class PixelBudget {
  private final long maxPixels;
  private final Duration maxWait;
  private final Semaphore pixels;

  /**
   * @param maxPixels decoded pixels in flight at most (capped at {@link Integer#MAX_VALUE})
   * @param maxWait how long a decode waits for the budget before it is refused
   */
  public PixelBudget(long maxPixels, Duration maxWait) {
    if (maxPixels < 1 || maxWait.isNegative()) {
      throw new IllegalArgumentException("pixel budget " + maxPixels + ", wait " + maxWait
          + " (expected: at least 1 pixel and a wait of at least 0)");
    }
    this.maxPixels = Math.min(maxPixels, Integer.MAX_VALUE);
    this.maxWait = maxWait;
    this.pixels = new Semaphore((int) this.maxPixels, true);
  }

  /** A budget no decode ever waits for. */
  public static PixelBudget unlimited() {
    return new PixelBudget(Integer.MAX_VALUE, Duration.ZERO);
  }

  public long maxPixels() {
    return maxPixels;
  }

  public Duration maxWait() {
    return maxWait;
  }

  /** Pixels currently leased. */
  public long inFlight() {
    return maxPixels - pixels.availablePermits();
  }

  /** Decodes waiting for the budget now (an estimate, as {@link Semaphore#getQueueLength()}). */
  public int waiting() {
    return pixels.getQueueLength();
  }

  /**
   * Leases {@code count} pixels, waiting at most {@link #maxWait()}.
   *
   * @param what the decode, for the refusal's message (e.g. "4096x4096 PNG")
   * @throws ExhaustedException when the budget stays spent for the whole wait
   */
  public Lease acquire(long count, String what) {
    int asked = (int) Math.max(1, Math.min(count, maxPixels));
    boolean granted;
    try {
      granted = pixels.tryAcquire(asked, maxWait.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      granted = false;
    }
    if (!granted) {
      throw new ExhaustedException("image: decoding " + what + " (" + count + " pixels) would exceed the budget of "
          + maxPixels + " decoded pixels in flight (vla.policy.max-decoded-pixels; " + inFlight()
          + " in use) after waiting " + maxWait.toMillis() + " ms (expected: fewer large frames at once; retry shortly)");
    }
    return new Lease(asked);
  }

  /** Pixels leased by one decode; {@link #close()} returns them (once). */
  public final class Lease implements AutoCloseable {
    private final int count;
    private boolean closed;

    private Lease(int count) {
      this.count = count;
    }

    @Override
    public synchronized void close() {
      if (!closed) {
        closed = true;
        pixels.release(count);
      }
    }
  }

  /** The budget stayed spent for the whole wait: the service is busy decoding, not the frame at fault. */
  public static final class ExhaustedException extends RuntimeException {
    ExhaustedException(String message) {
      super(message, null, false, false); // an expected refusal: no stack trace
    }
  }
}
