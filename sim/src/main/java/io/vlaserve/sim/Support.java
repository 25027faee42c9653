package io.vlaserve.sim;

/**
 * What a block rests on, or would land on if released: the highest surface under its footprint.
 *
 * <p>Immutable and thread-safe.
 *
 * @param kind table, plate or another block
 * @param blockIndex index of the supporting block in {@link WorldState#blocks()}, or -1 unless
 *     {@code kind} is {@link Kind#BLOCK}
 * @param height height of the supporting surface, metres
 */
public record Support(Kind kind, int blockIndex, double height) {

  /** The kind of supporting surface. */
  public enum Kind {
    TABLE,
    PLATE,
    BLOCK
  }

  public Support {
    if ((kind == Kind.BLOCK) != (blockIndex >= 0)) {
      throw new IllegalArgumentException(
          "blockIndex " + blockIndex + " with kind " + kind + " (expected >= 0 exactly for BLOCK)");
    }
  }
}
