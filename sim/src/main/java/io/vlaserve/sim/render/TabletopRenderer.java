package io.vlaserve.sim.render;

import static io.vlaserve.sim.TabletopGeometry.BLOCK_EDGE;
import static io.vlaserve.sim.TabletopGeometry.BLOCK_HALF;
import static io.vlaserve.sim.TabletopGeometry.FINGER_BELOW_TCP;
import static io.vlaserve.sim.TabletopGeometry.GRIPPER_MAX_SPAN;
import static io.vlaserve.sim.TabletopGeometry.PLATE_RADIUS;
import static io.vlaserve.sim.TabletopGeometry.PLATE_THICKNESS;

import io.vlaserve.skills.BlockColor;
import io.vlaserve.sim.BlockState;
import io.vlaserve.sim.QuaternionMath;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.Vec3;
import io.vlaserve.sim.WorldState;
import java.util.Objects;

/**
 * Renders the tabletop from a fixed perspective camera into caller-supplied RGB8 buffers.
 *
 * <p>The picture is ray cast, one ray per pixel centre, with flat shading from a fixed light and
 * hard drop shadows cast straight down: every block and the gripper darken the table, plate or
 * block top directly beneath them, so an object's height shows as the image offset between it and
 * its shadow. Blocks are saturated red, green, blue and yellow; the plate is a white disc with a
 * grey rim on a light wooden table; the gripper is near-black, two fingers under a palm and a
 * wrist column, and the finger gap follows the gripper opening (the block width when carrying).
 *
 * <p>Output is deterministic: only {@code + - * /} and {@link Math#sqrt} run per pixel, which Java
 * defines bit-exactly, so one state gives byte-identical frames on every JVM. Rendering allocates
 * nothing; per-pixel ray directions are computed once, in the constructor.
 *
 * <p>Not thread-safe: it keeps the scene of the frame being drawn in fields. Use one renderer per
 * thread; they are cheap apart from {@code 24 * width * height} bytes of ray table.
 */
public final class TabletopRenderer {
  /** The lit top face of each block colour, 8-bit RGB, by {@link BlockColor} ordinal. */
  private static final int[][] BLOCK_RGB = {
    {220, 38, 38}, // red
    {34, 170, 64}, // green
    {40, 80, 225}, // blue
    {245, 205, 25}, // yellow
  };


  // Light comes from above, slightly from the camera side and the left; shadows are still drawn
  // straight down, which is what makes heights easy to read.
  private static final double LIGHT_X = 0.35;
  private static final double LIGHT_Y = 0.25;
  private static final double LIGHT_Z = 0.90;
  private static final double LIGHT_NORM = Math.sqrt(LIGHT_X * LIGHT_X + LIGHT_Y * LIGHT_Y + LIGHT_Z * LIGHT_Z);
  private static final double AMBIENT = 0.45;
  private static final double DIFFUSE = 0.55;
  /** Scales shading so that an upward-facing surface shows exactly its nominal colour. */
  private static final double SHADE_NORMALISER = 1.0 / (AMBIENT + DIFFUSE * LIGHT_Z / LIGHT_NORM);
  private static final double SHADOW = 0.48;

  private static final double TABLE_MIN_X = 0.08;
  private static final double TABLE_MAX_X = 0.98;
  private static final double TABLE_MIN_Y = -0.55;
  private static final double TABLE_MAX_Y = 0.55;

  private static final int[] BACKGROUND = {58, 66, 80};
  private static final int[] TABLE = {196, 170, 132};
  private static final int[] PLATE_TOP = {242, 242, 238};
  private static final int[] PLATE_RIM = {196, 198, 206};
  private static final double PLATE_RIM_FROM = 0.8 * PLATE_RADIUS;
  private static final int[][] GRIPPER_PARTS = {{34, 34, 40}, {34, 34, 40}, {52, 52, 60}, {72, 72, 82}};

  // Gripper parts in the gripper frame (TCP at the origin, z towards the wrist): finger, finger,
  // palm, wrist. The finger rows are rewritten per frame from the opening.
  private static final double FINGER_HALF_WIDTH = 0.011;
  private static final double FINGER_THICKNESS = 0.010;
  private static final double FINGER_TOP = 0.055;
  private static final double PALM_TOP = 0.075;
  private static final double WRIST_HALF = 0.016;
  private static final double WRIST_TOP = 0.20;
  private static final double PALM_HALF_Y = GRIPPER_MAX_SPAN / 2 + FINGER_THICKNESS;

