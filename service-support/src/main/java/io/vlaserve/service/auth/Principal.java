package io.vlaserve.service.auth;

import io.grpc.Context;
import java.util.regex.Pattern;

/**
 * Who is calling, as authenticated from a client certificate or a bearer token: a role and a name
 * (a robot's id, a service's or an operator's name). Under {@code vla.tls.insecure=true} nobody is
 * authenticated and every caller is {@link #insecure()}, allowed everything. Immutable.
 *
 * @param role what the caller may do; null only for the insecure caller
 * @param name the robot id for robots, else a service, operator or viewer name
 * @param credential how it was established: "certificate", "token" or "insecure"
 */
public record Principal(Role role, String name, String credential) {
  /** Names in identities: what a robot id may be, and nothing a log line or a URI would misread. */
  static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  static final Context.Key<Principal> KEY = Context.key("vla-principal");
  private static final Principal INSECURE = new Principal(null, "insecure", "insecure");

  /** The caller of every call under {@code vla.tls.insecure=true}: unauthenticated, unrestricted. */
  public static Principal insecure() {
    return INSECURE;
  }

  /**
   * An authenticated caller.
   *
   * @throws IllegalArgumentException when the name is not a valid identity name
   */
  public static Principal of(Role role, String name, String credential) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("name \"" + abbreviate(name) + "\" (expected 1-128 of A-Z a-z 0-9 . _ -,"
          + " starting with a letter or digit)");
    }
    return new Principal(role, name, credential);
  }

  /** Whether this is the unauthenticated caller of an insecure service. */
  public boolean isInsecure() {
    return role == null;
  }

  /** The caller of the current gRPC call, or null outside one (or before authentication). */
  public static Principal current() {
    return KEY.get();
  }

  /** "robot/arm-1", or "insecure". */
  @Override
  public String toString() {
    return role == null ? name : role.wireName() + "/" + name;
  }

  static String abbreviate(String value) {
    if (value == null) {
      return "";
    }
    return value.length() <= 64 ? value : value.substring(0, 64) + "...";
  }
}
