package io.vlaserve.tokenizer.server;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The tokenizer service: {@code vla.tokenizer.v1} over gRPC, health and metrics over HTTP. */
@SpringBootApplication(scanBasePackages = {"io.vlaserve.tokenizer.server"})
@ConfigurationPropertiesScan
public class TokenizerServiceApplication {
  public static void main(String[] args) {
    SpringApplication.run(TokenizerServiceApplication.class, args);
  }
}
