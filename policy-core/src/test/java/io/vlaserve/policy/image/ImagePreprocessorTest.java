package io.vlaserve.policy.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImagePreprocessorTest {
  private final ImagePreprocessor preprocessor = new ImagePreprocessor(64, 64, 1 << 20, true);

  private static byte[] encode(String format, int w, int h, int rgb) throws Exception {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        image.setRGB(x, y, rgb);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, format, out);
    return out.toByteArray();
  }

  @Test
  void rgbAtTheModelSizePassesThroughUntouched() {
    byte[] frame = new byte[64 * 64 * 3];
    frame[5] = 42;
    assertArrayEquals(frame, preprocessor.toModelInput(ImageFormat.RGB8, frame, 64, 64));
  }

  @Test
  void pngIsDecodedExactlyAndResized() throws Exception {
    byte[] rgb = preprocessor.toModelInput(ImageFormat.PNG, encode("png", 128, 96, 0x123456), 0, 0);
    assertEquals(64 * 64 * 3, rgb.length);
    assertEquals(0x12, rgb[0] & 0xff);
    assertEquals(0x34, rgb[1] & 0xff);
    assertEquals(0x56, rgb[2] & 0xff);
  }

  @Test
  void jpegIsDecodedApproximately() throws Exception {
    byte[] rgb = preprocessor.toModelInput(ImageFormat.JPEG, encode("jpg", 64, 64, 0xC83232), 64, 64);
    assertTrue(Math.abs((rgb[0] & 0xff) - 0xC8) < 8, "lossy but close: " + (rgb[0] & 0xff));
  }

  @Test
  void overTheByteLimitIsRefusedBeforeDecoding() {
    ImagePreprocessor small = new ImagePreprocessor(64, 64, 1000, true);
    InvalidImageException e = assertThrows(InvalidImageException.class,
        () -> small.toModelInput(ImageFormat.JPEG, new byte[1001], 0, 0));
    assertTrue(e.getMessage().startsWith("image: 1001 bytes (expected: at most 1000"), e.getMessage());
  }

  @Test
  void corruptBytesAreInvalid() {
    byte[] garbage = new byte[500];
    Arrays.fill(garbage, (byte) 7);
    InvalidImageException e = assertThrows(InvalidImageException.class,
        () -> preprocessor.toModelInput(ImageFormat.JPEG, garbage, 0, 0));
    assertTrue(e.getMessage().contains("not a readable JPEG"), e.getMessage());
  }

  @Test
  void truncatedPngIsInvalid() throws Exception {
    byte[] png = encode("png", 64, 64, 0x00ff00);
    InvalidImageException e = assertThrows(InvalidImageException.class,
        () -> preprocessor.toModelInput(ImageFormat.PNG, Arrays.copyOf(png, png.length / 2), 0, 0));
    assertTrue(e.getMessage().startsWith("image: corrupt PNG"), e.getMessage());
  }

  @Test
  void aPngDeclaredAsJpegIsRejected() throws Exception {
    InvalidImageException e = assertThrows(InvalidImageException.class,
        () -> preprocessor.toModelInput(ImageFormat.JPEG, encode("png", 8, 8, 0), 0, 0));
    assertTrue(e.getMessage().contains("declared JPEG but the bytes are PNG"), e.getMessage());
  }

  @Test
  void wrongRgbLengthAndMissingSizeAreInvalid() {
    InvalidImageException e = assertThrows(InvalidImageException.class,
        () -> preprocessor.toModelInput(ImageFormat.RGB8, new byte[100], 64, 64));
    assertEquals("image: RGB8 64x64 needs 12288 bytes, got 100", e.getMessage());
    assertThrows(InvalidImageException.class, () -> preprocessor.toModelInput(ImageFormat.RGB8, new byte[12], 0, 0));
  }

  @Test
  void otherSizesAreRefusedWhenResizingIsDisabled() {
    ImagePreprocessor strict = new ImagePreprocessor(64, 64, 1 << 20, false);
    InvalidImageException e = assertThrows(InvalidImageException.class,
        () -> strict.toModelInput(ImageFormat.RGB8, new byte[32 * 32 * 3], 32, 32));
    assertEquals("image: 32x32 (expected: 64x64; resizing is disabled on this server)", e.getMessage());
  }

  @Test
  void bilinearDownscaleAveragesNeighbours() {
    byte[] src = new byte[2 * 1 * 3];
    src[0] = 0;
    src[3] = (byte) 200;
    byte[] out = ImagePreprocessor.resizeBilinear(src, 2, 1, 1, 1);
    assertEquals(100, out[0] & 0xff);
  }
}
