package io.vlaserve.policy.model;

/** A model package is missing a file or its manifest is malformed; the message says which and why. */
public class InvalidModelPackageException extends RuntimeException {
  public InvalidModelPackageException(String message) {
    super(message);
  }

  public InvalidModelPackageException(String message, Throwable cause) {
    super(message, cause);
  }
}
