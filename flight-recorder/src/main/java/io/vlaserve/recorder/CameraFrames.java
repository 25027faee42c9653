package io.vlaserve.recorder;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.vlaserve.foxglove.CompressedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

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
    return CompressedImage.newBuilder()
        .setTimestamp(Timestamp.newBuilder().setSeconds(Math.floorDiv(epochNanos, 1_000_000_000L))
            .setNanos((int) Math.floorMod(epochNanos, 1_000_000_000L)))
        .setFrameId(camera).setFormat("png").setData(ByteString.copyFrom(png(rgb8, width, height)))
        .build().toByteArray();
  }

  /**
   * An RGB8 frame as a PNG: 8-bit truecolour, every row filtered "up" (camera frames change little
   * from row to row), deflated at the fastest level. Written directly rather than through ImageIO,
   * which costs several times more per frame on the recorder's thread.
   */
  public static byte[] png(byte[] rgb8, int width, int height) {
    if (width <= 0 || height <= 0 || rgb8.length != 3 * width * height) {
      throw new IllegalArgumentException("an RGB8 frame of " + width + "x" + height + " has " + 3L * width * height
          + " bytes, not " + rgb8.length);
    }
    int stride = 3 * width;
    byte[] filtered = new byte[height * (stride + 1)];
    for (int y = 0; y < height; y++) {
      int out = y * (stride + 1);
      int in = y * stride;
      if (y == 0) {
        filtered[out] = 0; // none
        System.arraycopy(rgb8, 0, filtered, out + 1, stride);
      } else {
        filtered[out] = 2; // up
        for (int x = 0; x < stride; x++) {
          filtered[out + 1 + x] = (byte) (rgb8[in + x] - rgb8[in - stride + x]);
        }
      }
    }
    Deflater deflater = new Deflater(Deflater.BEST_SPEED);
    ByteArrayOutputStream idat = new ByteArrayOutputStream(filtered.length / 4 + 64);
    try {
      deflater.setInput(filtered);
      deflater.finish();
      byte[] buffer = new byte[8192];
      while (!deflater.finished()) {
        idat.write(buffer, 0, deflater.deflate(buffer));
      }
    } finally {
      deflater.end();
    }
    ByteBuffer header = ByteBuffer.allocate(13);
    header.putInt(width).putInt(height).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
    ByteArrayOutputStream png = new ByteArrayOutputStream(idat.size() + 64);
    png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    chunk(png, "IHDR", header.array());
    chunk(png, "IDAT", idat.toByteArray());
    chunk(png, "IEND", new byte[0]);
    return png.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream png, String type, byte[] data) {
    byte[] name = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    CRC32 crc = new CRC32();
    crc.update(name);
    crc.update(data);
    png.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    png.writeBytes(name);
    png.writeBytes(data);
    png.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }
}
