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
  void decodesBeyondThePixelBudgetWaitThenAreRefusedAndGoThroughOnceItIsReturned() throws Exception {
    // Room for two 64x64 frames; two leases held as two decodes in progress would hold them.
    PixelBudget budget = new PixelBudget(2 * 64 * 64, java.time.Duration.ZERO);
    ImagePreprocessor bounded = new ImagePreprocessor(64, 64, 1 << 20, true, budget);
    byte[] png = encode("png", 64, 64, 0x123456);
    PixelBudget.Lease first = budget.acquire(64 * 64, "held");
    assertEquals(64 * 64 * 3, bounded.toModelInput(ImageFormat.PNG, png, 0, 0).length, "one more fits");
    PixelBudget.Lease second = budget.acquire(64 * 64, "held");
    PixelBudget.ExhaustedException refused = assertThrows(PixelBudget.ExhaustedException.class,
        () -> bounded.toModelInput(ImageFormat.PNG, png, 0, 0));
    assertTrue(refused.getMessage().startsWith("image: decoding 64x64 PNG (4096 pixels) would exceed the budget of 8192"
        + " decoded pixels in flight"), refused.getMessage());
    assertEquals(8192, budget.inFlight(), "a refused decode leases nothing");
    first.close();
    first.close(); // returning a lease twice returns it once
    assertEquals(4096, budget.inFlight());
    assertEquals(64 * 64 * 3, bounded.toModelInput(ImageFormat.PNG, png, 0, 0).length, "returned pixels are reusable");
    assertEquals(4096, budget.inFlight(), "a finished decode returns its lease");
    second.close();
    // A frame larger than the whole budget asks for all of it, and decodes alone.
    assertEquals(64 * 64 * 3, bounded.toModelInput(ImageFormat.PNG, encode("png", 128, 128, 0), 0, 0).length);
    assertEquals(0, budget.inFlight());
  }

  @Test
  void aDecodeWaitingForThePixelBudgetGoesThroughWhenALeaseIsReturned() throws Exception {
    PixelBudget budget = new PixelBudget(64 * 64, java.time.Duration.ofMinutes(1));
    ImagePreprocessor bounded = new ImagePreprocessor(64, 64, 1 << 20, true, budget);
    byte[] png = encode("png", 64, 64, 0x123456);
    PixelBudget.Lease held = budget.acquire(64 * 64, "held");
    var decode = java.util.concurrent.CompletableFuture.supplyAsync(() -> bounded.toModelInput(ImageFormat.PNG, png, 0, 0));
    held.close(); // whether the decode already waits or not yet, it gets the budget
    assertEquals(64 * 64 * 3, decode.get(60, java.util.concurrent.TimeUnit.SECONDS).length);
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
    assertEquals("image: 32x32 (expected: 64x64; resizing is disabled for this camera or on this server)", e.getMessage());
  }

  @Test
  void bilinearDownscaleAveragesNeighbours() {
    byte[] src = new byte[2 * 1 * 3];
    src[0] = 0;
    src[3] = (byte) 200;
    byte[] out = ImagePreprocessor.resizeBilinear(src, 2, 1, 1, 1);
    assertEquals(100, out[0] & 0xff);
  }

  @Test
  void aCentreCropKeepsTheMiddleOfEveryFrameEvenOneAtTheInputSize() {
    // 10x10: a 2-pixel red border around a blue middle. Keeping 36% of the area is the middle 6x6.
    byte[] frame = new byte[10 * 10 * 3];
    for (int y = 0; y < 10; y++) {
      for (int x = 0; x < 10; x++) {
        boolean border = x < 2 || x >= 8 || y < 2 || y >= 8;
        frame[(y * 10 + x) * 3] = (byte) (border ? 255 : 0);
        frame[(y * 10 + x) * 3 + 2] = (byte) (border ? 0 : 255);
      }
    }
    ImagePreprocessor cropping = new ImagePreprocessor(10, 10, 1 << 20, true, PixelBudget.unlimited(), 0.36);
    byte[] out = cropping.toModelInput(ImageFormat.RGB8, frame, 10, 10);
    for (int p = 0; p < 100; p++) {
      assertEquals(0, out[p * 3], "no red left at pixel " + p);
      assertEquals((byte) 255, out[p * 3 + 2]);
    }
    assertArrayEquals(frame, new ImagePreprocessor(10, 10, 1 << 20, true).toModelInput(ImageFormat.RGB8, frame, 10, 10),
        "without a crop a frame at the input size is passed as it is");
    assertThrows(IllegalArgumentException.class, () -> new ImagePreprocessor(10, 10, 1, true, PixelBudget.unlimited(), 0));
  }

  @Test
  void aCameraThatTakesOnlyItsInputSizeRefusesOthersSayingSo() {
    ImagePreprocessor exact = new ImagePreprocessor(4, 4, 1 << 20, false);
    InvalidImageException e = assertThrows(InvalidImageException.class,
        () -> exact.toModelInput(ImageFormat.RGB8, new byte[8 * 8 * 3], 8, 8));
    assertTrue(e.getMessage().contains("8x8 (expected: 4x4; resizing is disabled"), e.getMessage());
  }
}
