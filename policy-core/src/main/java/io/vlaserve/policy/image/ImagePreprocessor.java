package io.vlaserve.policy.image;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Turns an incoming frame (RGB8, JPEG or PNG) into the model's RGB8 input at its size. Limits are
 * checked before any decoding work: the byte limit first, then for JPEG/PNG the header's
 * dimensions (so a small file that would decode into a huge bitmap is refused), then the decode.
 * Frames of another size are resized bilinearly when resizing is allowed. A {@link PixelBudget} bounds
 * the pixels decoded at once over all threads: a decode leases its frame's pixels after the header
 * check and before it allocates. Thread-safe.
 */
public final class ImagePreprocessor {
  /** Largest width or height a compressed frame may declare; beyond it decoding is refused. */
  public static final int MAX_DECODED_SIDE = 4096;

  private final int width;
  private final int height;
  private final long maxBytes;
  private final boolean resizeAllowed;
  private final PixelBudget budget;
  /** Fraction of the frame's area kept by a centred crop before resizing; 1 keeps it whole. */
  private final double centerCrop;

  /** A preprocessor whose decodes are not bounded together (each still is, by {@link #MAX_DECODED_SIDE}). */
  public ImagePreprocessor(int width, int height, long maxBytes, boolean resizeAllowed) {
    this(width, height, maxBytes, resizeAllowed, PixelBudget.unlimited());
  }

  /**
   * @param budget decoded pixels in flight over all concurrent JPEG/PNG decodes; leased after the header is
   *     read and before anything is decoded
   */
  public ImagePreprocessor(int width, int height, long maxBytes, boolean resizeAllowed, PixelBudget budget) {
    this(width, height, maxBytes, resizeAllowed, budget, 1);
  }

  /**
   * @param centerCrop fraction of every frame's area kept by a centred crop (same aspect ratio) before it
   *     is resized to the model's size, as models trained with random-crop augmentation expect (OpenVLA's
   *     fine-tunes: 0.9); 1 keeps the whole frame
   */
  public ImagePreprocessor(int width, int height, long maxBytes, boolean resizeAllowed, PixelBudget budget,
      double centerCrop) {
    if (!(centerCrop > 0 && centerCrop <= 1)) {
      throw new IllegalArgumentException("center crop " + centerCrop + " (expected: a fraction of the area, 0 < c <= 1)");
    }
    this.width = width;
    this.height = height;
    this.maxBytes = maxBytes;
    this.resizeAllowed = resizeAllowed;
    this.budget = budget;
    this.centerCrop = centerCrop;
  }

  public PixelBudget budget() {
    return budget;
  }

  public int width() {
    return width;
  }

  public int height() {
    return height;
  }

  public long maxBytes() {
    return maxBytes;
  }

  public boolean resizeAllowed() {
    return resizeAllowed;
  }

  /**
   * The frame as RGB8 at the model's size.
   *
   * @param declaredWidth the width the sender states (required for RGB8; checked against JPEG/PNG headers when non-zero)
   * @param declaredHeight likewise
   * @throws InvalidImageException saying what was wrong and what was expected
   */
  public byte[] toModelInput(ImageFormat format, byte[] data, int declaredWidth, int declaredHeight) {
    if (data == null || data.length == 0) {
      throw new InvalidImageException("image: empty (expected " + format + " bytes)");
    }
    if (data.length > maxBytes) {
      throw new InvalidImageException("image: " + data.length + " bytes (expected: at most " + maxBytes
          + "; send " + width + "x" + height + " RGB8 = " + (width * height * 3) + " bytes, or JPEG)");
    }
    return switch (format) {
      case RGB8 -> fromRgb(data, declaredWidth, declaredHeight);
      case JPEG, PNG -> fromCompressed(format, data, declaredWidth, declaredHeight);
    };
  }

  private byte[] fromRgb(byte[] data, int w, int h) {
    if (w <= 0 || h <= 0) {
      throw new InvalidImageException("image: RGB8 frame without width/height (expected: both > 0)");
    }
    if ((long) w * h * 3 != data.length) {
      throw new InvalidImageException("image: RGB8 " + w + "x" + h + " needs " + ((long) w * h * 3) + " bytes, got "
          + data.length);
    }
    return fit(data, w, h);
  }

