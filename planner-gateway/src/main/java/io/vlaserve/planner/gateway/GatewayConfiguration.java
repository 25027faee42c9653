package io.vlaserve.planner.gateway;

import io.vlaserve.proto.ProtoTimes;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.vlaserve.planner.ConcurrencyLimitedPlanner;
import io.vlaserve.planner.EmbeddedPlanner;
import io.vlaserve.planner.OpenAiChatPlanner;
import io.vlaserve.planner.OpenAiPlannerConfig;
import io.vlaserve.planner.Planner;
import io.vlaserve.service.tls.TransportSecurity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Channels to the services and the configured planner. */
@Configuration(proxyBeanMethods = false)
public class GatewayConfiguration {
  private static final Logger log = LoggerFactory.getLogger(GatewayConfiguration.class);

  /** Channels to policy-service and to the controller bridges; closed with the context. */
  public record ServiceChannels(ManagedChannel policy, BridgeShards bridges) implements AutoCloseable {
    /** One bridge driving every robot. */
    ServiceChannels(ManagedChannel policy, ManagedChannel controller) {
      this(policy, BridgeShards.single("controller", controller));
    }

    @Override
    public void close() throws InterruptedException {
      policy.shutdown();
      bridges.close();
      policy.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * The channels use this service's {@code vla.tls.*}: with a certificate, mutual TLS (the
   * gateway's certificate presented, the service's checked against {@code vla.tls.trust} and the
   * target's host name); without one, plaintext as before. With {@code vla.gateway.controller-shards}
   * one channel per bridge, robots routed to the bridge that drives them; else the one
   * {@code controller-target}.
   */
  @Bean
  ServiceChannels serviceChannels(GatewayProperties properties, TransportSecurity security) {
    ChannelCredentials credentials = security.channelCredentials();
    List<String> targets = properties.controllerShards().isEmpty() ? List.of(properties.controllerTarget())
        : properties.controllerShards();
    List<BridgeShards.Shard> shards = new ArrayList<>();
    for (String target : targets) {
      shards.add(new BridgeShards.Shard(target, channel(target, credentials)));
    }
    if (shards.size() > 1) {
      log.info("controller bridges: {} shards {}; each robot is driven through the one that knows it", shards.size(),
          targets);
    }
    return new ServiceChannels(channel(properties.policyTarget(), credentials), new BridgeShards(shards));
  }

  /**
   * Round-robin over every address the target resolves to (a headless Service's pods), with
   * keepalive so a dead peer is noticed within seconds, not at the next TCP timeout.
   */
  private static ManagedChannel channel(String target, ChannelCredentials credentials) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(target, credentials)
        .defaultLoadBalancingPolicy("round_robin")
        .keepAliveTime(10, TimeUnit.SECONDS)
        .keepAliveTimeout(5, TimeUnit.SECONDS)
        .keepAliveWithoutCalls(true)
        .maxInboundMessageSize(16 * 1024 * 1024)
        .build();
    // Connect now, not at the first session: a replica that has just started (a rolling update's new
    // pod) takes robots handed over from the old one, and each would otherwise wait for the handshakes.
    channel.getState(true);
    return channel;
  }

  /** The configured planner, at most {@code vla.gateway.quota.max-concurrent-plans} plans at once. */
  @Bean
  Planner planner(GatewayProperties properties) {
    return new ConcurrencyLimitedPlanner(configuredPlanner(properties), properties.quota().maxConcurrentPlans(),
        properties.quota().plannerWait());
  }

  private static Planner configuredPlanner(GatewayProperties properties) {
    GatewayProperties.Planner planner = properties.planner();
    return switch (planner.kind()) {
      case "embedded" -> new EmbeddedPlanner();
      case "openai" -> {
        GatewayProperties.OpenAi openai = planner.openai();
        if (openai.model().isBlank()) {
          throw new IllegalArgumentException("vla.gateway.planner.openai.model is empty: name the model the server"
              + " at " + openai.baseUrl() + " serves (e.g. the vLLM --served-model-name)");
        }
        OpenAiPlannerConfig defaults = OpenAiPlannerConfig.of(openai.baseUrl(), openai.model());
        OpenAiPlannerConfig config = new OpenAiPlannerConfig(openai.baseUrl(), openai.model(), openai.apiKey(),
            openai.requestTimeout(), openai.connectTimeout(), openai.maxAttempts(), defaults.initialBackoff(),
            defaults.maxBackoff(), openai.maxCorrections(), 0, openai.jsonResponseFormat(), 0);
        log.info("planner: OpenAI-compatible chat completions at {} (model {}, key {})", openai.baseUrl(),
            openai.model(), openai.apiKey().isEmpty() ? "none" : "set");
        yield new OpenAiChatPlanner(config);
      }
      default -> throw new IllegalArgumentException("vla.gateway.planner.kind: '" + planner.kind()
          + "' (expected embedded or openai)");
    };
  }

  static Duration of(com.google.protobuf.Duration duration) {
    return ProtoTimes.javaDuration(duration);
  }
}
