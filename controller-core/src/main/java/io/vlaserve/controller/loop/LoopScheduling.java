package io.vlaserve.controller.loop;

/**
 * How a control loop's thread asks the operating system to schedule it.
 *
 * <p>Under the default time-sharing scheduler a 1 kHz loop competes with every busy thread of the
 * machine (the JIT compiler, the policy's engine, other services) and starts a tick milliseconds
 * late whenever both cores are taken. A real-time (SCHED_FIFO) thread runs as soon as its wait
 * ends, the way ros2_control and other robot controllers run their loops. The kernel needs the
 * permission for it (CAP_SYS_NICE, or an rtprio limit); without it the loop runs as before, and
 * says so.
 *
 * @param realtime whether to ask for SCHED_FIFO
 * @param priority the SCHED_FIFO priority, 1..99 (ignored when not real-time)
 */
public record LoopScheduling(boolean realtime, int priority) {
  /** The default time-sharing scheduler: nothing is asked for. */
  public static final LoopScheduling NORMAL = new LoopScheduling(false, 0);

  public LoopScheduling {
    if (realtime && (priority < 1 || priority > 99)) {
      throw new IllegalArgumentException("real-time priority: " + priority + " (expected: 1..99, SCHED_FIFO's range)");
    }
  }

  /** SCHED_FIFO at {@code priority} (1..99). */
  public static LoopScheduling realtime(int priority) {
    return new LoopScheduling(true, priority);
  }

  @Override
  public String toString() {
    return realtime ? "SCHED_FIFO priority " + priority : "normal";
  }
}
