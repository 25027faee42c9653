package io.vlaserve.controller.trajectory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.ActionChunk;
import io.vlaserve.controller.CartesianPose;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TrajectoryBlenderTest {
  private static final long T = 100_000_000;
  private static final long MS = 1_000_000;
  private static final long START = 10_000_000_000L;

  private static ActionChunk constant(long id, long observation, int steps, double dx, double dy) {
    List<double[]> values = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      values.add(new double[] {dx, dy, 0, 0, 0, 0, 1});
    }
    return ActionChunk.of(id, observation, T, values, 64);
  }

  private static CartesianPose pose(double x, double y) {
    return new CartesianPose().set(x, y, 0.2, 0, 0, 0, 1, 1);
  }

  private static CartesianPose at(TrajectoryBlender blender, long t) {
    CartesianPose out = new CartesianPose();
    blender.evaluate(t, out);
    return out;
  }

  @Test
  void withoutBlendingTheNewChunkTakesOverAtOnce() {
    TrajectoryBlender blender = new TrajectoryBlender(64, 8);
    blender.reset(pose(0.5, 0), START);
    blender.activate(constant(1, START, 10, 0.01, 0), 0, Interpolation.LINEAR, Blending.NONE, pose(0.5, 0), START);
    blender.activate(constant(2, START + 3 * T, 10, 0, 0.01), 0, Interpolation.LINEAR, Blending.NONE,
        pose(0.53, 0), START + 3 * T);
    assertEquals(1, blender.activeLayers());
    CartesianPose later = at(blender, START + 5 * T);
    assertEquals(0.53, later.position[0], 1e-12);
    assertEquals(0.02, later.position[1], 1e-12);
  }

  @Test
  void crossfadeMovesFromOldToNewOverTheBlendTime() {
    TrajectoryBlender blender = new TrajectoryBlender(64, 8);
    blender.reset(pose(0.5, 0), START);
    Blending fade = Blending.crossfade(Duration.ofMillis(200));
    blender.activate(constant(1, START, 20, 0.01, 0), 0, Interpolation.LINEAR, Blending.NONE, pose(0.5, 0), START);
    long seam = START + 5 * T;
    blender.activate(constant(2, seam, 20, 0, 0.01), 0, Interpolation.LINEAR, fade, at(blender, seam), seam);
    // Old alone would be at x = 0.5 + 0.1 t, y = 0; new: x = 0.55, y = 0.1 (t - seam).
    CartesianPose start = at(blender, seam);
    assertEquals(0.55, start.position[0], 1e-12);
    CartesianPose middle = at(blender, seam + 100 * MS);
    assertEquals((0.56 + 0.55) / 2, middle.position[0], 1e-12, "half way: equal weights");
    assertEquals((0 + 0.01) / 2, middle.position[1], 1e-12);
    CartesianPose done = at(blender, seam + 200 * MS);
    assertEquals(0.55, done.position[0], 1e-12);
    assertEquals(0.02, done.position[1], 1e-12);
    at(blender, seam + 201 * MS);
    assertEquals(1, blender.activeLayers(), "the old layer is freed once faded out");
  }

  @Test
  void exponentialWeightsOlderPredictionsByTheirAgeInSteps() {
    double decay = 0.5;
    TrajectoryBlender blender = new TrajectoryBlender(64, 8);
    blender.reset(pose(0.5, 0), START);
    Blending ensemble = Blending.exponential(decay);
    blender.activate(constant(1, START, 20, 0.01, 0), 0, Interpolation.LINEAR, ensemble, pose(0.5, 0), START);
    long seam = START + 2 * T;
    // Observation two steps newer: the old chunk's weight is exp(-2 decay) relative to the new one.
    blender.activate(constant(2, seam, 20, 0, 0.01), 0, Interpolation.LINEAR, ensemble, at(blender, seam), seam);
    long t = seam + 3 * T;
    CartesianPose blended = at(blender, t);
    double oldX = 0.5 + 0.01 * 5;
    double newX = at(blender, seam).position[0];
    double oldY = 0;
    double newY = 0.03;
    double w = Math.exp(-2 * decay);
    assertEquals((w * oldX + newX) / (w + 1), blended.position[0], 1e-9);
    assertEquals((w * oldY + newY) / (w + 1), blended.position[1], 1e-9);
  }

  @ParameterizedTest
  @ValueSource(strings = {"EXPONENTIAL", "LINEAR_CROSSFADE"})
  void blendedSeamsAreContinuousInPositionAndVelocity(String mode) {
    Blending blending = mode.equals("EXPONENTIAL") ? Blending.exponential(0.3) : Blending.crossfade(Duration.ofMillis(150));
    TrajectoryBlender blender = new TrajectoryBlender(64, 8);
    blender.reset(pose(0.5, 0), START);
    blender.activate(constant(1, START, 10, 0.02, 0), 0, Interpolation.MINIMUM_JERK, blending, pose(0.5, 0), START);
    long seam = START + 4 * T + 37 * MS;
    CartesianPose before = at(blender, seam - MS);
    CartesianPose atSeam = at(blender, seam);
    // A chunk moving the other way: a hard seam without blending.
    blender.activate(constant(2, seam, 10, -0.02, 0.02), 0, Interpolation.MINIMUM_JERK, blending, atSeam, seam);
    CartesianPose after = at(blender, seam + MS);
    CartesianPose seamAgain = at(blender, seam);
    assertEquals(atSeam.position[0], seamAgain.position[0], 1e-12, "position continuous");
    double vBefore = (atSeam.position[0] - before.position[0]) / 1e-3;
    double vAfter = (after.position[0] - atSeam.position[0]) / 1e-3;
    // Over 1 ms a continuous velocity changes by acceleration * 1 ms (a few mm/s here).
    assertEquals(vBefore, vAfter, 0.01, "velocity continuous across the seam");
    assertTrue(Math.abs(vBefore - 0.2) < 0.05, "moving at the old chunk's 0.2 m/s: " + vBefore);
  }

  @Test
  void beyondCapacityTheOldestFadesOutInsteadOfJumping() {
    TrajectoryBlender blender = new TrajectoryBlender(64, 3);
    blender.reset(pose(0.5, 0), START);
    Blending ensemble = Blending.exponential(0);
    CartesianPose previous = at(blender, START);
    long t = START;
    for (int i = 0; i < 12; i++) {
      long seam = START + i * 30 * MS;
      while (t < seam) {
        t += MS;
        CartesianPose now = at(blender, t);
        assertTrue(Math.abs(now.position[0] - previous.position[0]) < 1e-3, "no jump at " + (t - START) / MS + " ms");
        previous = now;
      }
      assertTrue(blender.activate(constant(i + 1, seam, 20, 0.01 * (i % 2 == 0 ? 1 : -1), 0), 0,
          Interpolation.LINEAR, ensemble, at(blender, seam), seam) || blender.activeLayers() == 4);
      assertTrue(blender.activeLayers() <= 4);
    }
  }
}
