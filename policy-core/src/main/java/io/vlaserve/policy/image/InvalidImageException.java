package io.vlaserve.policy.image;

/** A frame cannot be used: over the byte limit, corrupt, the wrong size, or an unknown encoding. */
public class InvalidImageException extends IllegalArgumentException {
  public InvalidImageException(String message) {
    super(message);
  }
}
