package io.vlaserve.sim.render;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Writes RGB8 frames as PNG files, for debugging and documentation. Stateless and thread-safe. */
public final class Png {

  private Png() {}

  /**
   * Writes a row-major RGB8 frame to {@code file} as a PNG, creating parent directories.
   *
   * @throws IllegalArgumentException if {@code rgb.length != width * height * 3}
   */
  public static void write(byte[] rgb, int width, int height, Path file) throws IOException {
    BufferedImage image = toImage(rgb, width, height);
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    if (!ImageIO.write(image, "png", file.toFile())) {
      throw new IOException("no PNG writer available in javax.imageio");
    }
  }

  /** Copies a row-major RGB8 frame into a new {@link BufferedImage}. */
  public static BufferedImage toImage(byte[] rgb, int width, int height) {
    if (rgb.length != width * height * 3) {
      throw new IllegalArgumentException(
          "frame of " + rgb.length + " bytes (expected " + width + "*" + height + "*3 = " + width * height * 3 + ")");
    }
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    for (int y = 0, i = 0; y < height; y++) {
      for (int x = 0; x < width; x++, i += 3) {
        image.setRGB(x, y, (rgb[i] & 0xff) << 16 | (rgb[i + 1] & 0xff) << 8 | (rgb[i + 2] & 0xff));
      }
    }
    return image;
  }
}
