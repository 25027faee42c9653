package io.vlaserve.controller.server;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import io.vlaserve.service.audit.CallerAddress;
import io.vlaserve.service.auth.AuthorizationInterceptor;
import io.vlaserve.service.inbound.InboundGuard;
import io.vlaserve.service.inbound.InboundProperties;
import io.vlaserve.service.inbound.RejectedInputLog;
import io.vlaserve.service.tls.TransportSecurity;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The robots' way in: {@code vla.controller.v1.RobotAgentLink} on a gRPC server and port of its
 * own ({@code vla.controller.agent-port}), apart from the {@code ControllerBridge} API (Execute,
 * Halt, Resume, SetSafetyLimits) on the main port. Robots sit outside the cluster; the admin API
 * must not: with two ports a NetworkPolicy and a LoadBalancer can expose exactly the agent link
 * (k8s/base/controller-bridge.yaml, checked by deploy-tests).
 *
 * <p>Keepalive: pings a connection quiet for 10 s and drops it when no answer comes within 5 s,
 * so a half-open link (the robot's host vanished) is torn down; accepts robots' pings down to every
 * 10 s. Messages are small (hello, state, refusals): inbound messages are bounded to 64 KiB.
 *
 * <p>Transport security: the same as the main port's, from {@code vla.tls.*}
 * ({@link TransportSecurity}: TLS with the reloading certificate and {@code vla.tls.client-auth},
 * or plaintext), and the same access control ({@link AuthorizationInterceptor}: only robots, each
 * only as itself).
 *
 * <p>Lifecycle: starts before the robot fleet and stops after it, so that a stopping fleet can
 * still tell remote robots to hold. Thread-safe.
 */
@Component
public class AgentLinkServer implements SmartLifecycle {
  private static final Logger log = LoggerFactory.getLogger(AgentLinkServer.class);
  /** Before the fleet (RobotFleet.PHASE): started earlier, stopped later. */
  static final int PHASE = RobotFleet.PHASE - 1000;
  static final int MAX_INBOUND_MESSAGE_BYTES = 64 * 1024;

  private final ControllerProperties properties;
  private final RobotAgentLinkGrpcService service;
  private final InboundGuard guard;
  private final TransportSecurity security;
  private final AuthorizationInterceptor authorization;
  private volatile Server server;

  public AgentLinkServer(ControllerProperties properties, RobotFleet fleet, RejectedInputLog rejected,
      InboundProperties inbound, TransportSecurity security, AuthorizationInterceptor authorization) {
    this.properties = properties;
    this.authorization = authorization;
    this.security = security;
    this.service = new RobotAgentLinkGrpcService(fleet);
    // The same treatment of bad input as on the main port: unparseable -> INVALID_ARGUMENT, bounded
    // status descriptions, one rate-limited log line.
    this.guard = new InboundGuard(rejected, inbound.maxStatusDescription());
  }

  @Override
  public void start() {
    String address = properties.agentAddress();
    InetSocketAddress bind = address.isEmpty() ? new InetSocketAddress(properties.agentPort())
        : new InetSocketAddress(address, properties.agentPort());
    NettyServerBuilder builder = NettyServerBuilder.forAddress(bind, security.serverCredentials());
    security.configure(builder, "agent link port " + properties.agentPort());
    Server built = builder
        .addService(guard.guard(ServerInterceptors.intercept(service, new CallerAddress(), authorization)))
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .keepAliveTime(10, TimeUnit.SECONDS)
        .keepAliveTimeout(5, TimeUnit.SECONDS)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(false)
        .build();
    try {
      built.start();
    } catch (IOException e) {
      throw new UncheckedIOException("vla.controller.agent-port " + properties.agentPort() + " on "
          + (address.isEmpty() ? "every interface" : address) + ": cannot listen (" + e.getMessage() + ")", e);
    }
    server = built;
    log.info("Robot agent link listening on {} ({})", built.getListenSockets(), security.tls() ? "TLS" : "plaintext");
  }

  /**
   * Takes no new agents from now on (the listening socket closes; links already up go on): an agent
   * that reconnects then reaches another bridge, not this one, which is going away.
   */
  void stopAccepting() {
    Server running = server;
    if (running != null) {
      running.shutdown();
    }
  }

  @Override
  public void stop() {
    Server running = server;
    if (running == null) {
      return;
    }
    running.shutdown();
    try {
      if (!running.awaitTermination(5, TimeUnit.SECONDS)) {
        running.shutdownNow();
      }
    } catch (InterruptedException e) {
      running.shutdownNow();
      Thread.currentThread().interrupt();
    }
    server = null;
  }

  @Override
  public boolean isRunning() {
    return server != null;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }

  /** Returns the port the agent link listens on (the configured one, or the one chosen for port 0). */
  public int port() {
    Server running = server;
    if (running == null) {
      throw new IllegalStateException("the agent link server is not running");
    }
    return running.getPort();
  }
}
