package io.vlaserve.sim;

import java.util.Locale;

/**
 * The colour, and so the identity, of a block: a world holds at most one block of each colour.
 *
 * <p>Immutable and thread-safe.
 */
public enum BlockColor {
  RED(220, 38, 38),
  GREEN(34, 170, 64),
  BLUE(40, 80, 225),
  YELLOW(245, 205, 25);

  private final int red;
  private final int green;
  private final int blue;

  BlockColor(int red, int green, int blue) {
    this.red = red;
    this.green = green;
    this.blue = blue;
  }

  /** Returns the lower-case English word used in instructions, e.g. {@code "red"}. */
  public String word() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Returns the 8-bit red component of the block's lit top face. */
  public int red() {
    return red;
  }

  /** Returns the 8-bit green component of the block's lit top face. */
  public int green() {
    return green;
  }

  /** Returns the 8-bit blue component of the block's lit top face. */
  public int blue() {
    return blue;
  }

  /**
   * Returns the colour named by {@code word} (case-insensitive).
   *
   * @throws IllegalArgumentException if the word names no colour
   */
  public static BlockColor fromWord(String word) {
    for (BlockColor color : values()) {
      if (color.word().equalsIgnoreCase(word.strip())) {
        return color;
      }
    }
    throw new IllegalArgumentException(
        "unknown colour '" + word + "' (expected one of: red, green, blue, yellow)");
  }
}
