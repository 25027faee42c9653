package io.vlaserve.skills;

import java.util.Locale;

/**
 * The colour, and so the identity, of a block: a world holds at most one block of each colour.
 *
 * <p>Immutable and thread-safe.
 */
public enum BlockColor {
  RED,
  GREEN,
  BLUE,
  YELLOW;

  /** Returns the lower-case English word used in instructions, e.g. {@code "red"}. */
  public String word() {
    return name().toLowerCase(Locale.ROOT);
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
