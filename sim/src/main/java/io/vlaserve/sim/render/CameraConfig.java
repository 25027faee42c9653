package io.vlaserve.sim.render;

import io.vlaserve.sim.Vec3;
import java.util.Objects;

/**
 * Image size and viewpoint of the simulated third-person camera.
 *
 * <p>The default viewpoint stands in front of the table facing the robot base, above it and looking
 * down at about 50 degrees: image right is world +y and image up is world -x (towards the robot).
 * See {@link TabletopRenderer} for what the picture shows. Immutable and thread-safe.
 *
 * @param width image width in pixels, 8..1024
 * @param height image height in pixels, 8..1024
 * @param position camera centre, metres, world frame
 * @param target point the optical axis passes through, metres, world frame
 * @param verticalFovDegrees vertical field of view, degrees, 10..120
 */
public record CameraConfig(
    int width, int height, Vec3 position, Vec3 target, double verticalFovDegrees) {

  /** Default camera centre: in front of the table, opposite the robot base, above it. */
  public static final Vec3 DEFAULT_POSITION = new Vec3(1.00, 0.0, 0.72);

  /** Default look-at point: the middle of the workspace, slightly above the table. */
  public static final Vec3 DEFAULT_TARGET = new Vec3(0.47, 0.0, 0.10);

  /** Default vertical field of view, degrees. */
  public static final double DEFAULT_VERTICAL_FOV_DEGREES = 42;

  /** 64x64 pixels from the default viewpoint: the policy's input size. */
  public static final CameraConfig DEFAULT = of(64, 64);

  public CameraConfig {
    Objects.requireNonNull(position, "position");
    Objects.requireNonNull(target, "target");
    if (width < 8 || width > 1024 || height < 8 || height > 1024) {
      throw new IllegalArgumentException(
          "image size " + width + "x" + height + " (expected 8..1024 on each side)");
    }
    if (!(verticalFovDegrees >= 10 && verticalFovDegrees <= 120)) {
      throw new IllegalArgumentException(
          "verticalFovDegrees: " + verticalFovDegrees + " (expected 10..120)");
    }
    if (position.distanceTo(target) < 1e-6) {
      throw new IllegalArgumentException("camera position equals its target (expected distinct points)");
    }
  }

  /** Returns a {@code width x height} camera at the default viewpoint. */
  public static CameraConfig of(int width, int height) {
    return new CameraConfig(width, height, DEFAULT_POSITION, DEFAULT_TARGET, DEFAULT_VERTICAL_FOV_DEGREES);
  }

  /** Returns the size of one RGB8 frame in bytes: {@code width * height * 3}. */
  public int frameBytes() {
    return width * height * 3;
  }
}
