package io.vlaserve.controller.loop;

/**
 * The time source and the waiting strategy of a {@link ControlLoop}, injected so tests can run a
 * loop tick by tick on a fake clock.
 *
 * <p>Implementations must be usable from the loop thread without allocating.
 */
public interface LoopClock {

  /** Returns monotonic time in nanoseconds, with an arbitrary origin (like {@link System#nanoTime}). */
  long nanoTime();

  /** Returns once {@link #nanoTime()} has reached {@code deadlineNanos} (at once if it has). */
  void sleepUntil(long deadlineNanos);
}
