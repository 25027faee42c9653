package io.vlaserve.sim;

import io.vlaserve.skills.BlockColor;

/**
 * How a {@link TabletopWorld} is set up at each reset.
 *
 * <p>Immutable and thread-safe.
 *
 * @param blockCount number of blocks, 1 to 4; their colours are a seeded random subset of
 *     {@link BlockColor}
 * @param randomStartPose whether the end effector starts at a seeded random pose in the upper
 *     workspace (otherwise at the centre of that region, pointing straight down)
 */
public record WorldConfig(int blockCount, boolean randomStartPose) {

  /** Three blocks, random start pose. */
  public static final WorldConfig DEFAULT = new WorldConfig(3, true);

  public WorldConfig {
    if (blockCount < 1 || blockCount > BlockColor.values().length) {
      throw new IllegalArgumentException(
          "blockCount: " + blockCount + " (expected 1.." + BlockColor.values().length + ")");
    }
  }

  /** Returns a config with {@code blockCount} blocks and a random start pose. */
  public static WorldConfig withBlocks(int blockCount) {
    return new WorldConfig(blockCount, true);
  }
}
