package io.vlaserve.policy.image;

/** How an incoming frame's bytes are encoded. */
public enum ImageFormat {
  /** 8-bit RGB, row-major, no padding. */
  RGB8,
  JPEG,
  PNG
}
