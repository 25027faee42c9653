package io.vlaserve.pki;

import java.util.Arrays;
import java.util.Locale;

/**
 * What an identity is to the suite, the second segment of its URI ({@code spiffe://vla-serve/<role>/<name>}).
 * Services are both servers and clients; everyone else only dials.
 */
public enum Role {
  /** A robot; its name is its robot id. */
  ROBOT,
  /** A person or tool that may halt, resume and set safety limits. */
  OPERATOR,
  /** One of the suite's services; its name is the service's (e.g. {@code policy-service}). */
  SERVICE,
  /** May read state, nothing else. */
  VIEWER;

  /** The role as it appears in URIs and on the command line: {@code robot}, {@code operator}, ... */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether certificates for this role also serve (server auth) besides dialing (client auth). */
  public boolean serves() {
    return this == SERVICE;
  }

  /**
   * The role named {@code label}, case-insensitively.
   *
   * @throws IllegalArgumentException naming the roles there are
   */
  public static Role parse(String label) {
    for (Role role : values()) {
      if (role.label().equalsIgnoreCase(label)) {
        return role;
      }
    }
    throw new IllegalArgumentException("role \"" + label + "\" (expected one of: "
        + String.join(", ", Arrays.stream(values()).map(Role::label).toList()) + ")");
  }
}
