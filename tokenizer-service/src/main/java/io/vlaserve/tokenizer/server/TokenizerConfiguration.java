package io.vlaserve.tokenizer.server;

import io.vlaserve.tokenizer.DatasetStatistics;
import io.vlaserve.tokenizer.ProfileRegistry;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Builds the profile registry once at start-up; a bad profile file stops the service with its error. */
@Configuration(proxyBeanMethods = false)
class TokenizerConfiguration {
  private static final Logger log = LoggerFactory.getLogger(TokenizerConfiguration.class);

  @Bean
  ProfileRegistry profileRegistry(TokenizerProperties properties) {
    ProfileRegistry registry = ProfileRegistry.withBuiltins();
    for (Path dir : properties.profileDirs()) {
      registry.addDirectory(dir);
    }
    for (Path file : properties.statsFiles()) {
      registry.addStatistics(DatasetStatistics.read(file), properties.openvlaBins(), properties.openvlaVocabSize());
    }
    log.info("Loaded {} action profiles: {}", registry.names().size(), registry.names());
    return registry;
  }
}
