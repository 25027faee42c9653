package io.vlaserve.controller;

import java.util.function.LongSupplier;

/** A clock tests advance by hand. */
public final class ManualClock implements LongSupplier {
  private long now;

  public ManualClock(long start) {
    this.now = start;
  }

  @Override
  public long getAsLong() {
    return now;
  }

  public void set(long nanos) {
    now = nanos;
  }

  public void advance(long nanos) {
    now += nanos;
  }
}
