package io.vlaserve.planner.gateway;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The planner gateway: {@code vla.planner.v1} over gRPC, health and metrics over HTTP. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class PlannerGatewayApplication {
  public static void main(String[] args) {
    SpringApplication.run(PlannerGatewayApplication.class, args);
  }
}
