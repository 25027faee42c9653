package io.vlaserve.policy.engine;

/**
 * An engine that passes every call to another: the base for decorators (a fault injector, a
 * tracer, a gate in a test) that override only the calls they change.
 */
public abstract class ForwardingVlaEngine implements VlaEngine {
  private final VlaEngine delegate;

  protected ForwardingVlaEngine(VlaEngine delegate) {
    this.delegate = delegate;
  }

  /** The engine calls go to. */
  protected VlaEngine delegate() {
    return delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
    return delegate.prefill(batch, logits, maxNewTokens);
  }

  @Override
  public void decode(KvCache cache, long[] tokenIds, long[] positionIds, float[] attentionMask, float[] logits) {
    delegate.decode(cache, tokenIds, positionIds, attentionMask, logits);
  }

  @Override
  public void predictAll(PromptBatch batch, float[] logits) {
    delegate.predictAll(batch, logits);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
