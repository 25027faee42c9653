package io.vlaserve.proto;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import java.time.Instant;

/**
 * The one home of conversions between {@code java.time} and the protobuf well-known types
 * {@link Timestamp} and {@link Duration}, for every module of the suite.
 *
 * <p>Conversions to nanoseconds saturate instead of overflowing: times and durations come from the
 * network, and a hostile or broken peer's year 292,278,994 must not wrap into the past. Stateless
 * and thread-safe.
 */
public final class ProtoTimes {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  /** Beyond this many seconds (~285 years) a value in nanoseconds would overflow a long. */
  private static final long MAX_SECONDS = 9_000_000_000L;

  private ProtoTimes() {}

  /** Returns {@code instant} as a Timestamp. */
  public static Timestamp timestamp(Instant instant) {
    return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).setNanos(instant.getNano()).build();
  }

  /** Returns {@code timestamp} as an Instant. */
  public static Instant instant(Timestamp timestamp) {
    return Instant.ofEpochSecond(timestamp.getSeconds(), timestamp.getNanos());
  }

  /** Returns {@code timestamp} in nanoseconds since the epoch, saturating far from it. */
  public static long epochNanos(Timestamp timestamp) {
    return nanos(timestamp.getSeconds(), timestamp.getNanos());
  }

  /** Returns {@code duration} as a protobuf Duration. */
  public static Duration duration(java.time.Duration duration) {
    return Duration.newBuilder().setSeconds(duration.getSeconds()).setNanos(duration.getNano()).build();
  }

  /** Returns {@code nanos} as a protobuf Duration (seconds and nanos share the sign, as the type requires). */
  public static Duration duration(long nanos) {
    return Duration.newBuilder().setSeconds(nanos / NANOS_PER_SECOND).setNanos((int) (nanos % NANOS_PER_SECOND)).build();
  }

  /** Returns {@code duration} as a java.time Duration. */
  public static java.time.Duration javaDuration(Duration duration) {
    return java.time.Duration.ofSeconds(duration.getSeconds(), duration.getNanos());
  }

  /** Returns {@code duration} in nanoseconds, saturating beyond about 285 years instead of overflowing. */
  public static long nanos(Duration duration) {
    return nanos(duration.getSeconds(), duration.getNanos());
  }

  private static long nanos(long seconds, int nanos) {
    if (Math.abs(seconds) > MAX_SECONDS) {
      return seconds > 0 ? Long.MAX_VALUE / 2 : Long.MIN_VALUE / 2;
    }
    return seconds * NANOS_PER_SECOND + nanos;
  }
}