  private static final int MATERIAL_BACKGROUND = 0;
  private static final int MATERIAL_TABLE = 1;
  private static final int MATERIAL_PLATE_TOP = 2;
  private static final int MATERIAL_PLATE_SIDE = 3;
  private static final int MATERIAL_BLOCK = 4;
  private static final int MATERIAL_GRIPPER = 5;

  private static final int MAX_BLOCKS = BlockColor.values().length;
  /** Screen rectangles: blocks 0..3, then the plate, then the gripper. */
  private static final int RECT_PLATE = MAX_BLOCKS;
  private static final int RECT_GRIPPER = MAX_BLOCKS + 1;

  private final CameraConfig camera;
  private final int width;
  private final int height;
  private final double eyeX;
  private final double eyeY;
  private final double eyeZ;
  private final double[] rightAxis = new double[3];
  private final double[] upAxis = new double[3];
  private final double[] forwardAxis = new double[3];
  private final double tanHalfFovY;
  private final double tanHalfFovX;
  private final double[] rayX;
  private final double[] rayY;
  private final double[] rayZ;

  // The scene of the current frame.
  private int blockCount;
  private final BlockColor[] blockColors = new BlockColor[MAX_BLOCKS];
  private final double[] blockX = new double[MAX_BLOCKS];
  private final double[] blockY = new double[MAX_BLOCKS];
  private final double[] blockZ = new double[MAX_BLOCKS];
  private double plateX;
  private double plateY;
  private double gripperX;
  private double gripperY;
  private double gripperZ;
  private final double[] rotation = new double[9];
  /** Gripper parts as {minX, maxX, minY, maxY, minZ, maxZ} rows, gripper frame. */
  private final double[] parts = new double[4 * 6];
  /** Camera centre in the gripper frame. */
  private final double[] eyeLocal = new double[3];
  private final int[] rectMinU = new int[MAX_BLOCKS + 2];
  private final int[] rectMaxU = new int[MAX_BLOCKS + 2];
  private final int[] rectMinV = new int[MAX_BLOCKS + 2];
  private final int[] rectMaxV = new int[MAX_BLOCKS + 2];
  private double gripperFootMinX;
  private double gripperFootMaxX;
  private double gripperFootMinY;
  private double gripperFootMaxY;
  private final double[] projected = new double[2];
  private final double[] scratchQuaternion = new double[4];

  // Side outputs of the intersection routines; fields so that no result object is allocated.
  private int hitFace;

  /** Creates a renderer for {@code camera}; precomputes one ray per pixel. */
  public TabletopRenderer(CameraConfig camera) {
    this.camera = Objects.requireNonNull(camera, "camera");
    this.width = camera.width();
    this.height = camera.height();
    eyeX = camera.position().x();
    eyeY = camera.position().y();
    eyeZ = camera.position().z();
    double fx = camera.target().x() - eyeX;
    double fy = camera.target().y() - eyeY;
    double fz = camera.target().z() - eyeZ;
    double fn = Math.sqrt(fx * fx + fy * fy + fz * fz);
    forwardAxis[0] = fx / fn;
    forwardAxis[1] = fy / fn;
    forwardAxis[2] = fz / fn;
    // right = forward x worldUp; the camera never looks straight down, so this is well defined.
    double rx = forwardAxis[1];
    double ry = -forwardAxis[0];
    double rn = Math.sqrt(rx * rx + ry * ry);
    if (rn < 1e-6) {
      throw new IllegalArgumentException("camera looks straight up or down (expected an oblique view)");
    }
    rightAxis[0] = rx / rn;
    rightAxis[1] = ry / rn;
    rightAxis[2] = 0;
    upAxis[0] = rightAxis[1] * forwardAxis[2] - rightAxis[2] * forwardAxis[1];
    upAxis[1] = rightAxis[2] * forwardAxis[0] - rightAxis[0] * forwardAxis[2];
    upAxis[2] = rightAxis[0] * forwardAxis[1] - rightAxis[1] * forwardAxis[0];
    tanHalfFovY = StrictMath.tan(Math.toRadians(camera.verticalFovDegrees()) / 2);
    tanHalfFovX = tanHalfFovY * width / height;

    rayX = new double[width * height];
    rayY = new double[width * height];
    rayZ = new double[width * height];
    for (int v = 0; v < height; v++) {
      double ndcY = (1 - (v + 0.5) * 2 / height) * tanHalfFovY;
      for (int u = 0; u < width; u++) {
        double ndcX = ((u + 0.5) * 2 / width - 1) * tanHalfFovX;
        double dx = forwardAxis[0] + ndcX * rightAxis[0] + ndcY * upAxis[0];
        double dy = forwardAxis[1] + ndcX * rightAxis[1] + ndcY * upAxis[1];
        double dz = forwardAxis[2] + ndcX * rightAxis[2] + ndcY * upAxis[2];
        double n = Math.sqrt(dx * dx + dy * dy + dz * dz);
        int pixel = v * width + u;
        rayX[pixel] = dx / n;
        rayY[pixel] = dy / n;
        rayZ[pixel] = dz / n;
      }
    }
  }

