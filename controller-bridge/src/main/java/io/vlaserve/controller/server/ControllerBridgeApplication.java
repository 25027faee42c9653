package io.vlaserve.controller.server;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The controller bridge: {@code vla.controller.v1} over gRPC, health and metrics over HTTP. */
@SpringBootApplication(scanBasePackages = {"io.vlaserve.controller.server"})
@ConfigurationPropertiesScan
public class ControllerBridgeApplication {
  public static void main(String[] args) {
    SpringApplication.run(ControllerBridgeApplication.class, args);
  }
}
