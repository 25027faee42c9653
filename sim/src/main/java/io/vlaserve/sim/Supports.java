package io.vlaserve.sim;

import static io.vlaserve.sim.TabletopGeometry.BLOCK_HALF;
import static io.vlaserve.sim.TabletopGeometry.PLATE_THICKNESS;

/**
 * Finds the highest surface under a block footprint; shared by the world and its snapshots so the
 * two can never disagree. Stateless and thread-safe.
 */
final class Supports {

  /** Code returned for the table. */
  static final int TABLE = -1;

  /** Code returned for the plate. */
  static final int PLATE = -2;

  private Supports() {}

  /**
   * Returns the support under a footprint centred at (x, y): {@link #TABLE}, {@link #PLATE} or the
   * index of the block whose top is highest among those overlapping it. Blocks {@code skipA} and
   * {@code skipB} (the block itself and the held one; -1 for none) are ignored, and so are blocks
   * whose top is above {@code maxTop} (a resting block is not supported by one stacked on it).
   * Ties go to the lowest index, so the answer is deterministic.
   */
  static int highest(
      double x, double y, double plateX, double plateY,
      double[] bx, double[] by, double[] bz, int count, int skipA, int skipB, double maxTop) {
    int best = TABLE;
    double bestHeight = 0;
    if (TabletopGeometry.footprintOverPlate(x, y, plateX, plateY)) {
      best = PLATE;
      bestHeight = PLATE_THICKNESS;
    }
    for (int i = 0; i < count; i++) {
      if (i == skipA || i == skipB || !TabletopGeometry.footprintsOverlap(x, y, bx[i], by[i])) {
        continue;
      }
      double top = bz[i] + BLOCK_HALF;
      if (top > bestHeight + TabletopGeometry.EPSILON && top <= maxTop) {
        best = i;
        bestHeight = top;
      }
    }
    return best;
  }

  /** Returns the height of the surface {@code code} as returned by {@link #highest}. */
  static double height(int code, double[] bz) {
    if (code == TABLE) {
      return 0;
    }
    return code == PLATE ? PLATE_THICKNESS : bz[code] + BLOCK_HALF;
  }
}
