package io.vlaserve.sim.render;

import static io.vlaserve.sim.TestScenes.moveTo;
import static io.vlaserve.sim.TestScenes.onTable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.sim.ActionSpace;
import io.vlaserve.skills.BlockColor;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.TestScenes;
import io.vlaserve.sim.Vec3;
import io.vlaserve.sim.WorldConfig;
import java.lang.management.ManagementFactory;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TabletopRendererTest {

  /** SHA-256 of the default 64x64 frame of seed 42; changes whenever the picture changes. */
  private static final String GOLDEN_SEED_42 =
      "d9606644c16c42a8e07e1d98af6a3c26c5c8ad5725f288e94d32d6324f0fa10b";

  private static final TabletopRenderer RENDERER_64 = new TabletopRenderer(CameraConfig.DEFAULT);

  @Nested
  class Determinism {

    @Test
    void sameStateGivesIdenticalBytes() {
      TabletopWorld world = new TabletopWorld(42, WorldConfig.DEFAULT);
      byte[] first = RENDERER_64.newFrame();
      byte[] second = RENDERER_64.newFrame();
      RENDERER_64.render(world, first);
      RENDERER_64.render(world, second);
      assertArrayEquals(first, second);

      byte[] fresh = new TabletopRenderer(CameraConfig.DEFAULT).newFrame();
      new TabletopRenderer(CameraConfig.DEFAULT).render(new TabletopWorld(42, WorldConfig.DEFAULT), fresh);
      assertArrayEquals(first, fresh);

      byte[] fromSnapshot = RENDERER_64.newFrame();
      RENDERER_64.render(world.snapshot(), fromSnapshot);
      assertArrayEquals(first, fromSnapshot);
    }

    @Test
    void goldenFrameHash() throws Exception {
      byte[] frame = RENDERER_64.newFrame();
      RENDERER_64.render(new TabletopWorld(42, WorldConfig.DEFAULT), frame);
      String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(frame));
      assertEquals(GOLDEN_SEED_42, hash);
    }

    @Test
    void renderingAllocatesNothing() {
      com.sun.management.ThreadMXBean threads =
          (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
      TabletopWorld world = new TabletopWorld(9, WorldConfig.withBlocks(4));
      TestScenes.graspBlock(world, 1);
      byte[] frame = RENDERER_64.newFrame();
      RENDERER_64.render(world, frame);
      long thread = Thread.currentThread().threadId();
      long before = threads.getThreadAllocatedBytes(thread);
      for (int i = 0; i < 1000; i++) {
        RENDERER_64.render(world, frame);
      }
      long allocated = threads.getThreadAllocatedBytes(thread) - before;
      // One object per frame would be at least 16 KB over 1000 frames; allow a few KB for
      // whatever the JIT or the measurement itself allocates on this thread.
      assertTrue(allocated < 4 * 1024, "allocated " + allocated + " bytes in 1000 frames");
    }
  }

  @Nested
  class Sizes {

    @ParameterizedTest
    @ValueSource(ints = {64, 96, 128, 224})
    void everySizeShowsTheRedBlockWhereItProjects(int size) {
      TabletopRenderer renderer = new TabletopRenderer(CameraConfig.of(size, size));
      TabletopWorld world = TestScenes.redBluePlate();
      byte[] frame = renderer.newFrame();
      renderer.render(world, frame);
      double[] pixel = new double[2];
      assertTrue(renderer.project(0.40, -0.15, 0.04, pixel));
      int offset = ((int) pixel[1] * size + (int) pixel[0]) * 3;
      assertTrue(isRed(frame, offset), "red at the projected top centre of the red block");
      assertTrue(count(frame, i -> isRed(frame, i)) > 3, "red pixels exist");
      assertTrue(count(frame, i -> isBlue(frame, i)) > 3, "blue pixels exist");
    }

    @Test
    void wrongBufferSizeIsRejected() {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> RENDERER_64.render(TestScenes.redBluePlate(), new byte[100]));
      assertEquals("frame of 100 bytes (expected 64*64*3 = 12288)", e.getMessage());
    }
  }

  @Nested
  class Content {

    @Test
    void blockMovingTowardsImageRightMovesItsPixelsRight() {
      // With the default camera facing the robot, image right is world +y.
      double[] left = centroid(TestScenes.world(new Vec3(0.5, 0, 0.3), 0.55, 0.15,
          onTable(BlockColor.RED, 0.45, -0.10)), TabletopRendererTest::isRed);
      double[] right = centroid(TestScenes.world(new Vec3(0.5, 0, 0.3), 0.55, 0.15,
          onTable(BlockColor.RED, 0.45, 0.0)), TabletopRendererTest::isRed);
      assertTrue(right[0] > left[0] + 5, "moved right: " + left[0] + " -> " + right[0]);
      assertEquals(left[1], right[1], 1.0, "same row");
    }

    @Test
    void blockMovingTowardsTheRobotMovesItsPixelsUp() {
      double[] near = centroid(TestScenes.world(new Vec3(0.5, 0, 0.3), 0.55, 0.15,
          onTable(BlockColor.GREEN, 0.60, -0.10)), TabletopRendererTest::isGreen);
      double[] far = centroid(TestScenes.world(new Vec3(0.5, 0, 0.3), 0.55, 0.15,
          onTable(BlockColor.GREEN, 0.40, -0.10)), TabletopRendererTest::isGreen);
      assertTrue(far[1] < near[1] - 5, "moved up: " + near[1] + " -> " + far[1]);
    }

    @Test
    void shadowStaysOnTheGroundWhileTheGripperRises() {
      double[] lowGripper = centroid(gripperAt(0.08), TabletopRendererTest::isGripper);
      double[] lowShadow = centroid(gripperAt(0.08), TabletopRendererTest::isTableShadow);
      double[] highGripper = centroid(gripperAt(0.22), TabletopRendererTest::isGripper);
      double[] highShadow = centroid(gripperAt(0.22), TabletopRendererTest::isTableShadow);
      double lowOffset = lowShadow[1] - lowGripper[1];
      double highOffset = highShadow[1] - highGripper[1];
      assertTrue(highOffset > lowOffset + 5,
          "shadow-to-gripper offset grows with height: " + lowOffset + " -> " + highOffset);
      assertEquals(lowShadow[1], highShadow[1], 1.5, "the shadow is directly below, on the table");
    }

    @Test
    void carriedBlockCastsAShadowThatSeparatesWithHeight() {
      TabletopWorld world = TestScenes.redBluePlate();
      TestScenes.graspBlock(world, 0);
      moveTo(world, 0.40, -0.15, 0.06, ActionSpace.GRIPPER_CLOSED);
      double lowGap = centroid(world, TabletopRendererTest::isTableShadow)[1] - centroid(world, TabletopRendererTest::isRed)[1];
      moveTo(world, 0.40, -0.15, 0.20, ActionSpace.GRIPPER_CLOSED);
      double highGap = centroid(world, TabletopRendererTest::isTableShadow)[1] - centroid(world, TabletopRendererTest::isRed)[1];
      assertTrue(highGap > lowGap + 5, "block-to-shadow offset grows: " + lowGap + " -> " + highGap);
    }

    @Test
    void fingerGapShowsTheGripperOpening() {
      assertTrue(fingerGap(ActionSpace.GRIPPER_OPEN) >= 6, "open gap " + fingerGap(ActionSpace.GRIPPER_OPEN));
      assertEquals(0, fingerGap(ActionSpace.GRIPPER_CLOSED), "closed fingers touch");
    }

    @Test
    void plateIsDistinctFromTheTable() {
      TabletopWorld world = TestScenes.redBluePlate();
      byte[] frame = render(world, RENDERER_128);
      double[] plate = new double[2];
      RENDERER_128.project(0.50, 0.0, 0.005, plate);
      double[] table = new double[2];
      RENDERER_128.project(0.50, 0.25, 0.0, table);
      int p = offset(plate, 128);
      int t = offset(table, 128);
      int difference = 0;
      for (int c = 0; c < 3; c++) {
        difference += Math.abs((frame[p + c] & 0xff) - (frame[t + c] & 0xff));
      }
      assertTrue(difference > 100, "plate vs table colour difference " + difference);
    }

    private int fingerGap(double opening) {
      TabletopWorld world = TestScenes.world(new Vec3(0.5, 0, 0.15), 0.35, 0.2,
          onTable(BlockColor.RED, 0.65, -0.2));
      moveTo(world, 0.5, 0, 0.15, opening);
      byte[] frame = render(world, RENDERER_128);
      double[] tip = new double[2];
      RENDERER_128.project(0.5, 0, 0.15 + 0.005, tip);
      int row = (int) tip[1];
      int first = -1;
      int last = -1;
      for (int u = 0; u < 128; u++) {
        if (isGripper(frame, (row * 128 + u) * 3)) {
          first = first < 0 ? u : first;
          last = u;
        }
      }
      assertTrue(first >= 0, "fingers visible in row " + row);
      int gap = 0;
      for (int u = first; u <= last; u++) {
        gap += isGripper(frame, (row * 128 + u) * 3) ? 0 : 1;
      }
      return gap;
    }

    private TabletopWorld gripperAt(double z) {
      TabletopWorld world = TestScenes.world(new Vec3(0.5, 0.1, z), 0.40, -0.15,
          onTable(BlockColor.BLUE, 0.65, -0.2));
      moveTo(world, 0.5, 0.1, z, ActionSpace.GRIPPER_OPEN);
      return world;
    }
  }

  private static final TabletopRenderer RENDERER_128 = new TabletopRenderer(CameraConfig.of(128, 128));

  interface PixelTest {
    boolean test(byte[] frame, int offset);
  }

  private static byte[] render(TabletopWorld world, TabletopRenderer renderer) {
    byte[] frame = renderer.newFrame();
    renderer.render(world, frame);
    return frame;
  }

  private static int offset(double[] pixel, int size) {
    return ((int) pixel[1] * size + (int) pixel[0]) * 3;
  }

  /** Centroid {u, v} of the matching pixels in the 128x128 frame; fails if there are none. */
  private static double[] centroid(TabletopWorld world, PixelTest test) {
    byte[] frame = render(world, RENDERER_128);
    double sumU = 0;
    double sumV = 0;
    int n = 0;
    for (int v = 0; v < 128; v++) {
      for (int u = 0; u < 128; u++) {
        if (test.test(frame, (v * 128 + u) * 3)) {
          sumU += u;
          sumV += v;
          n++;
        }
      }
    }
    assertTrue(n > 0, "no matching pixels");
    return new double[] {sumU / n, sumV / n};
  }

  private static int count(byte[] frame, IntPredicate atOffset) {
    int n = 0;
    for (int i = 0; i < frame.length; i += 3) {
      n += atOffset.test(i) ? 1 : 0;
    }
    return n;
  }

  static boolean isRed(byte[] f, int i) {
    int r = f[i] & 0xff;
    return r > 100 && r > 3 * (f[i + 1] & 0xff) && r > 3 * (f[i + 2] & 0xff);
  }

  static boolean isGreen(byte[] f, int i) {
    int g = f[i + 1] & 0xff;
    return g > 80 && g > 2 * (f[i] & 0xff) && g > 2 * (f[i + 2] & 0xff);
  }

  static boolean isBlue(byte[] f, int i) {
    int b = f[i + 2] & 0xff;
    return b > 100 && b > 2 * (f[i] & 0xff) && b > 2 * (f[i + 1] & 0xff);
  }

  /** Near-black neutral grey: the gripper, never a shadow (shadows keep the table's hue). */
  static boolean isGripper(byte[] f, int i) {
    int r = f[i] & 0xff;
    int g = f[i + 1] & 0xff;
    int b = f[i + 2] & 0xff;
    int max = Math.max(r, Math.max(g, b));
    int min = Math.min(r, Math.min(g, b));
    return max < 100 && max - min <= 12;
  }

  /** The table in shadow: the table's brown, about half as bright. */
  static boolean isTableShadow(byte[] f, int i) {
    int r = f[i] & 0xff;
    int g = f[i + 1] & 0xff;
    int b = f[i + 2] & 0xff;
    return r >= 85 && r <= 105 && r - b >= 20 && g > b && r > g;
  }

  @Test
  void projectRejectsPointsBehindTheCamera() {
    assertFalse(RENDERER_64.project(2.0, 0, 0.72, new double[2]));
  }
}
