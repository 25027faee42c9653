package io.vlaserve.sim.task;

import io.vlaserve.skills.Subgoal;
import io.vlaserve.skills.Task;
import static io.vlaserve.sim.TabletopGeometry.BLOCK_HALF;
import static io.vlaserve.sim.TabletopGeometry.PLATE_RADIUS;
import static io.vlaserve.sim.TabletopGeometry.PLATE_THICKNESS;

import io.vlaserve.sim.ActionSpace;
import io.vlaserve.sim.BlockState;
import io.vlaserve.sim.Quaternion;
import io.vlaserve.sim.Support;
import io.vlaserve.sim.Vec3;
import io.vlaserve.sim.WorldState;

/**
 * Decides from world state whether a subgoal or a task has been achieved.
 *
 * <p>Subgoal predicates (distances in metres, angles in radians; "horizontal" means in the x-y
 * plane; the gripper counts as open at {@link ActionSpace#GRIPPER_THRESHOLD} or more):
 * <ul>
 *   <li><b>move to the C block</b>: nothing held, gripper open, TCP within
 *       {@link #MOVE_TO_HORIZONTAL_TOLERANCE} of the block centre horizontally and within
 *       {@link #MOVE_TO_HEIGHT_TOLERANCE} of {@link #HOVER_HEIGHT} above its top, and the
 *       orientation within {@link #MAX_ORIENTATION_ERROR} of pointing straight down (yaw 0).
 *   <li><b>grasp the C block</b>: the C block is held with its bottom at least
 *       {@link #GRASP_CLEARANCE} above the surface under it.
 *   <li><b>lift the block</b>: a block is held and the TCP is at least {@link #LIFTED_HEIGHT} high.
 *   <li><b>move above the plate</b>: a block is held, its centre within
 *       {@link #ABOVE_PLATE_TOLERANCE} of the plate centre horizontally and its bottom at least
 *       {@link #ABOVE_CLEARANCE} above the plate top.
 *   <li><b>move above the C block</b>: another block is held, its centre within
 *       {@link #ABOVE_BLOCK_TOLERANCE} of the C block's centre horizontally and its bottom at least
 *       {@link #ABOVE_CLEARANCE} above the C block's top.
 *   <li><b>release the block</b>: the block held when the subgoal started is no longer held, the
 *       gripper is open, and the block rests (within {@link #REST_TOLERANCE}) on the same surface
 *       that was under it when the subgoal started (plate, block or table). If nothing was held at
 *       the start: nothing is held and the gripper is open.
 * </ul>
 *
 * <p>Task predicates, which only look at the final state:
 * <ul>
 *   <li><b>put the C block on the plate</b>: the C block is not held and rests on the plate, its
 *       centre horizontally inside the plate's radius.
 *   <li><b>pick up the C block</b>: the C block is held and the TCP is at least
 *       {@link #LIFTED_HEIGHT} high.
 *   <li><b>stack the C block on the D block</b>: the C block is not held and rests on the D block
 *       with its centre over D's top face (offset at most half an edge on each axis).
 * </ul>
 *
 * <p>Stateless and thread-safe.
 */
public final class SuccessPredicates {

  /** Height of the TCP above a block's top when hovering over it, metres. */
  public static final double HOVER_HEIGHT = 0.06;
  /** Horizontal TCP-to-block tolerance for "move to", metres. */
  public static final double MOVE_TO_HORIZONTAL_TOLERANCE = 0.012;
  /** Vertical tolerance around the hover height for "move to", metres. */
  public static final double MOVE_TO_HEIGHT_TOLERANCE = 0.02;
  /** Largest rotation from the pointing-down, yaw-0 orientation for "move to", radians. */
  public static final double MAX_ORIENTATION_ERROR = 0.2;
  /** Gap under a just-grasped block that counts as lifted slightly, metres. */
  public static final double GRASP_CLEARANCE = 0.01;
  /** TCP height a block is carried at, metres. */
  public static final double CARRY_HEIGHT = 0.20;
  /** TCP height that counts as lifted, metres. */
  public static final double LIFTED_HEIGHT = 0.18;
  /** Horizontal tolerance between the carried block's centre and the plate's, metres. */
  public static final double ABOVE_PLATE_TOLERANCE = 0.03;
  /** Horizontal tolerance between the carried block's centre and the target block's, metres. */
  public static final double ABOVE_BLOCK_TOLERANCE = 0.012;
  /** Clearance under the carried block when above the plate or a block, metres. */
  public static final double ABOVE_CLEARANCE = 0.02;
  /** How close to its support a block's bottom must be to count as resting, metres. */
  public static final double REST_TOLERANCE = 1e-6;

