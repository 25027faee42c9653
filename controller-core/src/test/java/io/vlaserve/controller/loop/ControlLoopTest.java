package io.vlaserve.controller.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ControlLoopTest {
  private static final long PERIOD = 1_000_000;
  private static final long START = 7_000_000_000L;

  @Test
  void ticksReceiveSlotTimesExactlyOnePeriodApart() {
    FakeLoopClock clock = new FakeLoopClock(START, 3_000, 40_000, 0, 12_000);
    List<Long> slots = new ArrayList<>();
    ControlLoop loop = new ControlLoop("test", PERIOD, clock, List.of(slots::add));
    loop.runTicks(100);
    for (int i = 0; i < slots.size(); i++) {
      assertEquals(START + (i + 1) * PERIOD, slots.get(i), "slot " + i);
    }
    assertEquals(100, loop.statistics().snapshot().ticks());
  }

  @Test
  void periodErrorsAreMeasuredAgainstTheTarget() {
    // Wake-up latencies 10, 50, 10, 50 ... us: periods alternate 1.04 ms and 0.96 ms.
    FakeLoopClock clock = new FakeLoopClock(START, 10_000, 50_000);
    ControlLoop loop = new ControlLoop("test", PERIOD, clock, List.of(slot -> { }));
    loop.runTicks(1001);
    LoopStatistics.Snapshot stats = loop.statistics().snapshot();
    assertEquals(1000.0, stats.rateHz(), 1e-9);
    // HdrHistogram keeps three significant digits of the 1.04 ms period: within about 1 us.
    assertEquals(40_000, stats.periodErrorMaxNanos(), 1_100);
    assertEquals(40_000, stats.periodErrorP99Nanos(), 1_100);
    assertEquals(0, stats.missedDeadlines());
  }

  @Test
  void anOverrunCountsAsMissedAndSkipsSlotsInsteadOfBursting() {
    FakeLoopClock clock = new FakeLoopClock(START);
    List<Long> slots = new ArrayList<>();
    ControlLoop loop = new ControlLoop("test", PERIOD, clock, List.of(slot -> {
      slots.add(slot);
      if (slots.size() == 10) {
        clock.now += 2_500_000;
      } else {
        clock.now += 200_000;
      }
    }));
    loop.runTicks(20);
    LoopStatistics.Snapshot stats = loop.statistics().snapshot();
    assertEquals(1, stats.missedDeadlines());
    assertEquals(2_500_000, stats.computeMaxNanos(), 2_500);
    assertEquals(200_000, stats.computeP50Nanos(), 200);
    // Tick 10 started at slot 10 and ran until 12.7 periods: tick 11 takes slot 12, not 11.
    assertEquals(START + 10 * PERIOD, slots.get(9));
    assertEquals(START + 12 * PERIOD, slots.get(10));
    for (int i = 1; i < slots.size(); i++) {
      assertTrue(slots.get(i) - slots.get(i - 1) >= PERIOD, "never two ticks for one slot");
      assertEquals(0, (slots.get(i) - START) % PERIOD, "slots stay on the grid");
    }
  }

  @Test
  void aThrowingTickableIsContainedAndCounted() {
    FakeLoopClock clock = new FakeLoopClock(START);
    AtomicLong healthy = new AtomicLong();
    ControlLoop loop = new ControlLoop("test", PERIOD, clock, List.of(
        slot -> {
          throw new IllegalStateException("bug");
        },
        slot -> healthy.incrementAndGet()));
    loop.runTicks(5);
    assertEquals(5, healthy.get());
    assertEquals(5, loop.statistics().snapshot().failures());
  }

  @Test
  void runsOnADedicatedPlatformThreadUntilStopped() throws InterruptedException {
    AtomicLong ticks = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    ControlLoop loop = new ControlLoop("thread", PERIOD, new SystemLoopClock(50_000), List.of(slot -> {
      if (ticks.incrementAndGet() == 1) {
        threads.add(Thread.currentThread());
      }
    }));
    loop.start();
    for (int i = 0; i < 500 && ticks.get() < 20; i++) {
      Thread.sleep(10);
    }
    assertTrue(loop.isRunning());
    loop.stop(Duration.ofSeconds(5));
    assertFalse(loop.isRunning());
    assertTrue(ticks.get() >= 20);
    Thread thread = threads.get(0);
    assertFalse(thread.isVirtual());
    assertEquals("control-loop-thread", thread.getName());
    assertEquals(ticks.get(), loop.statistics().snapshot().ticks());
  }
}
