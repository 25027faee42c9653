package io.vlaserve.sim.expert;

import static io.vlaserve.sim.ActionSpace.GRIPPER_CLOSED;
import static io.vlaserve.sim.ActionSpace.GRIPPER_OPEN;
import static io.vlaserve.sim.ActionSpace.GRIPPER_THRESHOLD;
import static io.vlaserve.sim.ActionSpace.MAX_ROTATION_PER_STEP;
import static io.vlaserve.sim.ActionSpace.MAX_TRANSLATION_PER_STEP;

import io.vlaserve.sim.ActionSpace;
import io.vlaserve.sim.BlockState;
import io.vlaserve.sim.Quaternion;
import io.vlaserve.sim.QuaternionMath;
import io.vlaserve.sim.Support;
import io.vlaserve.sim.Vec3;
import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.sim.task.SuccessPredicates;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A scripted demonstrator: the next action for a subgoal, by proportional control towards a
 * skill-specific target.
 *
 * <p>Each step the expert picks a target TCP position and a gripper command from the state alone
 * (it keeps no memory of earlier steps, so it also recovers from states a learned policy leads
 * into), commands {@code gain} times the error, scales the translation down uniformly so no axis
 * exceeds {@link ActionSpace#MAX_TRANSLATION_PER_STEP} (straight-line paths), steers the gripper
 * back to pointing straight down with yaw 0, adds the configured Gaussian noise and clamps to the
 * per-step bounds. Targets per skill:
 * <ul>
 *   <li>move to: {@link SuccessPredicates#HOVER_HEIGHT} above the block's top, gripper open;
 *   <li>grasp: over the block, then down to its centre, closing on the step that arrives; once
 *       held, up until {@link #GRASP_LIFT} of clearance;
 *   <li>lift: straight up to {@link SuccessPredicates#CARRY_HEIGHT};
 *   <li>move above the plate / a block: the carried block's centre over the target's centre at
 *       carrying height;
 *   <li>release: down until the carried block is {@link #RELEASE_DROP} above the surface beneath
 *       (re-centring over a block beneath), then open.
 * </ul>
 *
 * <p>Not thread-safe: it owns a random generator. Use one expert per thread.
 */
public final class ScriptedExpert {

  /** Clearance under a just-grasped block that the expert lifts to, metres. */
  public static final double GRASP_LIFT = 0.03;
  /** Height the expert lowers a carried block to above its support before opening, metres. */
  public static final double RELEASE_DROP = 0.01;
  /** Horizontal misalignment above which the expert aligns before descending to grasp, metres. */
  public static final double DESCEND_ALIGNMENT = 0.01;
  /** Predicted distance to the grasp point within which the expert closes, metres. */
  public static final double CLOSE_TOLERANCE = 0.006;

  private static final double APPROACH_ABOVE_CENTER = 0.04;

  private final ExpertConfig config;
  private final Gaussian noise;
  private final double[] rpy = new double[3];

  /**
   * Creates an expert.
   *
   * @param config gain and noise
   * @param random source of the action noise; the expert takes it over
   */
  public ScriptedExpert(ExpertConfig config, SplittableRandom random) {
    this.config = Objects.requireNonNull(config, "config");
    this.noise = new Gaussian(Objects.requireNonNull(random, "random"));
  }

  /** Returns the gain and noise settings. */
  public ExpertConfig config() {
    return config;
  }

  /** Returns the next action for {@code subgoal} in {@code state} as a new array. */
  public double[] act(WorldState state, Subgoal subgoal) {
    double[] action = new double[ActionSpace.DIMENSIONS];
    act(state, subgoal, action);
    return action;
  }

  /**
   * Writes the next action for {@code subgoal} in {@code state} into {@code action[0..6]}. If the
   * subgoal names a block the scene lacks, the expert holds still.
   */
  public void act(WorldState state, Subgoal subgoal, double[] action) {
    if (action.length != ActionSpace.DIMENSIONS) {
      throw new IllegalArgumentException(
          "action length " + action.length + " (expected " + ActionSpace.DIMENSIONS + ")");
    }
    Vec3 tcp = state.eePosition();
    boolean open = state.gripper() >= GRIPPER_THRESHOLD;
    double targetX = tcp.x();
    double targetY = tcp.y();
    double targetZ = tcp.z();
    double gripper = open ? GRIPPER_OPEN : GRIPPER_CLOSED;
    BlockState held = state.heldBlock().orElse(null);
    BlockState named = subgoal.color() == null ? null : state.block(subgoal.color()).orElse(null);
    boolean closeOnArrival = false;
    double openWhenBottomAtOrBelow = Double.NEGATIVE_INFINITY;

    switch (subgoal.skill()) {
      case MOVE_TO -> {
        if (named != null) {
          targetX = named.center().x();
          targetY = named.center().y();
          targetZ = named.top() + SuccessPredicates.HOVER_HEIGHT;
        }
        gripper = GRIPPER_OPEN;
      }
      case GRASP -> {
        if (named == null) {
          break;
        }
        if (held != null && held.color() == named.color()) {
          int index = state.heldIndex();
          targetZ = tcp.z() + state.supportUnder(index).height() + GRASP_LIFT - held.bottom();
          gripper = GRIPPER_CLOSED;
        } else if (held != null || !open) {
          // Holding the wrong block, or closed on nothing: let go and back off upwards.
          targetZ = tcp.z() + 0.03;
          gripper = GRIPPER_OPEN;
        } else {
          Vec3 center = named.center();
          targetX = center.x();
          targetY = center.y();
          boolean aligned = tcp.horizontalDistanceTo(center) <= DESCEND_ALIGNMENT;
          targetZ = aligned ? center.z() : center.z() + APPROACH_ABOVE_CENTER;
          closeOnArrival = aligned;
          gripper = GRIPPER_OPEN;
        }
      }
      case LIFT -> targetZ = SuccessPredicates.CARRY_HEIGHT;
      case MOVE_ABOVE_PLATE -> {
        Vec3 plate = state.plateCenter();
        targetX = plate.x() - offsetX(held, tcp);
        targetY = plate.y() - offsetY(held, tcp);
        targetZ = SuccessPredicates.CARRY_HEIGHT;
      }
      case MOVE_ABOVE -> {
        if (named != null) {
          targetX = named.center().x() - offsetX(held, tcp);
          targetY = named.center().y() - offsetY(held, tcp);
          double tcpAboveBottom = held == null ? 0 : tcp.z() - held.bottom();
          targetZ = Math.max(SuccessPredicates.CARRY_HEIGHT,
              named.top() + 2 * SuccessPredicates.ABOVE_CLEARANCE + tcpAboveBottom);
        }
      }
      case RELEASE -> {
        if (held != null) {
          Support support = state.supportUnder(state.heldIndex());
          boolean centred = true;
          if (support.kind() == Support.Kind.BLOCK) {
            // Keep the stack centred while lowering: noise must not slide it off the edge.
            Vec3 below = state.blocks().get(support.blockIndex()).center();
            targetX = below.x() - offsetX(held, tcp);
            targetY = below.y() - offsetY(held, tcp);
            centred = Math.hypot(below.x() - held.center().x(), below.y() - held.center().y())
                <= SuccessPredicates.ABOVE_BLOCK_TOLERANCE;
          }
          targetZ = tcp.z() + support.height() + RELEASE_DROP - held.bottom();
          gripper = GRIPPER_CLOSED;
          if (centred) {
            openWhenBottomAtOrBelow = support.height() + RELEASE_DROP + 0.005;
          }
        } else {
          targetZ = tcp.z() + 0.03;
          gripper = GRIPPER_OPEN;
        }
      }
    }

    translate(tcp, targetX, targetY, targetZ, action);
    if (closeOnArrival && named != null) {
      double endX = tcp.x() + action[ActionSpace.DX];
      double endY = tcp.y() + action[ActionSpace.DY];
      double endZ = tcp.z() + action[ActionSpace.DZ];
      Vec3 center = named.center();
      if (Math.abs(endZ - center.z()) <= CLOSE_TOLERANCE
          && Math.hypot(endX - center.x(), endY - center.y()) <= CLOSE_TOLERANCE) {
        gripper = GRIPPER_CLOSED;
      }
    }
    // Open on the step whose end puts the carried block just above where it will land.
    if (held != null && held.bottom() + action[ActionSpace.DZ] <= openWhenBottomAtOrBelow) {
      gripper = GRIPPER_OPEN;
    }
    rotateTowardsDown(state.eeOrientation(), action);
    addNoise(action);
    action[ActionSpace.GRIPPER] = gripper;
  }

  private static double offsetX(BlockState held, Vec3 tcp) {
    return held == null ? 0 : held.center().x() - tcp.x();
  }

  private static double offsetY(BlockState held, Vec3 tcp) {
    return held == null ? 0 : held.center().y() - tcp.y();
  }

  /** Writes the proportional translation, scaled down uniformly to the per-step bound. */
  private void translate(Vec3 tcp, double targetX, double targetY, double targetZ, double[] action) {
    double dx = config.gain() * (targetX - tcp.x());
    double dy = config.gain() * (targetY - tcp.y());
    double dz = config.gain() * (targetZ - tcp.z());
    double largest = Math.max(Math.abs(dx), Math.max(Math.abs(dy), Math.abs(dz)));
    if (largest > MAX_TRANSLATION_PER_STEP) {
      double scale = MAX_TRANSLATION_PER_STEP / largest;
      dx *= scale;
      dy *= scale;
      dz *= scale;
    }
    action[ActionSpace.DX] = dx;
    action[ActionSpace.DY] = dy;
    action[ActionSpace.DZ] = dz;
  }

  private void rotateTowardsDown(Quaternion orientation, double[] action) {
    // The error rotation is target * current^-1 = current^-1 for the identity target; its
    // extrinsic roll, pitch, yaw applied on the left land exactly on the target.
    QuaternionMath.toRollPitchYaw(
        -orientation.x(), -orientation.y(), -orientation.z(), orientation.w(), rpy);
    for (int axis = 0; axis < 3; axis++) {
      action[ActionSpace.DROLL + axis] = clamp(config.gain() * rpy[axis], MAX_ROTATION_PER_STEP);
    }
  }

  private void addNoise(double[] action) {
    for (int i = ActionSpace.DX; i <= ActionSpace.DZ; i++) {
      if (config.translationNoise() > 0) {
        action[i] = clamp(action[i] + config.translationNoise() * noise.next(), MAX_TRANSLATION_PER_STEP);
      }
    }
    for (int i = ActionSpace.DROLL; i <= ActionSpace.DYAW; i++) {
      if (config.rotationNoise() > 0) {
        action[i] = clamp(action[i] + config.rotationNoise() * noise.next(), MAX_ROTATION_PER_STEP);
      }
    }
  }

  private static double clamp(double value, double bound) {
    return Math.max(-bound, Math.min(bound, value));
  }
}
