package io.vlaserve.service;

import io.opentelemetry.exporter.logging.LoggingSpanExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.grpc.ServerServiceDefinition;
import io.vlaserve.service.audit.CallerAddress;
import io.vlaserve.service.auth.AccessControl;
import io.vlaserve.service.auth.AccessTable;
import io.vlaserve.service.auth.AuthProperties;
import io.vlaserve.service.auth.AuthorizationInterceptor;
import io.vlaserve.service.auth.HttpAuthorizationFilter;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import io.vlaserve.service.inbound.InboundGuard;
import io.vlaserve.service.inbound.InboundProperties;
import io.vlaserve.service.inbound.NettyRejectionFilter;
import io.vlaserve.service.inbound.RejectedInputLog;
import io.vlaserve.service.tls.TlsProperties;
import io.vlaserve.service.tls.TransportSecurity;
import io.vlaserve.service.tracing.TracingProperties;
import io.vlaserve.service.tracing.VlaTracing;
import org.springframework.beans.factory.ObjectProvider;
import io.grpc.ServerBuilder;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.autoconfigure.ssl.SslBundleRegistrar;
import org.springframework.grpc.server.ServerBuilderCustomizer;
import org.springframework.grpc.server.service.GrpcServiceConfigurer;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.grpc.server.GlobalServerInterceptor;

/** Beans every vla-serve service gets by having this module on its class path. */
@AutoConfiguration
@EnableConfigurationProperties({TracingProperties.class, InboundProperties.class, TlsProperties.class,
    AuthProperties.class})
public class VlaServiceAutoConfiguration {
  /**
   * Warms the service's {@link io.vlaserve.service.warmup.WarmUpTask}s before it reports SERVING
   * ({@code vla.warm-up.rounds}, default 50 per task; {@code vla.warm-up.budget}, default 5 s per
   * task; rounds 0 skips it). Its health indicator is "warmUp".
   */
  @Bean("warmUp")
  io.vlaserve.service.warmup.WarmUp warmUp(ObjectProvider<io.vlaserve.service.warmup.WarmUpTask> tasks,
      Environment environment) {
    return new io.vlaserve.service.warmup.WarmUp(tasks.orderedStream().toList(),
        environment.getProperty("vla.warm-up.rounds", Integer.class, 50),
        environment.getProperty("vla.warm-up.budget", java.time.Duration.class, java.time.Duration.ofSeconds(5)));
  }

  /** The one rate-limited log line for refused input, shared by the guard and the transport's filter. */
  @Bean
  @ConditionalOnMissingBean
  RejectedInputLog rejectedInputLog(InboundProperties properties) {
    return new RejectedInputLog(properties.rejectedLogInterval());
  }

  @Bean(destroyMethod = "close")
  NettyRejectionFilter nettyRejectionFilter(RejectedInputLog rejected) {
    return new NettyRejectionFilter(rejected);
  }

  /**
   * Every service the gRPC server is given passes through {@link InboundGuard} (outermost, after its
   * interceptors are bound): unparseable requests are INVALID_ARGUMENT, status descriptions are bounded.
   */
  @Bean
  static BeanPostProcessor inboundGuardingServiceConfigurer(ObjectProvider<RejectedInputLog> rejected,
      ObjectProvider<InboundProperties> properties) {
    return new BeanPostProcessor() {
      @Override
      public Object postProcessAfterInitialization(Object bean, String name) {
        if (!(bean instanceof GrpcServiceConfigurer configurer)) {
          return bean;
        }
        return (GrpcServiceConfigurer) (spec, factory) -> {
          ServerServiceDefinition configured = configurer.configure(spec, factory);
          AuthorizationInterceptor.checkCovers(AccessTable.GRPC, configured);
          return new InboundGuard(rejected.getObject(), properties.getObject().maxStatusDescription())
              .guard(configured);
        };
      }
    };
  }

  /** TLS per {@code vla.tls.*} (or plaintext), for the gRPC servers and the channels to other services. */
  @Bean(destroyMethod = "close")
  TransportSecurity transportSecurity(TlsProperties properties) {
    return TransportSecurity.start(properties);
  }

  /**
   * The {@code vla-grpc} SSL bundle that Spring's gRPC server uses when {@code vla.tls.certificate}
   * is set ({@link io.vlaserve.service.tls.TlsEnvironmentPostProcessor} points it there).
   */
  @Bean
  SslBundleRegistrar vlaGrpcSslBundle(TransportSecurity security) {
    return registry -> {
      if (security.tls()) {
        TransportSecurity.registerGrpcBundle(registry, security);
      }
    };
  }

  /** With {@code vla.tls.insecure=true}, the per-connection plaintext warning on the gRPC server. */
  @Bean
  <T extends ServerBuilder<T>> ServerBuilderCustomizer<T> insecureTransportWarning(TransportSecurity security,
      Environment environment) {
    String name = "gRPC port " + environment.getProperty("spring.grpc.server.port", "9090");
    return builder -> security.configure(builder, name);
  }

  @Bean
  GrpcServerPort grpcServerPort() {
    return new GrpcServerPort();
  }

  /**
   * Who is calling, from a client certificate or bearer token, when the service runs TLS; nobody
   * under {@code vla.tls.insecure=true} (then every caller is {@link io.vlaserve.service.auth.Principal#insecure()}).
   */
  @Bean
  AccessControl accessControl(TransportSecurity security, AuthProperties properties) {
    return AccessControl.start(security.tls(), properties);
  }

  /** Authentication and authorization of every gRPC call, first of the interceptors. */
  @Bean
  @GlobalServerInterceptor
  @Order(Ordered.HIGHEST_PRECEDENCE)
  AuthorizationInterceptor authorizationInterceptor(AccessControl access) {
    return access.grpcInterceptor();
  }

  /** The caller's address for the audit trail, on every gRPC call. */
  @Bean
  @GlobalServerInterceptor
  CallerAddress callerAddress() {
    return new CallerAddress();
  }

  /** Authentication and authorization of the HTTP port (actuator, /act), with the gRPC ports' table. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "jakarta.servlet.Filter")
  static class HttpAccessControl {
    @Bean
    @Order(Ordered.HIGHEST_PRECEDENCE)
    HttpAuthorizationFilter httpAuthorizationFilter(AccessControl access) {
      return access.httpFilter();
    }
  }

  /**
   * Tracing per {@code vla.tracing.*}; a {@link SpanExporter} bean (e.g. an in-memory one in a
   * test) takes precedence over the configured exporter.
   */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  VlaTracing vlaTracing(TracingProperties properties, Environment environment, ObjectProvider<SpanExporter> exporters) {
    String service = environment.getProperty("spring.application.name", "vla-serve");
    SpanExporter given = exporters.getIfAvailable();
    if (given != null) {
      return new VlaTracing(service, given, false, properties.sampleRatio());
    }
    SpanExporter exporter = switch (properties.exporter()) {
      case "logging" -> LoggingSpanExporter.create();
      case "otlp" -> OtlpHttpSpanExporter.builder().setEndpoint(properties.otlpEndpoint()).build();
      default -> null;
    };
    // The logging exporter writes each span as it ends, so it can be followed (and tested) live.
    return new VlaTracing(service, exporter, !properties.exporter().equals("logging"), properties.sampleRatio());
  }
}
