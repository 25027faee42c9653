package io.vlaserve.controller.loop;

/** Work a {@link ControlLoop} does once per tick, e.g. one robot's controller. */
@FunctionalInterface
public interface Tickable {

  /**
   * Does one tick's work for the time slot starting at {@code slotNanos} (the deadline, not the
   * jittery wake-up time, so consecutive slots are exactly one period apart). Called on the loop
   * thread; must not block, should not allocate, and should not throw (a throw is contained and
   * counted, but skips the rest of that tick's work for this tickable).
   */
  void tick(long slotNanos);
}
