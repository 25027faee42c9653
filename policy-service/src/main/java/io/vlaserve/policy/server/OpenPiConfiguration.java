package io.vlaserve.policy.server;

import io.vlaserve.service.auth.HttpAuthorizationFilter;
import java.util.Map;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.server.ServerHttpRequest;
import org.springframework.http.server.ServerHttpResponse;
import org.springframework.http.server.ServletServerHttpRequest;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.socket.WebSocketHandler;
import org.springframework.web.socket.config.annotation.EnableWebSocket;
import org.springframework.web.socket.config.annotation.WebSocketConfigurer;
import org.springframework.web.socket.config.annotation.WebSocketHandlerRegistry;
import org.springframework.web.socket.server.HandshakeInterceptor;

/**
 * openpi's protocol on the HTTP port ({@code vla.policy.openpi.*}): the WebSocket at {@code /},
 * where openpi's client dials {@code ws://host:port}, and openpi's {@code GET /healthz}. A handshake while the model is
 * not ready, or beyond {@code max-connections}, is refused with 503 saying why.
 */
@Configuration(proxyBeanMethods = false)
@EnableWebSocket
@ConditionalOnProperty(name = "vla.policy.openpi.enabled", havingValue = "true", matchIfMissing = true)
class OpenPiConfiguration implements WebSocketConfigurer {
  /** Where the WebSocket is: the root, as openpi's client dials it (AccessTable's "GET /" row). */
  static final String PATH = "/";

  private final PolicyFrontDoor door;
  private final PolicyProperties properties;
  private final OpenPiPolicyEndpoint endpoint;

  OpenPiConfiguration(PolicyFrontDoor door, PolicyMetrics metrics, PolicyProperties properties) {
    this.door = door;
    this.properties = properties;
    this.endpoint = new OpenPiPolicyEndpoint(door, metrics, properties);
  }

  @Bean
  OpenPiPolicyEndpoint openPiPolicyEndpoint() {
    return endpoint;
  }

  @Override
  public void registerWebSocketHandlers(WebSocketHandlerRegistry registry) {
    // Robots are not browsers: they send no Origin, which the default same-origin check lets through.
    registry.addHandler(endpoint, PATH).addInterceptors(new HandshakeInterceptor() {
      @Override
      public boolean beforeHandshake(ServerHttpRequest request, ServerHttpResponse response, WebSocketHandler handler,
          Map<String, Object> attributes) {
        if (!door.ready()) {
          refuse(response, door.notReady().getMessage());
          return false;
        }
        int limit = properties.openpi().maxConnections();
        if (endpoint.connections() >= limit) {
          refuse(response, "too many openpi connections: " + endpoint.connections() + " open (at most " + limit
              + ", vla.policy.openpi.max-connections); retry later or use another replica");
          return false;
        }
        if (request instanceof ServletServerHttpRequest servlet) {
          var caller = HttpAuthorizationFilter.principal(servlet.getServletRequest());
          if (caller != null) {
            attributes.put(OpenPiPolicyEndpoint.PRINCIPAL, caller);
          }
        }
        return true;
      }

      @Override
      public void afterHandshake(ServerHttpRequest request, ServerHttpResponse response, WebSocketHandler handler,
          Exception exception) {}
    });
  }

  private static void refuse(ServerHttpResponse response, String why) {
    response.setStatusCode(HttpStatus.SERVICE_UNAVAILABLE);
    response.getHeaders().setContentType(MediaType.TEXT_PLAIN);
    try {
      response.getBody().write(why.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      // The status says it.
    }
  }

  /** openpi's health check: 200 "OK" once inference is answered, else 503 with why. */
  @RestController
  static class OpenPiHealth {
    private final PolicyFrontDoor door;

    OpenPiHealth(PolicyFrontDoor door) {
      this.door = door;
    }

    @GetMapping(path = "/healthz")
    ResponseEntity<String> healthz() {
      return door.ready()
          ? ResponseEntity.ok().contentType(MediaType.TEXT_PLAIN).body("OK\n")
          : ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).contentType(MediaType.TEXT_PLAIN)
              .body(door.notReady().getMessage() + "\n");
    }
  }
}
