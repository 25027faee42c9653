package io.vlaserve.pki;

import java.net.URI;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Who a certificate says its holder is: a role and a name, carried as the certificate's one URI
 * subject alternative name {@code spiffe://vla-serve/<role>/<name>}.
 *
 * @param role what the holder is to the suite
 * @param name a robot id, a service name, an operator's name; also the directory its files go in,
 *     so 1 to 63 characters of {@code A-Z a-z 0-9 . _ -}, starting with a letter or digit
 */
public record Identity(Role role, String name) {
  /** The trust domain of every identity here. */
  public static final String TRUST_DOMAIN = "vla-serve";

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

  public Identity {
    Objects.requireNonNull(role, "role");
    if (name == null || !NAME.matcher(name).matches() || name.equals("ca.crt") || name.equals("ca.key")) {
      throw new IllegalArgumentException("name \"" + name + "\" (expected: 1 to 63 characters of A-Z a-z 0-9 . _ -,"
          + " starting with a letter or digit, e.g. a robot id such as arm-3)");
    }
  }

  /** {@code spiffe://vla-serve/<role>/<name>}. */
  public URI uri() {
    return URI.create("spiffe://" + TRUST_DOMAIN + "/" + role.label() + "/" + name);
  }

  @Override
  public String toString() {
    return uri().toString();
  }
}
