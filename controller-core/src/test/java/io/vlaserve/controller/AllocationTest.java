package io.vlaserve.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The control tick allocates nothing: measured with the JVM's per-thread allocation counter over
 * many ticks after warm-up, while chunks start, blend, end, are clamped, halted and resumed.
 *
 * <p>Run with {@code -Xint} (every {@code new} really executes) this measures exactly zero bytes.
 * With the JIT, the counter shows a few hundred bytes on one or two ticks out of tens of thousands,
 * at random ticks in any mode and also with escape analysis off: the JVM's own bookkeeping, not the
 * tick's. So the test allows a handful of such ticks; a real allocation per tick or per chunk
 * (hundreds of chunks start here) fails it.
 */
class AllocationTest {
  private static final long MS = 1_000_000;

  @ParameterizedTest
  @EnumSource(value = Blending.Mode.class)
  void aTickAllocatesNothing(Blending.Mode mode) {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
    Blending blending = switch (mode) {
      case NONE -> Blending.NONE;
      case EXPONENTIAL -> Blending.exponential(0.3);
      case LINEAR_CROSSFADE -> new Blending(mode, 0, 100 * MS);
    };
    ExecutionSettings settings = new ExecutionSettings(Interpolation.MINIMUM_JERK, blending);
    ManualClock clock = new ManualClock(1_000_000_000_000L);
    ScriptedDriver driver = ScriptedDriver.atCentre(clock.getAsLong());
    RobotController controller = new RobotController(ControllerConfig.of("sim-0"), TestLimits.tabletop(), driver, clock);
    SplittableRandom random = new SplittableRandom(42);
    // Chunks prepared up front: building them allocates, as it does on a gRPC thread in the service.
    List<List<double[]>> chunks = new ArrayList<>();
    for (int c = 0; c < 64; c++) {
      List<double[]> steps = new ArrayList<>();
      for (int s = 0; s < 10; s++) {
        // Some chunks are fast enough to be clamped, so the gate's slow paths run too.
        double scale = c % 4 == 3 ? 0.12 : 0.02;
        steps.add(new double[] {random.nextDouble(-scale, scale), random.nextDouble(-scale, scale),
            random.nextDouble(-0.01, 0.01), 0, 0, random.nextDouble(-0.1, 0.1), random.nextDouble()});
      }
      chunks.add(steps);
    }
    long allocated = 0;
    long measuredTicks = 0;
    int allocatingTicks = 0;
    for (int round = 0; round < 400; round++) {
      List<double[]> steps = chunks.get(round % chunks.size());
      ActionChunk chunk = ActionChunk.of(round + 1, clock.getAsLong() - 30 * MS, 100 * MS, steps, 128);
      controller.submit(chunk, settings);
      if (round % 50 == 49) {
        controller.requestHalt(false, "allocation test");
      }
      if (round % 50 == 0 && round > 0) {
        controller.resume(false);
      }
      for (int i = 0; i < 150; i++) {
        clock.advance(MS);
        long before = threads.getCurrentThreadAllocatedBytes();
        controller.tick(clock.getAsLong());
        long bytes = threads.getCurrentThreadAllocatedBytes() - before;
        // The first rounds warm up the JIT; measure the rest.
        if (round >= 200) {
          measuredTicks++;
          allocated += bytes;
          allocatingTicks += bytes > 0 ? 1 : 0;
        }
      }
      controller.events().drain(event -> { });
    }
    assertEquals(30_000, measuredTicks);
    // A per-chunk allocation would show on ~200 ticks; the JIT's bookkeeping shows on a handful, a few
    // KB each (with -Xint: 0 bytes, re-checked after the gate gained its angular and gripper filters).
    assertTrue(allocatingTicks <= 10 && allocated <= 32 * 1024,
        allocated + " bytes allocated on " + allocatingTicks + " of " + measuredTicks + " ticks");
  }
}
