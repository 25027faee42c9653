package io.vlaserve.recorder;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.vlaserve.foxglove.CompressedImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** Camera frames as Foxglove shows them: {@code foxglove.CompressedImage} holding a PNG. */
public final class CameraFrames {
  /** The topic of camera {@code camera}'s frames. */
  public static FlightRecorder.Topic topic(String camera) {
    return ProtobufTopics.topic("/camera/" + camera, CompressedImage.getDescriptor());
  }

  private CameraFrames() {}

  /**
   * A {@code foxglove.CompressedImage} of an RGB8 frame, PNG-encoded (lossless, so a recording's
   * frames are the pixels the model saw).
   *
   * @param rgb8 row-major, 3 bytes per pixel
   * @param epochNanos when it was captured
   */
  public static byte[] compressedImage(String camera, long epochNanos, byte[] rgb8, int width, int height) {
    if (rgb8.length != 3 * width * height) {
      throw new IllegalArgumentException("an RGB8 frame of " + width + "x" + height + " has " + 3 * width * height
          + " bytes, not " + rgb8.length);
    }
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    int[] row = new int[width];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int i = 3 * (y * width + x);
        row[x] = (rgb8[i] & 0xff) << 16 | (rgb8[i + 1] & 0xff) << 8 | (rgb8[i + 2] & 0xff);
      }
      image.setRGB(0, y, width, 1, row, 0, width);
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream(rgb8.length / 2 + 64);
    try {
      ImageIO.write(image, "png", png);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return CompressedImage.newBuilder()
        .setTimestamp(Timestamp.newBuilder().setSeconds(Math.floorDiv(epochNanos, 1_000_000_000L))
            .setNanos((int) Math.floorMod(epochNanos, 1_000_000_000L)))
        .setFrameId(camera).setFormat("png").setData(ByteString.copyFrom(png.toByteArray()))
        .build().toByteArray();
  }
}
