package io.vlaserve.policy.server;

import com.google.common.util.concurrent.MoreExecutors;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.boot.grpc.server.autoconfigure.GrpcServerExecutorProvider;
import org.springframework.context.annotation.Bean;

/** The policy service: {@code vla.policy.v1} over gRPC, health and metrics over HTTP. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class PolicyServiceApplication {
  public static void main(String[] args) {
    SpringApplication.run(PolicyServiceApplication.class, args);
  }

  /**
   * gRPC calls run on the transport's event loop that read them, not on a thread pool: handing every
   * call (and every session message) to a pool thread cost a wake-up of that thread, 0.05–0.2 ms per
   * call on 2 cores (docs/benchmarks.md, issue 17 item 5). Nothing this server runs blocks: the policy
   * calls queue work and return (frames to decode go to a worker, see {@link PolicyFrontDoor}), health
   * and reflection answer from memory, the interceptors check credentials in memory.
   */
  @Bean
  GrpcServerExecutorProvider grpcCallsOnTheEventLoop() {
    return MoreExecutors::directExecutor;
  }
}