  private SuccessPredicates() {}

  /**
   * Returns whether {@code subgoal} is achieved in {@code now}, having started in {@code start}.
   * Only "release the block" looks at {@code start}; an absent block colour is never achieved.
   */
  public static boolean isSatisfied(Subgoal subgoal, WorldState start, WorldState now) {
    return switch (subgoal.skill()) {
      case MOVE_TO -> movedTo(subgoal, now);
      case GRASP -> grasped(subgoal, now);
      case LIFT -> now.isHolding() && now.eePosition().z() >= LIFTED_HEIGHT;
      case MOVE_ABOVE_PLATE -> abovePlate(now);
      case MOVE_ABOVE -> aboveBlock(subgoal, now);
      case RELEASE -> released(start, now);
    };
  }

  /** Returns whether {@code task} is achieved in {@code state}. */
  public static boolean isSatisfied(Task task, WorldState state) {
    int index = state.indexOf(task.block());
    if (index < 0 || (task.target() != null && state.indexOf(task.target()) < 0)) {
      return false;
    }
    return switch (task.kind()) {
      case PICK_UP -> state.isHolding(task.block()) && state.eePosition().z() >= LIFTED_HEIGHT;
      case PUT_ON_PLATE -> {
        BlockState block = state.blocks().get(index);
        yield state.isResting(index)
            && state.supportUnder(index).kind() == Support.Kind.PLATE
            && block.center().horizontalDistanceTo(state.plateCenter()) <= PLATE_RADIUS;
      }
      case STACK -> {
        int target = state.indexOf(task.target());
        Vec3 top = state.blocks().get(index).center();
        Vec3 bottom = state.blocks().get(target).center();
        Support support = state.supportUnder(index);
        yield state.isResting(index)
            && support.kind() == Support.Kind.BLOCK
            && support.blockIndex() == target
            && Math.abs(top.x() - bottom.x()) <= BLOCK_HALF
            && Math.abs(top.y() - bottom.y()) <= BLOCK_HALF;
      }
    };
  }

  private static boolean movedTo(Subgoal subgoal, WorldState now) {
    int index = now.indexOf(subgoal.color());
    if (index < 0 || now.isHolding() || now.gripper() < ActionSpace.GRIPPER_THRESHOLD) {
      return false;
    }
    BlockState block = now.blocks().get(index);
    Vec3 tcp = now.eePosition();
    return tcp.horizontalDistanceTo(block.center()) <= MOVE_TO_HORIZONTAL_TOLERANCE
        && Math.abs(tcp.z() - (block.top() + HOVER_HEIGHT)) <= MOVE_TO_HEIGHT_TOLERANCE
        && now.eeOrientation().angleTo(Quaternion.IDENTITY) <= MAX_ORIENTATION_ERROR;
  }

  private static boolean grasped(Subgoal subgoal, WorldState now) {
    if (!now.isHolding(subgoal.color())) {
      return false;
    }
    int index = now.heldIndex();
    return now.blocks().get(index).bottom() >= now.supportUnder(index).height() + GRASP_CLEARANCE;
  }

  private static boolean abovePlate(WorldState now) {
    return now.heldBlock()
        .map(block -> block.center().horizontalDistanceTo(now.plateCenter()) <= ABOVE_PLATE_TOLERANCE
            && block.bottom() >= PLATE_THICKNESS + ABOVE_CLEARANCE)
        .orElse(false);
  }

  private static boolean aboveBlock(Subgoal subgoal, WorldState now) {
    int target = now.indexOf(subgoal.color());
    if (target < 0 || !now.isHolding() || now.heldIndex() == target) {
      return false;
    }
    BlockState held = now.blocks().get(now.heldIndex());
    BlockState below = now.blocks().get(target);
    return held.center().horizontalDistanceTo(below.center()) <= ABOVE_BLOCK_TOLERANCE
        && held.bottom() >= below.top() + ABOVE_CLEARANCE;
  }

  private static boolean released(WorldState start, WorldState now) {
    boolean openAndEmpty = !now.isHolding() && now.gripper() >= ActionSpace.GRIPPER_THRESHOLD;
    if (!start.isHolding()) {
      return openAndEmpty;
    }
    int index = start.heldIndex();
    if (!openAndEmpty
        || index >= now.blocks().size()
        || now.blocks().get(index).color() != start.blocks().get(index).color()
        || !now.isResting(index)) {
      return false;
    }
    Support aimed = start.supportUnder(index);
    Support landed = now.supportUnder(index);
    return aimed.kind() == landed.kind() && aimed.blockIndex() == landed.blockIndex();
  }
}
