package io.vlaserve.recorder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vlaserve.foxglove.CompressedImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class CameraFramesTest {
  @Test
  void aFrameComesBackPixelForPixelThroughAStandardPngDecoder() throws Exception {
    int width = 37;
    int height = 23;
    byte[] rgb = new byte[3 * width * height];
    new SplittableRandom(5).nextBytes(rgb);
    for (int i = 0; i < rgb.length / 2; i++) {
      rgb[i] = (byte) (i / 7); // smooth half, random half: both filters' edge cases
    }
    CompressedImage message = CompressedImage.parseFrom(CameraFrames.compressedImage("wrist", 1_800_000_000_123_456_789L,
        rgb, width, height));
    assertEquals("png", message.getFormat());
    assertEquals("wrist", message.getFrameId());
    assertEquals(1_800_000_000L, message.getTimestamp().getSeconds());
    assertEquals(123_456_789, message.getTimestamp().getNanos());
    BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(message.getData().toByteArray()));
    assertEquals(width, decoded.getWidth());
    assertEquals(height, decoded.getHeight());
    byte[] back = new byte[rgb.length];
    for (int y = 0, i = 0; y < height; y++) {
      for (int x = 0; x < width; x++, i += 3) {
        int pixel = decoded.getRGB(x, y);
        back[i] = (byte) (pixel >> 16);
        back[i + 1] = (byte) (pixel >> 8);
        back[i + 2] = (byte) pixel;
      }
    }
    assertArrayEquals(rgb, back);
  }

  @Test
  void aFrameOfTheWrongSizeIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> CameraFrames.png(new byte[10], 2, 2));
  }
}
