package io.vlaserve.service.auth;

import java.util.Locale;

/**
 * What an authenticated caller is, which decides what it may do ({@link AccessTable}). Carried in
 * a client certificate's URI SAN ({@code spiffe://vla-serve/robot/arm-1}) or a token's
 * {@code vla_role} claim, as the lower-case name.
 */
public enum Role {
  /** A robot: its own session, its own agent link, its own policy requests; nothing of other robots. */
  ROBOT,
  /** A person or tool running the fleet: halt any robot, resume, change safety limits, watch state. */
  OPERATOR,
  /** Another vla-serve service (the gateway calling policy-service and the bridge): on behalf of any robot. */
  SERVICE,
  /** Dashboards and Prometheus: state streams, limits, metrics; no commands. */
  VIEWER;

  /** The name in certificates and tokens. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses a {@link #wireName()}.
   *
   * @throws IllegalArgumentException naming the value and the roles there are
   */
  public static Role fromWire(String name) {
    for (Role role : values()) {
      if (role.wireName().equals(name)) {
        return role;
      }
    }
    throw new IllegalArgumentException("role \"" + Principal.abbreviate(name)
        + "\" (expected one of: robot, operator, service, viewer)");
  }
}
