package io.vlaserve.service.tls;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Turns {@code vla.tls.*} into the Spring Boot settings that carry it, so a service is configured
 * in one place: the gRPC server's SSL bundle ({@code spring.grpc.server.ssl.bundle=vla-grpc},
 * registered by {@link TransportSecurity} with grpc-java's reloading managers) and client auth, and
 * the HTTP port's PEM bundle ({@code spring.ssl.bundle.pem.vla-http.*} with
 * {@code reload-on-update}, {@code server.ssl.bundle=vla-http}). Added last: explicit Spring
 * settings win. Runs after the configuration files and command line are read, so those, system
 * properties and environment variables ({@code VLA_TLS_CERTIFICATE}) count; a test's
 * {@code @DynamicPropertySource} comes too late.
 */
public class TlsEnvironmentPostProcessor implements EnvironmentPostProcessor, Ordered {
  static final String GRPC_BUNDLE = "vla-grpc";
  static final String HTTP_BUNDLE = "vla-http";

  @Override
  public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
    String certificate = environment.getProperty("vla.tls.certificate", "");
    if (certificate.isBlank()) {
      return;
    }
    Map<String, Object> derived = new LinkedHashMap<>();
    derived.put("spring.grpc.server.ssl.bundle", GRPC_BUNDLE);
    derived.put("spring.grpc.server.ssl.client-auth", environment.getProperty("vla.tls.client-auth", "optional"));
    if (environment.getProperty("vla.tls.http", Boolean.class, true)) {
      String pem = "spring.ssl.bundle.pem." + HTTP_BUNDLE + ".";
      derived.put(pem + "keystore.certificate", "file:" + certificate);
      derived.put(pem + "keystore.private-key", "file:" + environment.getProperty("vla.tls.private-key", ""));
      String trust = environment.getProperty("vla.tls.trust", "");
      if (!trust.isBlank()) {
        derived.put(pem + "truststore.certificate", "file:" + trust);
      }
      derived.put(pem + "reload-on-update", "true");
      derived.put("server.ssl.bundle", HTTP_BUNDLE);
      // Asked for, not required: health probes (kubelet) hold no certificate; the HTTP filter decides.
      derived.put("server.ssl.client-auth", "want");
    }
    environment.getPropertySources().addLast(new MapPropertySource("vla-tls", derived));
  }

  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }
}