  /** Returns the camera this renderer draws for. */
  public CameraConfig camera() {
    return camera;
  }

  /** Returns a new zeroed buffer of the right size for {@link #render}. */
  public byte[] newFrame() {
    return new byte[camera.frameBytes()];
  }

  /**
   * Draws the world's current state into {@code rgb} (row-major RGB8, top row first). Allocates
   * nothing.
   *
   * @throws IllegalArgumentException if {@code rgb.length != width * height * 3}
   */
  public void render(TabletopWorld world, byte[] rgb) {
    checkFrame(rgb);
    blockCount = world.blockCount();
    for (int i = 0; i < blockCount; i++) {
      blockColors[i] = world.blockColor(i);
      blockX[i] = world.blockX(i);
      blockY[i] = world.blockY(i);
      blockZ[i] = world.blockZ(i);
    }
    plateX = world.plateX();
    plateY = world.plateY();
    world.copyOrientation(scratchQuaternion);
    loadGripper(world.eeX(), world.eeY(), world.eeZ(), world.gripper(), world.heldIndex() >= 0);
    draw(rgb);
  }

  /**
   * Draws {@code state} into {@code rgb}; the same pixels as rendering a world in that state.
   *
   * @throws IllegalArgumentException if {@code rgb.length != width * height * 3}
   */
  public void render(WorldState state, byte[] rgb) {
    checkFrame(rgb);
    if (state.blocks().size() > MAX_BLOCKS) {
      throw new IllegalArgumentException(
          state.blocks().size() + " blocks (expected at most " + MAX_BLOCKS + ")");
    }
    blockCount = state.blocks().size();
    for (int i = 0; i < blockCount; i++) {
      BlockState block = state.blocks().get(i);
      blockColors[i] = block.color();
      blockX[i] = block.center().x();
      blockY[i] = block.center().y();
      blockZ[i] = block.center().z();
    }
    plateX = state.plateCenter().x();
    plateY = state.plateCenter().y();
    scratchQuaternion[0] = state.eeOrientation().x();
    scratchQuaternion[1] = state.eeOrientation().y();
    scratchQuaternion[2] = state.eeOrientation().z();
    scratchQuaternion[3] = state.eeOrientation().w();
    Vec3 ee = state.eePosition();
    loadGripper(ee.x(), ee.y(), ee.z(), state.gripper(), state.isHolding());
    draw(rgb);
  }

  /**
   * Projects a world point to continuous pixel coordinates {@code out = [u, v]}: u grows to the
   * right from 0 at the left edge, v grows downwards from 0 at the top edge; pixel (i, j) covers
   * [i, i+1) x [j, j+1).
   *
   * @return false if the point is behind the camera (then {@code out} is unchanged)
   */
  public boolean project(double x, double y, double z, double[] out) {
    double vx = x - eyeX;
    double vy = y - eyeY;
    double vz = z - eyeZ;
    double depth = vx * forwardAxis[0] + vy * forwardAxis[1] + vz * forwardAxis[2];
    if (depth <= 1e-9) {
      return false;
    }
    double cx = vx * rightAxis[0] + vy * rightAxis[1] + vz * rightAxis[2];
    double cy = vx * upAxis[0] + vy * upAxis[1] + vz * upAxis[2];
    out[0] = (cx / depth / tanHalfFovX + 1) * 0.5 * width;
    out[1] = (1 - cy / depth / tanHalfFovY) * 0.5 * height;
    return true;
  }

