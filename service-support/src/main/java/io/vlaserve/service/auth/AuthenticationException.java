package io.vlaserve.service.auth;

/** A credential was missing or refused; the message says which and why, for the caller. */
public final class AuthenticationException extends RuntimeException {
  public AuthenticationException(String message) {
    super(message, null, false, false);
  }
}
