package io.vlaserve.robot.client;

import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * The one timer thread the library shares for clock probes and reconnect waits: every task on it
 * only writes a message or opens a call, never blocks.
 */
final class ClientScheduler {
  static final ScheduledThreadPoolExecutor TIMER = create();

  private ClientScheduler() {}

  private static ScheduledThreadPoolExecutor create() {
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1,
        Thread.ofPlatform().daemon(true).name("vla-robot-client-timer").factory());
    timer.setRemoveOnCancelPolicy(true);
    return timer;
  }
}
