package io.vlaserve.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ProtoTimesTest {
  @Test
  void timestampsAndInstantsRoundTrip() {
    Instant instant = Instant.parse("2026-12-06T16:40:01.123456789Z");
    assertEquals(instant, ProtoTimes.instant(ProtoTimes.timestamp(instant)));
    assertEquals(instant.getEpochSecond() * 1_000_000_000L + 123_456_789, ProtoTimes.epochNanos(ProtoTimes.timestamp(instant)));
  }

  @Test
  void durationsRoundTripWithTheSignOnBothParts() {
    Duration negative = ProtoTimes.duration(-1_500_000_000L);
    assertEquals(-1, negative.getSeconds());
    assertEquals(-500_000_000, negative.getNanos());
    assertEquals(-1_500_000_000L, ProtoTimes.nanos(negative));
    java.time.Duration twoAndAQuarter = java.time.Duration.ofMillis(2_250);
    assertEquals(twoAndAQuarter, ProtoTimes.javaDuration(ProtoTimes.duration(twoAndAQuarter)));
  }

  @Test
  void hostileValuesSaturateInsteadOfWrapping() {
    assertEquals(Long.MAX_VALUE / 2, ProtoTimes.nanos(Duration.newBuilder().setSeconds(315_576_000_000L).build()));
    assertEquals(Long.MIN_VALUE / 2, ProtoTimes.epochNanos(Timestamp.newBuilder().setSeconds(-62_135_596_800L).build()));
  }
}
