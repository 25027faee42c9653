package io.vlaserve.service;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.context.annotation.Bean;

/** Beans every vla-serve service gets by having this module on its class path. */
@AutoConfiguration
public class VlaServiceAutoConfiguration {
  @Bean
  GrpcServerPort grpcServerPort() {
    return new GrpcServerPort();
  }
}
