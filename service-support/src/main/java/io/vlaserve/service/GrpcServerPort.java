package io.vlaserve.service;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.grpc.server.lifecycle.GrpcServerStartedEvent;

/**
 * The port the gRPC server actually bound (useful with {@code spring.grpc.server.port=0}); logged
 * once at start-up so operators and launch scripts see where to connect.
 */

public class GrpcServerPort {
  private static final Logger log = LoggerFactory.getLogger(GrpcServerPort.class);
  private final CompletableFuture<Integer> port = new CompletableFuture<>();

  @EventListener
  void onStarted(GrpcServerStartedEvent event) {
    if (event.getPort() > 0) {
      log.info("gRPC server listening on {}:{}", event.getAddress(), event.getPort());
      port.complete(event.getPort());
    }
  }

  /** Blocks until the server has started, at most {@code timeoutSeconds}. */
  public int await(long timeoutSeconds) {
    try {
      return port.get(timeoutSeconds, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("gRPC server did not start within " + timeoutSeconds + " s", e);
    }
  }
}