  private byte[] fromCompressed(ImageFormat format, byte[] data, int declaredWidth, int declaredHeight) {
    try (ImageInputStream input = ImageIO.createImageInputStream(new ByteArrayInputStream(data))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
      if (!readers.hasNext()) {
        throw new InvalidImageException("image: not a readable " + format + " file (corrupt or another format)");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(input, true, true);
        String actual = reader.getFormatName().toUpperCase(java.util.Locale.ROOT);
        if (!actual.contains(format == ImageFormat.JPEG ? "JPEG" : "PNG")) {
          throw new InvalidImageException("image: declared " + format + " but the bytes are " + actual);
        }
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        if (w > MAX_DECODED_SIDE || h > MAX_DECODED_SIDE) {
          throw new InvalidImageException("image: " + w + "x" + h + " (expected: at most " + MAX_DECODED_SIDE
              + " per side; the model uses " + width + "x" + height + ")");
        }
        if ((declaredWidth > 0 && declaredWidth != w) || (declaredHeight > 0 && declaredHeight != h)) {
          throw new InvalidImageException("image: header says " + w + "x" + h + " but the message says "
              + declaredWidth + "x" + declaredHeight);
        }
        try (PixelBudget.Lease lease = budget.acquire((long) w * h, w + "x" + h + " " + format)) {
          BufferedImage image = reader.read(0);
          byte[] rgb = new byte[w * h * 3];
          for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
              int argb = image.getRGB(x, y);
              int i = (y * w + x) * 3;
              rgb[i] = (byte) (argb >> 16);
              rgb[i + 1] = (byte) (argb >> 8);
              rgb[i + 2] = (byte) argb;
            }
          }
          return fit(rgb, w, h);
        }
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof InvalidImageException invalid) {
        throw invalid;
      }
      if (e instanceof PixelBudget.ExhaustedException exhausted) {
        throw exhausted;
      }
      throw new InvalidImageException("image: corrupt " + format + " (" + e.getMessage() + ")");
    }
  }

  private byte[] fit(byte[] rgb, int w, int h) {
    if (w == width && h == height && centerCrop == 1) {
      return rgb;
    }
    if (w != width || h != height) {
      if (!resizeAllowed) {
        throw new InvalidImageException("image: " + w + "x" + h + " (expected: " + width + "x" + height
            + "; resizing is disabled for this camera or on this server)");
      }
    }
    if (centerCrop < 1) {
      // The centred region with the frame's aspect ratio and centerCrop of its area.
      double side = Math.sqrt(centerCrop);
      int cw = Math.max(1, (int) Math.round(w * side));
      int ch = Math.max(1, (int) Math.round(h * side));
      int x0 = (w - cw) / 2;
      int y0 = (h - ch) / 2;
      byte[] crop = new byte[cw * ch * 3];
      for (int y = 0; y < ch; y++) {
        System.arraycopy(rgb, ((y0 + y) * w + x0) * 3, crop, y * cw * 3, cw * 3);
      }
      return resizeBilinear(crop, cw, ch, width, height);
    }
    return resizeBilinear(rgb, w, h, width, height);
  }

  /** Bilinear resampling with pixel centres aligned (as OpenCV's INTER_LINEAR). */
  static byte[] resizeBilinear(byte[] src, int sw, int sh, int dw, int dh) {
    byte[] out = new byte[dw * dh * 3];
    double sx = (double) sw / dw;
    double sy = (double) sh / dh;
    for (int y = 0; y < dh; y++) {
      double fy = Math.max(0, (y + 0.5) * sy - 0.5);
      int y0 = Math.min((int) fy, sh - 1);
      int y1 = Math.min(y0 + 1, sh - 1);
      double wy = fy - y0;
      for (int x = 0; x < dw; x++) {
        double fx = Math.max(0, (x + 0.5) * sx - 0.5);
        int x0 = Math.min((int) fx, sw - 1);
        int x1 = Math.min(x0 + 1, sw - 1);
        double wx = fx - x0;
        for (int c = 0; c < 3; c++) {
          double top = (src[(y0 * sw + x0) * 3 + c] & 0xff) * (1 - wx) + (src[(y0 * sw + x1) * 3 + c] & 0xff) * wx;
          double bottom = (src[(y1 * sw + x0) * 3 + c] & 0xff) * (1 - wx) + (src[(y1 * sw + x1) * 3 + c] & 0xff) * wx;
          out[(y * dw + x) * 3 + c] = (byte) Math.round(top * (1 - wy) + bottom * wy);
        }
      }
    }
    return out;
  }
}
