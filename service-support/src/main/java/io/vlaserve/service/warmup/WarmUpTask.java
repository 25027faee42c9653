package io.vlaserve.service.warmup;

/**
 * Work a service runs before it reports SERVING, so that its per-request hot paths are compiled by
 * the JIT before the first robot depends on them (a cold path runs ten to a hundred times slower,
 * and a 1 kHz loop or a 100 ms step budget does not survive that). A task touches no robot and no
 * other service: it drives the service's own code on made-up inputs. Declare one as a bean.
 */
public interface WarmUpTask {
  /** What is warmed, for the log and the health details, e.g. "control loop". */
  String name();

  /**
   * Runs one round of the hot path on made-up inputs; called repeatedly until the round count or
   * the time budget ({@code vla.warm-up.*}) is spent.
   */
  void runOnce();

  /** The most rounds this task needs, whatever {@code vla.warm-up.rounds} allows. */
  default int maxRounds() {
    return Integer.MAX_VALUE;
  }

  /** Called once after the task's last round (or its failure), to free what its rounds used. */
  default void finished() {}
}