  private void checkFrame(byte[] rgb) {
    if (rgb.length != camera.frameBytes()) {
      throw new IllegalArgumentException("frame of " + rgb.length + " bytes (expected "
          + width + "*" + height + "*3 = " + camera.frameBytes() + ")");
    }
  }

  private void loadGripper(double x, double y, double z, double opening, boolean holding) {
    gripperX = x;
    gripperY = y;
    gripperZ = z;
    QuaternionMath.toMatrix(
        scratchQuaternion[0], scratchQuaternion[1], scratchQuaternion[2], scratchQuaternion[3], rotation);
    double gap = holding ? BLOCK_EDGE : Math.max(0, Math.min(1, opening)) * GRIPPER_MAX_SPAN;
    setPart(0, -FINGER_HALF_WIDTH, FINGER_HALF_WIDTH, gap / 2, gap / 2 + FINGER_THICKNESS,
        -FINGER_BELOW_TCP, FINGER_TOP);
    setPart(1, -FINGER_HALF_WIDTH, FINGER_HALF_WIDTH, -gap / 2 - FINGER_THICKNESS, -gap / 2,
        -FINGER_BELOW_TCP, FINGER_TOP);
    setPart(2, -0.014, 0.014, -PALM_HALF_Y, PALM_HALF_Y, FINGER_TOP, PALM_TOP);
    setPart(3, -WRIST_HALF, WRIST_HALF, -WRIST_HALF, WRIST_HALF, PALM_TOP, WRIST_TOP);
    // Camera centre in the gripper frame: R^T (eye - gripper).
    double ex = eyeX - x;
    double ey = eyeY - y;
    double ez = eyeZ - z;
    eyeLocal[0] = rotation[0] * ex + rotation[3] * ey + rotation[6] * ez;
    eyeLocal[1] = rotation[1] * ex + rotation[4] * ey + rotation[7] * ez;
    eyeLocal[2] = rotation[2] * ex + rotation[5] * ey + rotation[8] * ez;
  }

  private void setPart(int part, double minX, double maxX, double minY, double maxY, double minZ, double maxZ) {
    int o = part * 6;
    parts[o] = minX;
    parts[o + 1] = maxX;
    parts[o + 2] = minY;
    parts[o + 3] = maxY;
    parts[o + 4] = minZ;
    parts[o + 5] = maxZ;
  }

