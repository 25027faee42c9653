package io.vlaserve.service.auth;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * The HTTP side of {@link AuthorizationInterceptor}: the same credentials (bearer token, or the TLS
 * client certificate the HTTPS port asks for with {@code client-auth=want}) and {@link AccessTable}'s
 * HTTP rows. Refusals are 401/403 with the JSON body the endpoints use for errors
 * ({@code {"status": "UNAUTHENTICATED", "error": "..."}}). An endpoint acting for a robot checks the
 * robot id it reads against {@link #principal(ServletRequest)} with {@link #foreignRobot}. Paths
 * without a row need an authenticated caller of any role (they are Spring's 404s). Thread-safe.
 */
public final class HttpAuthorizationFilter implements Filter {
  private static final String PRINCIPAL = Principal.class.getName();
  private static final String CERTIFICATES = "jakarta.servlet.request.X509Certificate";

  private final Authenticator authenticator;

  /** @param authenticator null for an insecure service: every caller is {@link Principal#insecure()} */
  public HttpAuthorizationFilter(Authenticator authenticator) {
    this.authenticator = authenticator;
  }

  /** The caller of an HTTP request that passed this filter, or null. */
  public static Principal principal(ServletRequest request) {
    return request.getAttribute(PRINCIPAL) instanceof Principal principal ? principal : null;
  }

  /**
   * Why {@code principal} may not act for {@code robotId}, if it may not: a robot only for itself
   * (an empty id is the caller's own).
   */
  public static Optional<String> foreignRobot(Principal principal, String field, String robotId) {
    if (principal == null || principal.role() != Role.ROBOT || robotId == null || robotId.isEmpty()
        || robotId.equals(principal.name())) {
      return Optional.empty();
    }
    return Optional.of(field + " \"" + Principal.abbreviate(robotId) + "\" is not the authenticated robot \""
        + principal.name() + "\" (" + principal + ", by " + principal.credential() + "): a robot may act only for itself");
  }

  @Override
  public void doFilter(ServletRequest servletRequest, ServletResponse servletResponse, FilterChain chain)
      throws IOException, ServletException {
    HttpServletRequest request = (HttpServletRequest) servletRequest;
    HttpServletResponse response = (HttpServletResponse) servletResponse;
    if (authenticator == null) {
      request.setAttribute(PRINCIPAL, Principal.insecure());
      chain.doFilter(request, response);
      return;
    }
    String path = request.getServletPath() + (request.getPathInfo() == null ? "" : request.getPathInfo());
    Optional<AccessTable.Rule> rule = AccessTable.httpRule(request.getMethod(), path);
    Principal principal;
    try {
      principal = authenticator.authenticate(request.getHeader("Authorization"),
          request.getAttribute(CERTIFICATES) instanceof X509Certificate[] chainPresented ? chainPresented : null);
    } catch (AuthenticationException e) {
      if (rule.isPresent() && rule.get().open()) {
        chain.doFilter(request, response);
        return;
      }
      response.setHeader("WWW-Authenticate", "Bearer");
      refuse(response, HttpServletResponse.SC_UNAUTHORIZED, "UNAUTHENTICATED", e.getMessage());
      return;
    }
    if (rule.isPresent() && !rule.get().open() && !rule.get().roles().contains(principal.role())) {
      refuse(response, HttpServletResponse.SC_FORBIDDEN, "PERMISSION_DENIED", principal + " may not "
          + request.getMethod() + " " + Principal.abbreviate(path) + " (allowed: " + rule.get().describe() + ")");
      return;
    }
    request.setAttribute(PRINCIPAL, principal);
    chain.doFilter(request, response);
  }

  private static void refuse(HttpServletResponse response, int code, String status, String message) throws IOException {
    response.setStatus(code);
    response.setContentType("application/json");
    byte[] body = ("{\"status\": \"" + status + "\", \"error\": \"" + json(message) + "\"}")
        .getBytes(StandardCharsets.UTF_8);
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }

  private static String json(String text) {
    StringBuilder escaped = new StringBuilder(text.length() + 8);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> escaped.append("\\\"");
        case '\\' -> escaped.append("\\\\");
        default -> {
          if (c < 0x20) {
            escaped.append(String.format("\\u%04x", (int) c));
          } else {
            escaped.append(c);
          }
        }
      }
    }
    return escaped.toString();
  }
}
