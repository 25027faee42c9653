package io.vlaserve.sim;

/**
 * Fixed dimensions of the tabletop scene, metres and radians, world frame.
 *
 * <p>The table is the plane z = 0. The end effector's position is its tool centre point (TCP):
 * the point between the fingertips' centres, where a grasped block's centre sits; the fingers
 * reach {@link #FINGER_BELOW_TCP} below it. Stateless and thread-safe.
 */
public final class TabletopGeometry {

  /** Lower corner of the box the TCP is kept in. */
  public static final Vec3 WORKSPACE_MIN = new Vec3(0.25, -0.30, 0.01);

  /**
   * Upper corner of the box the TCP is kept in. The z minimum of 0.01 keeps the fingertips, which
   * reach {@link #FINGER_BELOW_TCP} below the TCP, at or above the table.
   */
  public static final Vec3 WORKSPACE_MAX = new Vec3(0.75, 0.30, 0.35);

  /** How far the fingertips reach below the TCP. */
  public static final double FINGER_BELOW_TCP = 0.01;

  /** Edge length of every cube block. */
  public static final double BLOCK_EDGE = 0.04;

  /** Half of {@link #BLOCK_EDGE}. */
  public static final double BLOCK_HALF = BLOCK_EDGE / 2;

  /** Radius of the target plate, a flat disc lying on the table. */
  public static final double PLATE_RADIUS = 0.08;

  /** Thickness of the plate; its top is at this height. */
  public static final double PLATE_THICKNESS = 0.005;

  /** Lower corner (x, y) of the region where blocks and plate are placed at reset. */
  public static final double PLACEMENT_MIN_X = 0.33;
  /** See {@link #PLACEMENT_MIN_X}. */
  public static final double PLACEMENT_MAX_X = 0.67;
  /** See {@link #PLACEMENT_MIN_X}. */
  public static final double PLACEMENT_MIN_Y = -0.20;
  /** See {@link #PLACEMENT_MIN_X}. */
  public static final double PLACEMENT_MAX_Y = 0.20;

  /** Smallest centre-to-centre distance between two blocks at reset. */
  public static final double MIN_BLOCK_SPACING = 0.08;

  /** Smallest distance from a block's centre to the plate's centre at reset. */
  public static final double MIN_BLOCK_PLATE_SPACING = PLATE_RADIUS + BLOCK_EDGE + 0.01;

  /**
   * Region the TCP starts in at reset: the upper part of the workspace, where the default camera
   * still sees the gripper.
   */
  public static final Vec3 START_MIN = new Vec3(0.38, -0.20, 0.18);
  /** See {@link #START_MIN}. */
  public static final Vec3 START_MAX = new Vec3(0.62, 0.20, 0.28);
  /** Largest |yaw| at reset, radians. */
  public static final double START_MAX_YAW = 0.6;
  /** Largest |roll| and |pitch| at reset, radians. */
  public static final double START_MAX_TILT = 0.1;

  /** Gap between the fingers when fully open; it scales linearly with the opening. */
  public static final double GRIPPER_MAX_SPAN = 0.10;

  /** Closing grasps a block only if the TCP is this close to its centre horizontally. */
  public static final double GRASP_HORIZONTAL_TOLERANCE = 0.015;

  /** Closing grasps a block only if the TCP is this close to its centre vertically. */
  public static final double GRASP_VERTICAL_TOLERANCE = 0.015;

  /** Closing grasps a block only if the gripper is tilted at most this far from vertical. */
  public static final double GRASP_MAX_TILT = 0.35;

  /** Slack used when comparing heights and footprints, metres. */
  public static final double EPSILON = 1e-9;

  private TabletopGeometry() {}

  /** Returns whether two axis-aligned block footprints centred as given overlap with area. */
  public static boolean footprintsOverlap(double ax, double ay, double bx, double by) {
    return Math.abs(ax - bx) < BLOCK_EDGE - EPSILON && Math.abs(ay - by) < BLOCK_EDGE - EPSILON;
  }

  /** Returns whether a block footprint centred at (x, y) touches the plate disc with area. */
  public static boolean footprintOverPlate(double x, double y, double plateX, double plateY) {
    // Closest point of the square to the disc centre.
    double cx = Math.max(x - BLOCK_HALF, Math.min(plateX, x + BLOCK_HALF));
    double cy = Math.max(y - BLOCK_HALF, Math.min(plateY, y + BLOCK_HALF));
    double dx = cx - plateX;
    double dy = cy - plateY;
    return dx * dx + dy * dy < (PLATE_RADIUS - EPSILON) * (PLATE_RADIUS - EPSILON);
  }
}