  private void draw(byte[] rgb) {
    computeScreenRects();
    for (int v = 0, pixel = 0; v < height; v++) {
      for (int u = 0; u < width; u++, pixel++) {
        double dx = rayX[pixel];
        double dy = rayY[pixel];
        double dz = rayZ[pixel];
        double best = Double.POSITIVE_INFINITY;
        int material = MATERIAL_BACKGROUND;
        int index = 0;
        double nx = 0;
        double ny = 0;
        double nz = 1;

        if (dz < 0) {
          double t = -eyeZ / dz;
          double hx = eyeX + t * dx;
          double hy = eyeY + t * dy;
          if (hx >= TABLE_MIN_X && hx <= TABLE_MAX_X && hy >= TABLE_MIN_Y && hy <= TABLE_MAX_Y) {
            best = t;
            material = MATERIAL_TABLE;
          }
        }

        if (inRect(RECT_PLATE, u, v)) {
          double t = plateTop(dx, dy, dz);
          if (t < best) {
            best = t;
            material = MATERIAL_PLATE_TOP;
          }
          t = plateSide(dx, dy, dz);
          if (t < best) {
            best = t;
            material = MATERIAL_PLATE_SIDE;
            nx = (eyeX + t * dx - plateX) / PLATE_RADIUS;
            ny = (eyeY + t * dy - plateY) / PLATE_RADIUS;
            nz = 0;
          }
        }

        for (int b = 0; b < blockCount; b++) {
          if (!inRect(b, u, v)) {
            continue;
          }
          double t = slab(eyeX, eyeY, eyeZ, dx, dy, dz,
              blockX[b] - BLOCK_HALF, blockX[b] + BLOCK_HALF,
              blockY[b] - BLOCK_HALF, blockY[b] + BLOCK_HALF,
              blockZ[b] - BLOCK_HALF, blockZ[b] + BLOCK_HALF);
          if (t < best) {
            best = t;
            material = MATERIAL_BLOCK;
            index = b;
            int axis = hitFace >> 1;
            double sign = (hitFace & 1) == 0 ? -1 : 1;
            nx = axis == 0 ? sign : 0;
            ny = axis == 1 ? sign : 0;
            nz = axis == 2 ? sign : 0;
          }
        }

        if (inRect(RECT_GRIPPER, u, v)) {
          // The ray in the gripper frame: R^T d.
          double lx = rotation[0] * dx + rotation[3] * dy + rotation[6] * dz;
          double ly = rotation[1] * dx + rotation[4] * dy + rotation[7] * dz;
          double lz = rotation[2] * dx + rotation[5] * dy + rotation[8] * dz;
          for (int part = 0; part < 4; part++) {
            int o = part * 6;
            double t = slab(eyeLocal[0], eyeLocal[1], eyeLocal[2], lx, ly, lz,
                parts[o], parts[o + 1], parts[o + 2], parts[o + 3], parts[o + 4], parts[o + 5]);
            if (t < best) {
              best = t;
              material = MATERIAL_GRIPPER;
              index = part;
              int axis = hitFace >> 1;
              double sign = (hitFace & 1) == 0 ? -1 : 1;
              // World normal: the gripper axis column of R.
              nx = rotation[axis] * sign;
              ny = rotation[3 + axis] * sign;
              nz = rotation[6 + axis] * sign;
            }
          }
        }

        int out = pixel * 3;
        if (material == MATERIAL_BACKGROUND) {
          rgb[out] = (byte) BACKGROUND[0];
          rgb[out + 1] = (byte) BACKGROUND[1];
          rgb[out + 2] = (byte) BACKGROUND[2];
          continue;
        }
        int red;
        int green;
        int blue;
        switch (material) {
          case MATERIAL_TABLE -> {
            red = TABLE[0];
            green = TABLE[1];
            blue = TABLE[2];
          }
          case MATERIAL_PLATE_TOP, MATERIAL_PLATE_SIDE -> {
            double hx = eyeX + best * dx - plateX;
            double hy = eyeY + best * dy - plateY;
            boolean rim = material == MATERIAL_PLATE_SIDE || hx * hx + hy * hy >= PLATE_RIM_FROM * PLATE_RIM_FROM;
            int[] color = rim ? PLATE_RIM : PLATE_TOP;
            red = color[0];
            green = color[1];
            blue = color[2];
          }
          case MATERIAL_BLOCK -> {
            int[] color = BLOCK_RGB[blockColors[index].ordinal()];
            red = color[0];
            green = color[1];
            blue = color[2];
          }
          default -> {
            int[] color = GRIPPER_PARTS[index];
            red = color[0];
            green = color[1];
            blue = color[2];
          }
        }
        double lambert = (nx * LIGHT_X + ny * LIGHT_Y + nz * LIGHT_Z) / LIGHT_NORM;
        double shade = (AMBIENT + DIFFUSE * Math.max(0, lambert)) * SHADE_NORMALISER;
        if (nz > 0.999 && material != MATERIAL_GRIPPER) {
          double hx = eyeX + best * dx;
          double hy = eyeY + best * dy;
          double hz = eyeZ + best * dz;
          if (inShadow(hx, hy, hz, material == MATERIAL_BLOCK ? index : -1)) {
            shade *= SHADOW;
          }
        }
        rgb[out] = (byte) toByte(red * shade);
        rgb[out + 1] = (byte) toByte(green * shade);
        rgb[out + 2] = (byte) toByte(blue * shade);
      }
    }
  }

  private static int toByte(double value) {
    int rounded = (int) (value + 0.5);
    return rounded < 0 ? 0 : Math.min(255, rounded);
  }

  private boolean inRect(int rect, int u, int v) {
    return u >= rectMinU[rect] && u <= rectMaxU[rect] && v >= rectMinV[rect] && v <= rectMaxV[rect];
  }

