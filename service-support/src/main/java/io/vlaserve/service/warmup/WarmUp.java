package io.vlaserve.service.warmup;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.SmartLifecycle;

/**
 * Runs every {@link WarmUpTask} of the service on a platform thread at start, each for up to
 * {@code rounds} rounds or {@code budget} of time, whichever ends first, and reports health
 * OUT_OF_SERVICE until all are done. gRPC health follows actuator health, so a service reports
 * SERVING only once warm. A task that throws is logged and skipped: warm-up speeds a service up, it
 * never keeps one from serving. Thread-safe.
 */
public final class WarmUp implements SmartLifecycle, HealthIndicator {
  private static final Logger log = LoggerFactory.getLogger(WarmUp.class);

  private final List<WarmUpTask> tasks;
  private final int rounds;
  private final Duration budget;
  private final Map<String, String> results = new LinkedHashMap<>();
  private volatile boolean done;
  private volatile boolean running;
  private final java.util.function.Consumer<Runnable> launcher;

  /**
   * @param rounds the most rounds per task
   * @param budget the longest each task runs
   */
  public WarmUp(List<WarmUpTask> tasks, int rounds, Duration budget) {
    this(tasks, rounds, budget, work -> Thread.ofPlatform().name("warm-up").daemon().start(work));
  }

  /** As the public constructor, starting the warm-up with {@code launcher} (tests run it in place). */
  WarmUp(List<WarmUpTask> tasks, int rounds, Duration budget, java.util.function.Consumer<Runnable> launcher) {
    if (rounds < 0) {
      throw new IllegalArgumentException("vla.warm-up.rounds: " + rounds + " (expected: >= 0, 0 to skip warm-up)");
    }
    this.tasks = List.copyOf(tasks);
    this.rounds = rounds;
    this.budget = budget;
    this.done = this.tasks.isEmpty() || rounds == 0;
    this.launcher = launcher;
  }

  @Override
  public void start() {
    running = true;
    if (!done) {
      launcher.accept(this::runAll);
    }
  }

  private void runAll() {
    for (WarmUpTask task : tasks) {
      long started = System.nanoTime();
      long deadline = started + budget.toNanos();
      int ran = 0;
      String result;
      try {
        int taskRounds = Math.min(rounds, task.maxRounds());
        while (ran < taskRounds && System.nanoTime() - deadline < 0 && running) {
          task.runOnce();
          ran++;
        }
        result = ran + " rounds in " + (System.nanoTime() - started) / 1_000_000 + " ms";
        log.info("Warm-up of {}: {}", task.name(), result);
      } catch (RuntimeException e) {
        result = "failed after " + ran + " rounds: " + e;
        log.warn("Warm-up of {} failed after {} rounds; serving without it", task.name(), ran, e);
      }
      try {
        task.finished();
      } catch (RuntimeException e) {
        log.warn("Warm-up of {}: freeing what it used failed", task.name(), e);
      }
      synchronized (results) {
        results.put(task.name(), result);
      }
    }
    done = true;
  }

  /** Whether every task has finished. */
  public boolean done() {
    return done;
  }

  @Override
  public Health health() {
    Health.Builder health = done ? Health.up() : Health.outOfService();
    synchronized (results) {
      results.forEach(health::withDetail);
    }
    return health.build();
  }

  @Override
  public void stop() {
    running = false;
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    // Before the gRPC server starts, so that it is never SERVING while cold.
    return Integer.MAX_VALUE - 2000;
  }
}
