package io.vlaserve.controller.messages;

import io.vlaserve.proto.ProtoTimes;
import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.function.LongSupplier;

/**
 * Converts between the wire's wall-clock timestamps and the loop clock ({@link System#nanoTime}
 * scale) the controller runs on, and between protobuf and Java durations.
 *
 * <p>Conversions go through ages ("how long ago, on the wall clock"), re-reading both clocks each
 * time, so wall-clock steps and slews never accumulate into an offset. Robot and bridge wall clocks
 * are assumed synchronised (NTP or PTP); the controller rejects observation times too far in the
 * future. Thread-safe.
 */
public final class ProtoTime {
  private final Clock wall;
  private final LongSupplier ticker;

  public ProtoTime(Clock wall, LongSupplier ticker) {
    this.wall = wall;
    this.ticker = ticker;
  }

  /** The system wall clock and {@link System#nanoTime}. */
  public static ProtoTime system() {
    return new ProtoTime(Clock.systemUTC(), System::nanoTime);
  }

  /**
   * Returns the loop-clock time of wall-clock {@code timestamp}. Ages beyond a day either way are
   * capped there (the controller refuses such chunks as late or future) so no arithmetic overflows.
   */
  public long toLoopNanos(Timestamp timestamp) {
    Instant now = wall.instant();
    long ageSeconds = Math.max(-MAX_AGE_SECONDS, Math.min(MAX_AGE_SECONDS, now.getEpochSecond() - timestamp.getSeconds()));
    long ageNanos = ageSeconds * 1_000_000_000L + (now.getNano() - timestamp.getNanos());
    return ticker.getAsLong() - ageNanos;
  }

  private static final long MAX_AGE_SECONDS = 86_400;

  /** Returns the wall-clock timestamp of loop-clock time {@code loopNanos}. */
  public Timestamp toTimestamp(long loopNanos) {
    long ageNanos = ticker.getAsLong() - loopNanos;
    return ProtoTimes.timestamp(wall.instant().minusNanos(ageNanos));
  }

  /** Returns the loop clock's current time. */
  public long nowNanos() {
    return ticker.getAsLong();
  }

  /** See {@link ProtoTimes#duration(long)}. */
  public static Duration duration(long nanos) {
    return ProtoTimes.duration(nanos);
  }

  /** See {@link ProtoTimes#nanos(Duration)}. */
  public static long nanos(Duration duration) {
    return ProtoTimes.nanos(duration);
  }
}
