package io.vlaserve.service.auth;

import java.net.URI;
import java.net.URISyntaxException;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Establishes who a caller is from what the transport and the request carry: a bearer token if one
 * is sent ({@code Bearer <JWT>}, or {@code Api-Key <JWT>} as openpi's client sends its api_key;
 * verified by {@link TokenVerifier}), else the TLS client certificate's SPIFFE ID (a URI
 * SAN {@code spiffe://TRUST-DOMAIN/ROLE/NAME}; the certificate chain was already verified against
 * {@code vla.tls.trust} by the TLS handshake). Shared by gRPC and HTTP. Thread-safe.
 */
public final class Authenticator {
  /** The SAN type of a URI in {@link X509Certificate#getSubjectAlternativeNames()}. */
  private static final int URI_SAN = 6;
  private static final String BEARER = "Bearer ";
  private static final String API_KEY = "Api-Key ";

  private final String trustDomain;
  private final TokenVerifier tokens;

  /**
   * @param trustDomain whose SPIFFE IDs count
   * @param tokens bearer token verification, or null when tokens are not accepted
   */
  public Authenticator(String trustDomain, TokenVerifier tokens) {
    if (trustDomain == null || !Principal.NAME.matcher(trustDomain).matches()) {
      throw new IllegalArgumentException("vla.auth.trust-domain=\"" + Principal.abbreviate(trustDomain)
          + "\" (expected: a name such as vla-serve)");
    }
    this.trustDomain = trustDomain;
    this.tokens = tokens;
  }

  /**
   * The caller of one request.
   *
   * @param authorization the {@code authorization} header, or null
   * @param peerCertificates the verified TLS client chain (leaf first), or null/empty when none was presented
   * @throws AuthenticationException when there is no usable credential, saying what to present
   */
  public Principal authenticate(String authorization, Certificate[] peerCertificates) {
    if (authorization != null) {
      // openpi's client sends its api_key as "Api-Key <key>": here the key is the robot's token.
      String scheme = authorization.regionMatches(true, 0, BEARER, 0, BEARER.length()) ? BEARER
          : authorization.regionMatches(true, 0, API_KEY, 0, API_KEY.length()) ? API_KEY : null;
      if (scheme == null) {
        throw new AuthenticationException("authorization header: not a bearer token (expected: \"Bearer <JWT>\", or"
            + " \"Api-Key <JWT>\" as openpi's client sends its api_key)");
      }
      if (tokens == null) {
        throw new AuthenticationException("bearer token: this service accepts no tokens (vla.auth.jwt.jwks is not"
            + " set); present a client certificate instead");
      }
      return tokens.verify(authorization.substring(scheme.length()).trim());
    }
    if (peerCertificates != null && peerCertificates.length > 0
        && peerCertificates[0] instanceof X509Certificate leaf) {
      return fromCertificate(leaf);
    }
    throw new AuthenticationException("no credential: present a client certificate with a URI SAN spiffe://"
        + trustDomain + "/<role>/<name>" + (tokens == null ? "" : " or an \"authorization: Bearer <JWT>\" header")
        + " (roles: robot, operator, service, viewer)");
  }

  /** The identity in a verified client certificate. */
  Principal fromCertificate(X509Certificate leaf) {
    List<String> ids = spiffeIds(leaf);
    String subject = Principal.abbreviate(leaf.getSubjectX500Principal().getName());
    if (ids.size() != 1) {
      throw new AuthenticationException("client certificate \"" + subject + "\": " + (ids.isEmpty()
          ? "no URI SAN spiffe://" + trustDomain + "/<role>/<name>"
          : ids.size() + " spiffe://" + trustDomain + " identities (expected exactly one)"));
    }
    URI id;
    try {
      id = new URI(ids.get(0));
    } catch (URISyntaxException e) {
      throw new AuthenticationException("client certificate \"" + subject + "\": URI SAN is not a URI");
    }
    String[] parts = id.getRawPath() == null ? new String[0] : id.getRawPath().split("/", -1);
    // "/robot/arm-1" splits into "", "robot", "arm-1".
    if (parts.length != 3 || id.getRawQuery() != null || id.getRawFragment() != null || id.getRawUserInfo() != null
        || id.getPort() != -1) {
      throw new AuthenticationException("client certificate \"" + subject + "\": " + Principal.abbreviate(ids.get(0))
          + " (expected: spiffe://" + trustDomain + "/<role>/<name>)");
    }
    try {
      return Principal.of(Role.fromWire(parts[1]), parts[2], "certificate");
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("client certificate \"" + subject + "\": " + e.getMessage());
    }
  }

  private List<String> spiffeIds(X509Certificate leaf) {
    Collection<List<?>> names;
    try {
      names = leaf.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return List.of();
    }
    List<String> ids = new ArrayList<>();
    if (names == null) {
      return ids;
    }
    String prefix = "spiffe://" + trustDomain + "/";
    for (List<?> name : names) {
      if (name.size() == 2 && Integer.valueOf(URI_SAN).equals(name.get(0)) && name.get(1) instanceof String uri
          && uri.regionMatches(true, 0, prefix, 0, prefix.length())) {
        ids.add(uri);
      }
    }
    return ids;
  }
}
