package io.vlaserve.policy.server;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The policy service: {@code vla.policy.v1} over gRPC, health and metrics over HTTP. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class PolicyServiceApplication {
  public static void main(String[] args) {
    SpringApplication.run(PolicyServiceApplication.class, args);
  }
}
