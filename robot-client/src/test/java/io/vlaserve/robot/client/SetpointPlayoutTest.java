package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vlaserve.controller.v1.Setpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The playout of frames on the robot's clock, with hand-made arrival and play times (no clock read). */
class SetpointPlayoutTest {
  private static final long MS = 1_000_000;
  private static final long MARGIN = 3 * MS;
  // The robot's monotonic clock reads this much more than the bridge's epoch nanos: any offset works.
  private static final long CLOCKS = -1_699_999_000_000_000_000L;

  private final SetpointPlayout playout = new SetpointPlayout(MARGIN);
  private final List<Long> played = new ArrayList<>();

  /** The frame of setpoints {@code first .. first+9} (1 ms apart at SetpointCheckTest's tick). */
  private static List<Setpoint> frame(long first) {
    return LongStream.range(first, first + 10).mapToObj(s -> SetpointCheckTest.at(s, 0.5)).toList();
  }

  /** The robot-clock time at which the bridge made setpoint {@code sequence}. */
  private static long madeAt(long sequence) {
    return 1_700_000_000_000_000_000L + sequence * SetpointCheckTest.TICK_NANOS + CLOCKS;
  }

  private List<Long> drain(long now) {
    played.clear();
    playout.drain(now, s -> played.add(s.getSequence()));
    return List.copyOf(played);
  }

  @Test
  void onTimeFramesPlayEachSetpointAtItsTimeOneFrameAndTheMarginLate() {
    long transit = 200_000;
    // Frame 0..9 leaves when setpoint 9 is made and arrives 0.2 ms later.
    playout.offer(frame(0), madeAt(9) + transit);
    long span = madeAt(9) - madeAt(0);
    long firstDue = madeAt(0) + transit + span + MARGIN;
    assertEquals(firstDue, playout.nextDueNanos());
    assertEquals(List.of(), drain(firstDue - 1));
    assertEquals(List.of(0L), drain(firstDue));
    assertEquals(List.of(1L, 2L), drain(firstDue + 2 * SetpointCheckTest.TICK_NANOS));
    // The next frame arrives on time, before the first one has finished playing: no gap, no overlap.
    playout.offer(frame(10), madeAt(19) + transit);
    assertEquals(List.of(3L, 4L, 5L, 6L, 7L, 8L, 9L), drain(firstDue + 9 * SetpointCheckTest.TICK_NANOS));
    assertEquals(List.of(10L), drain(firstDue + 10 * SetpointCheckTest.TICK_NANOS));
    assertEquals(9, playout.waiting());
  }

  @Test
  void aLateFramePlaysItsOverdueSetpointsAtOnceInOrder() {
    playout.offer(frame(0), madeAt(9));
    long late = 8 * MS;
    playout.offer(frame(10), madeAt(19) + late);
    long now = madeAt(19) + late;
    // Everything up to setpoint 19 - (late - span - margin) / tick is overdue by now.
    assertEquals(LongStream.rangeClosed(0, 14).boxed().toList(), drain(now));
    assertEquals(5, playout.waiting());
  }

  @Test
  void theOffsetFallsAtOnceToAQuickerDeliveryAndRisesOnlySlowly() {
    long slow = 5 * MS;
    playout.offer(frame(0), madeAt(9) + slow);
    long span = madeAt(9) - madeAt(0);
    assertEquals(madeAt(0) + slow + span + MARGIN, playout.nextDueNanos());
    // A quicker delivery: the whole playout moves 5 ms earlier.
    playout.offer(frame(10), madeAt(19));
    assertEquals(madeAt(0) + span + MARGIN, playout.nextDueNanos());
    // A slow delivery a second later: the offset rises by 100 ppm of the second, not to the new delay.
    playout.offer(frame(1010), madeAt(1019) + slow);
    long elapsed = madeAt(1019) + slow - madeAt(19);
    assertEquals(madeAt(0) + (long) (elapsed * SetpointPlayout.DRIFT_PER_SECOND) + span + MARGIN,
        playout.nextDueNanos());
  }

  @Test
  void resetForgetsWaitingSetpointsAndTheTimeMapping() {
    playout.offer(frame(0), madeAt(9) + 50 * MS);
    playout.reset();
    assertEquals(0, playout.waiting());
    assertEquals(Long.MAX_VALUE, playout.nextDueNanos());
    // A new anchor: the next frame's delivery sets the offset afresh, even though it is quicker... or slower.
    playout.offer(frame(10), madeAt(19) + 90 * MS);
    assertEquals(madeAt(10) + 90 * MS + (madeAt(19) - madeAt(10)) + MARGIN, playout.nextDueNanos());
  }

  @Test
  void beyondItsCapacityTheOldestSetpointsAreDropped() {
    for (int i = 0; i < SetpointPlayout.CAPACITY / 10 + 1; i++) {
      playout.offer(frame(10L * i), madeAt(10L * i + 9));
    }
    assertEquals(SetpointPlayout.CAPACITY, playout.waiting());
    assertEquals(10L * (SetpointPlayout.CAPACITY / 10 + 1) - SetpointPlayout.CAPACITY, playout.dropped());
    assertEquals(List.of(playout.dropped()), drain(playout.nextDueNanos()));
  }

  @Test
  void aNegativeMarginIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new SetpointPlayout(-1));
  }
}
