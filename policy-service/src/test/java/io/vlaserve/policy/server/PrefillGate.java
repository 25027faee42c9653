package io.vlaserve.policy.server;

import io.vlaserve.policy.engine.ForwardingVlaEngine;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.PromptBatch;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A gate in front of the engine's prefill, so a test holds the engine busy without timing: while
 * closed, the next prefill waits at it (and says it entered). Open from the start; declare
 * {@link #decorator()} as a {@link VlaEngineDecorator} bean. Thread-safe.
 */
final class PrefillGate {
  private volatile CountDownLatch gate = new CountDownLatch(0);
  private final CountDownLatch entered = new CountDownLatch(1);

  /** The next prefill waits until {@link #open()}. */
  void close() {
    gate = new CountDownLatch(1);
  }

  void open() {
    gate.countDown();
  }

  /** Whether a prefill reached the closed gate within {@code seconds}. */
  boolean awaitEntered(long seconds) throws InterruptedException {
    return entered.await(seconds, TimeUnit.SECONDS);
  }

  VlaEngineDecorator decorator() {
    return engine -> new ForwardingVlaEngine(engine) {
      @Override
      public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
        CountDownLatch current = gate;
        if (current.getCount() > 0) {
          entered.countDown();
          try {
            current.await();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        }
        return super.prefill(batch, logits, maxNewTokens);
      }
    };
  }
}
