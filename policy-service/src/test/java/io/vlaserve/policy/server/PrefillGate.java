package io.vlaserve.policy.server;

import io.vlaserve.policy.engine.ForwardingVlaEngine;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.PromptBatch;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * A gate in front of the engine's prefill, so a test holds the engine busy without timing: while
 * closed, the next prefill waits at it (and says it entered). Open from the start. A Spring test
 * imports {@link Config} and drives {@link #INSTANCE}; tests run one at a time and each leaves it
 * open. Thread-safe.
 */
final class PrefillGate {
  /** The gate {@link Config} puts in front of the service's engine. */
  static final PrefillGate INSTANCE = new PrefillGate();

  /** Declares the gate as the service's {@link VlaEngineDecorator}. */
  @TestConfiguration
  static class Config {
    @Bean
    VlaEngineDecorator gatingDecorator() {
      return INSTANCE.decorator();
    }
  }

  private volatile CountDownLatch gate = new CountDownLatch(0);
  private volatile CountDownLatch entered = new CountDownLatch(1);

  /** The next prefill waits until {@link #open()}; {@link #awaitEntered} then waits for it. */
  void close() {
    entered = new CountDownLatch(1);
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
          entered.countDown(); // read after gate: close() arms entered first
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