  /** Whether something lies straight above the upward-facing surface point (x, y, z). */
  private boolean inShadow(double x, double y, double z, int selfBlock) {
    for (int b = 0; b < blockCount; b++) {
      if (b != selfBlock
          && blockZ[b] - BLOCK_HALF > z + 1e-9
          && Math.abs(x - blockX[b]) <= BLOCK_HALF
          && Math.abs(y - blockY[b]) <= BLOCK_HALF) {
        return true;
      }
    }
    if (x < gripperFootMinX || x > gripperFootMaxX || y < gripperFootMinY || y > gripperFootMaxY) {
      return false;
    }
    // Straight up in the gripper frame is the third row of R.
    double px = x - gripperX;
    double py = y - gripperY;
    double pz = z - gripperZ;
    double ox = rotation[0] * px + rotation[3] * py + rotation[6] * pz;
    double oy = rotation[1] * px + rotation[4] * py + rotation[7] * pz;
    double oz = rotation[2] * px + rotation[5] * py + rotation[8] * pz;
    for (int part = 0; part < 4; part++) {
      int o = part * 6;
      double t = slab(ox, oy, oz, rotation[6], rotation[7], rotation[8],
          parts[o], parts[o + 1], parts[o + 2], parts[o + 3], parts[o + 4], parts[o + 5]);
      if (t < Double.POSITIVE_INFINITY) {
        return true;
      }
    }
    return false;
  }

  /**
   * Intersects the ray o + t d with an axis-aligned box. Returns the entry distance (or 0 when
   * the origin is inside), or +infinity on a miss; sets {@link #hitFace} to 2 * axis + (0 for the
   * min face, 1 for the max face).
   */
  private double slab(double ox, double oy, double oz, double dx, double dy, double dz,
      double minX, double maxX, double minY, double maxY, double minZ, double maxZ) {
    double near = Double.NEGATIVE_INFINITY;
    double far = Double.POSITIVE_INFINITY;
    int face = 0;
    if (dx != 0) {
      double t1 = (minX - ox) / dx;
      double t2 = (maxX - ox) / dx;
      double enter = dx > 0 ? t1 : t2;
      double exit = dx > 0 ? t2 : t1;
      if (enter > near) {
        near = enter;
        face = dx > 0 ? 0 : 1;
      }
      far = Math.min(far, exit);
    } else if (ox < minX || ox > maxX) {
      return Double.POSITIVE_INFINITY;
    }
    if (dy != 0) {
      double t1 = (minY - oy) / dy;
      double t2 = (maxY - oy) / dy;
      double enter = dy > 0 ? t1 : t2;
      double exit = dy > 0 ? t2 : t1;
      if (enter > near) {
        near = enter;
        face = dy > 0 ? 2 : 3;
      }
      far = Math.min(far, exit);
    } else if (oy < minY || oy > maxY) {
      return Double.POSITIVE_INFINITY;
    }
    if (dz != 0) {
      double t1 = (minZ - oz) / dz;
      double t2 = (maxZ - oz) / dz;
      double enter = dz > 0 ? t1 : t2;
      double exit = dz > 0 ? t2 : t1;
      if (enter > near) {
        near = enter;
        face = dz > 0 ? 4 : 5;
      }
      far = Math.min(far, exit);
    } else if (oz < minZ || oz > maxZ) {
      return Double.POSITIVE_INFINITY;
    }
    if (near > far || far <= 1e-9) {
      return Double.POSITIVE_INFINITY;
    }
    hitFace = face;
    return Math.max(near, 0);
  }

  private double plateTop(double dx, double dy, double dz) {
    if (dz >= 0) {
      return Double.POSITIVE_INFINITY;
    }
    double t = (PLATE_THICKNESS - eyeZ) / dz;
    double hx = eyeX + t * dx - plateX;
    double hy = eyeY + t * dy - plateY;
    return hx * hx + hy * hy <= PLATE_RADIUS * PLATE_RADIUS ? t : Double.POSITIVE_INFINITY;
  }

