package io.vlaserve.sim;

import io.vlaserve.skills.BlockColor;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * An immutable snapshot of a {@link TabletopWorld}.
 *
 * <p>Everything needed to restore the world is here: the carried block's offset from the TCP is
 * its centre minus {@link #eePosition()}. Immutable and thread-safe.
 *
 * @param eePosition tool centre point, metres, world frame
 * @param eeOrientation gripper orientation; identity = pointing straight down
 * @param gripper gripper opening, 0 = closed .. 1 = open
 * @param heldIndex index into {@link #blocks()} of the carried block, or -1 when none
 * @param blocks the blocks, at most one of each colour
 * @param plateCenter centre of the plate's bottom face (on the table, so z = 0)
 * @param stepCount number of steps and pose commands applied since the last reset
 */
public record WorldState(
    Vec3 eePosition,
    Quaternion eeOrientation,
    double gripper,
    int heldIndex,
    List<BlockState> blocks,
    Vec3 plateCenter,
    long stepCount) {

  public WorldState {
    Objects.requireNonNull(eePosition, "eePosition");
    Objects.requireNonNull(eeOrientation, "eeOrientation");
    Objects.requireNonNull(plateCenter, "plateCenter");
    blocks = List.copyOf(blocks);
    if (!(gripper >= 0 && gripper <= 1)) {
      throw new IllegalArgumentException("gripper: " + gripper + " (expected 0..1)");
    }
    if (heldIndex < -1 || heldIndex >= blocks.size()) {
      throw new IllegalArgumentException(
          "heldIndex: " + heldIndex + " (expected -1.." + (blocks.size() - 1) + ")");
    }
    EnumSet<BlockColor> seen = EnumSet.noneOf(BlockColor.class);
    for (BlockState block : blocks) {
      if (!seen.add(block.color())) {
        throw new IllegalArgumentException("two " + block.color().word() + " blocks (expected distinct colours)");
      }
    }
  }

  /** Returns whether a block is carried. */
  public boolean isHolding() {
    return heldIndex >= 0;
  }

  /** Returns whether the block of {@code color} is carried. */
  public boolean isHolding(BlockColor color) {
    return heldIndex >= 0 && blocks.get(heldIndex).color() == color;
  }

  /** Returns the carried block, if any. */
  public Optional<BlockState> heldBlock() {
    return heldIndex >= 0 ? Optional.of(blocks.get(heldIndex)) : Optional.empty();
  }

  /** Returns the index of the block of {@code color}, or -1 if the world has none. */
  public int indexOf(BlockColor color) {
    for (int i = 0; i < blocks.size(); i++) {
      if (blocks.get(i).color() == color) {
        return i;
      }
    }
    return -1;
  }

  /** Returns the block of {@code color}, if the world has one. */
  public Optional<BlockState> block(BlockColor color) {
    int index = indexOf(color);
    return index >= 0 ? Optional.of(blocks.get(index)) : Optional.empty();
  }

  /**
   * Returns the highest surface under the footprint of block {@code index} and not above its
   * bottom, ignoring the block itself and the carried block: what it rests on, or would land on if
   * dropped now.
   */
  public Support supportUnder(int index) {
    int count = blocks.size();
    double[] bx = new double[count];
    double[] by = new double[count];
    double[] bz = new double[count];
    for (int i = 0; i < count; i++) {
      Vec3 c = blocks.get(i).center();
      bx[i] = c.x();
      by[i] = c.y();
      bz[i] = c.z();
    }
    // Only surfaces at or below the block's bottom can hold it up; 1 micrometre of slack.
    double maxTop = bz[index] - TabletopGeometry.BLOCK_HALF + 1e-6;
    int code = Supports.highest(bx[index], by[index], plateCenter.x(), plateCenter.y(),
        bx, by, bz, count, index, heldIndex, maxTop);
    double height = Supports.height(code, bz);
    if (code == Supports.TABLE) {
      return new Support(Support.Kind.TABLE, -1, height);
    }
    return code == Supports.PLATE
        ? new Support(Support.Kind.PLATE, -1, height)
        : new Support(Support.Kind.BLOCK, code, height);
  }

  /** Returns whether block {@code index} is not carried and sits exactly on its support. */
  public boolean isResting(int index) {
    return index != heldIndex
        && Math.abs(blocks.get(index).bottom() - supportUnder(index).height()) <= 1e-6;
  }

  /** Returns the proprioception vector laid out as {@link ActionSpace#PROPRIO_NAMES}. */
  public double[] proprio() {
    return new double[] {
      eePosition.x(), eePosition.y(), eePosition.z(),
      eeOrientation.x(), eeOrientation.y(), eeOrientation.z(), eeOrientation.w(),
      gripper
    };
  }

  /**
   * Returns a short English description of the scene, e.g. for a planner prompt: which blocks
   * there are, where, and what each rests on.
   */
  public String describe() {
    StringBuilder text = new StringBuilder();
    text.append(String.format(Locale.ROOT, "plate at (%.2f, %.2f).", plateCenter.x(), plateCenter.y()));
    for (int i = 0; i < blocks.size(); i++) {
      BlockState block = blocks.get(i);
      text.append(String.format(Locale.ROOT, " %s block at (%.2f, %.2f, %.2f)",
          block.color().word(), block.center().x(), block.center().y(), block.center().z()));
      if (i == heldIndex) {
        text.append(", held by the gripper.");
        continue;
      }
      Support support = supportUnder(i);
      text.append(switch (support.kind()) {
        case TABLE -> " on the table.";
        case PLATE -> " on the plate.";
        case BLOCK -> " on the " + blocks.get(support.blockIndex()).color().word() + " block.";
      });
    }
    text.append(gripper >= ActionSpace.GRIPPER_THRESHOLD ? " gripper open" : " gripper closed");
    text.append(isHolding()
        ? ", holding the " + blocks.get(heldIndex).color().word() + " block."
        : ", holding nothing.");
    return text.toString();
  }
}
