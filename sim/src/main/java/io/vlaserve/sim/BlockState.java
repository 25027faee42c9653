package io.vlaserve.sim;

import io.vlaserve.skills.BlockColor;
import java.util.Objects;

/**
 * One cube block: its colour and the position of its centre. Blocks are always axis-aligned.
 *
 * <p>Immutable and thread-safe.
 *
 * @param color the block's colour, unique within a world
 * @param center the block's centre, metres, world frame
 */
public record BlockState(BlockColor color, Vec3 center) {

  public BlockState {
    Objects.requireNonNull(color, "color");
    Objects.requireNonNull(center, "center");
  }

  /** Returns the height of the block's bottom face, metres. */
  public double bottom() {
    return center.z() - TabletopGeometry.BLOCK_HALF;
  }

  /** Returns the height of the block's top face, metres. */
  public double top() {
    return center.z() + TabletopGeometry.BLOCK_HALF;
  }
}