  private double plateSide(double dx, double dy, double dz) {
    double ox = eyeX - plateX;
    double oy = eyeY - plateY;
    double a = dx * dx + dy * dy;
    double b = 2 * (dx * ox + dy * oy);
    double c = ox * ox + oy * oy - PLATE_RADIUS * PLATE_RADIUS;
    double discriminant = b * b - 4 * a * c;
    if (a < 1e-12 || discriminant < 0) {
      return Double.POSITIVE_INFINITY;
    }
    double t = (-b - Math.sqrt(discriminant)) / (2 * a);
    double z = eyeZ + t * dz;
    return t > 0 && z >= 0 && z <= PLATE_THICKNESS ? t : Double.POSITIVE_INFINITY;
  }

  private void computeScreenRects() {
    for (int b = 0; b < blockCount; b++) {
      rectFromBox(b, blockX[b] - BLOCK_HALF, blockX[b] + BLOCK_HALF, blockY[b] - BLOCK_HALF,
          blockY[b] + BLOCK_HALF, blockZ[b] - BLOCK_HALF, blockZ[b] + BLOCK_HALF);
    }
    rectFromBox(RECT_PLATE, plateX - PLATE_RADIUS, plateX + PLATE_RADIUS,
        plateY - PLATE_RADIUS, plateY + PLATE_RADIUS, 0, PLATE_THICKNESS);
    // World bounding box of the gripper: transform the corners of its local bounding box.
    double minX = Double.POSITIVE_INFINITY;
    double maxX = Double.NEGATIVE_INFINITY;
    double minY = Double.POSITIVE_INFINITY;
    double maxY = Double.NEGATIVE_INFINITY;
    double minZ = Double.POSITIVE_INFINITY;
    double maxZ = Double.NEGATIVE_INFINITY;
    for (int corner = 0; corner < 8; corner++) {
      double lx = (corner & 1) == 0 ? -WRIST_HALF : WRIST_HALF;
      double ly = (corner & 2) == 0 ? -PALM_HALF_Y : PALM_HALF_Y;
      double lz = (corner & 4) == 0 ? -FINGER_BELOW_TCP : WRIST_TOP;
      double wx = gripperX + rotation[0] * lx + rotation[1] * ly + rotation[2] * lz;
      double wy = gripperY + rotation[3] * lx + rotation[4] * ly + rotation[5] * lz;
      double wz = gripperZ + rotation[6] * lx + rotation[7] * ly + rotation[8] * lz;
      minX = Math.min(minX, wx);
      maxX = Math.max(maxX, wx);
      minY = Math.min(minY, wy);
      maxY = Math.max(maxY, wy);
      minZ = Math.min(minZ, wz);
      maxZ = Math.max(maxZ, wz);
    }
    rectFromBox(RECT_GRIPPER, minX, maxX, minY, maxY, minZ, maxZ);
    gripperFootMinX = minX;
    gripperFootMaxX = maxX;
    gripperFootMinY = minY;
    gripperFootMaxY = maxY;
  }

  private void rectFromBox(int rect, double minX, double maxX, double minY, double maxY, double minZ, double maxZ) {
    double minU = Double.POSITIVE_INFINITY;
    double maxU = Double.NEGATIVE_INFINITY;
    double minV = Double.POSITIVE_INFINITY;
    double maxV = Double.NEGATIVE_INFINITY;
    for (int corner = 0; corner < 8; corner++) {
      double x = (corner & 1) == 0 ? minX : maxX;
      double y = (corner & 2) == 0 ? minY : maxY;
      double z = (corner & 4) == 0 ? minZ : maxZ;
      if (!project(x, y, z, projected)) {
        // Part of the box is behind the camera: do not cull it at all.
        rectMinU[rect] = 0;
        rectMaxU[rect] = width - 1;
        rectMinV[rect] = 0;
        rectMaxV[rect] = height - 1;
        return;
      }
      minU = Math.min(minU, projected[0]);
      maxU = Math.max(maxU, projected[0]);
      minV = Math.min(minV, projected[1]);
      maxV = Math.max(maxV, projected[1]);
    }
    // One pixel of margin: rays go through pixel centres, the rectangle is continuous.
    rectMinU[rect] = (int) Math.max(-1, Math.floor(minU) - 1);
    rectMaxU[rect] = (int) Math.min(width, Math.ceil(maxU) + 1);
    rectMinV[rect] = (int) Math.max(-1, Math.floor(minV) - 1);
    rectMaxV[rect] = (int) Math.min(height, Math.ceil(maxV) + 1);
  }
}
