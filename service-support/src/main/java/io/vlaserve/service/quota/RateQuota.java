package io.vlaserve.service.quota;

import com.google.protobuf.Any;
import com.google.rpc.RetryInfo;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A token bucket per caller (an authenticated identity, e.g. "robot/arm-1"): {@code perMinute}
 * tokens a minute, at most {@code burst} saved up. A call that finds the bucket empty is told how
 * long until the next token. Buckets that have refilled are forgotten once there are many, so a
 * flood of identities cannot grow memory without bound. Thread-safe; the clock is injected.
 */
public final class RateQuota {
  /** Above this many buckets, full ones are dropped (a full bucket is the same as none). */
  static final int MAX_IDLE_BUCKETS = 10_000;

  private final String what;
  private final double tokensPerNano;
  private final double burst;
  private final LongSupplier nanoTime;
  private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

  private static final class Bucket {
    double tokens;
    long updated;

    Bucket(double tokens, long updated) {
      this.tokens = tokens;
      this.updated = updated;
    }
  }

  /**
   * @param what the quota in messages, e.g. "session opens (vla.gateway.quota.opens-per-minute)"
   * @param perMinute sustained rate, > 0
   * @param burst tokens a caller may save up, >= 1
   */
  public RateQuota(String what, double perMinute, int burst, LongSupplier nanoTime) {
    if (!(perMinute > 0) || burst < 1) {
      throw new IllegalArgumentException(what + ": " + perMinute + " per minute, burst " + burst
          + " (expected: a rate > 0 and a burst >= 1)");
    }
    this.what = what;
    this.tokensPerNano = perMinute / 60e9;
    this.burst = burst;
    this.nanoTime = nanoTime;
  }

  /**
   * Takes a token for {@code caller}.
   *
   * @return empty when granted, else how long until a token is there
   */
  public Optional<Duration> tryAcquire(String caller) {
    long now = nanoTime.getAsLong();
    if (buckets.size() > MAX_IDLE_BUCKETS) {
      forgetFullBuckets(now);
    }
    Bucket bucket = buckets.computeIfAbsent(caller, key -> new Bucket(burst, now));
    synchronized (bucket) {
      bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updated) * tokensPerNano);
      bucket.updated = now;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return Optional.empty();
      }
      return Optional.of(Duration.ofNanos((long) Math.ceil((1 - bucket.tokens) / tokensPerNano)));
    }
  }

  /**
   * Takes a token for {@code caller} or throws RESOURCE_EXHAUSTED naming the quota, with a
   * {@code google.rpc.RetryInfo} saying when to retry.
   */
  public void acquireOrThrow(String caller) {
    Optional<Duration> wait = tryAcquire(caller);
    if (wait.isPresent()) {
      throw exhausted(caller + ": over the quota of " + what, wait.get());
    }
  }

  /** RESOURCE_EXHAUSTED with {@code message}, "; retry in N ms", and the delay as {@code RetryInfo}. */
  public static StatusRuntimeException exhausted(String message, Duration retryAfter) {
    long millis = Math.max(1, (retryAfter.toNanos() + 999_999) / 1_000_000);
    com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
        .setCode(io.grpc.Status.Code.RESOURCE_EXHAUSTED.value())
        .setMessage(message + "; retry in " + millis + " ms")
        .addDetails(Any.pack(RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration.newBuilder()
            .setSeconds(millis / 1000).setNanos((int) (millis % 1000) * 1_000_000)).build()))
        .build();
    return StatusProto.toStatusRuntimeException(status);
  }

  private void forgetFullBuckets(long now) {
    for (Iterator<Bucket> it = buckets.values().iterator(); it.hasNext(); ) {
      Bucket bucket = it.next();
      synchronized (bucket) {
        if (bucket.tokens + (now - bucket.updated) * tokensPerNano >= burst) {
          it.remove();
        }
      }
    }
  }

  /** Buckets held, for tests. */
  int size() {
    return buckets.size();
  }
}
