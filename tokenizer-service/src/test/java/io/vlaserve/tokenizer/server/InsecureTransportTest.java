package io.vlaserve.tokenizer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.tokenizer.v1.ListProfilesRequest;
import io.vlaserve.tokenizer.v1.TokenizerServiceGrpc;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * {@code vla.tls.insecure=true} on the Spring-managed gRPC server: plaintext, one WARN at start and
 * one on each new connection's first call (the rate limit is off here: interval 0; its counting is
 * InsecureTransportWarningTest's).
 */
@ExtendWith(OutputCaptureExtension.class)
class InsecureTransportTest {
  @Test
  void explicitPlaintextWarnsAtStartAndOnEachNewConnectionsFirstCall(CapturedOutput output) throws Exception {
    try (ConfigurableApplicationContext app = new SpringApplicationBuilder(TokenizerServiceApplication.class).run(
        "--spring.grpc.server.port=0", "--spring.grpc.server.address=127.0.0.1",
        "--server.port=0", "--server.address=127.0.0.1",
        "--vla.tls.insecure=true", "--vla.tls.insecure-log-interval=0s")) {
      int port = app.getBean(GrpcServerPort.class).await(30);
      assertTrue(output.getAll().contains("vla.tls.insecure=true: this service's gRPC and HTTP ports and its channels"
          + " are plaintext"), "the start warning");
      for (int connection = 0; connection < 2; connection++) {
        ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port,
            InsecureChannelCredentials.create()).build();
        try {
          for (int call = 0; call < 3; call++) {
            TokenizerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                .listProfiles(ListProfilesRequest.getDefaultInstance());
          }
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
      List<String> lines = output.getAll().lines().filter(line -> line.contains("Plaintext connection on gRPC port"))
          .toList();
      assertEquals(2, lines.size(), "one line per connection, at its first call: " + lines);
      assertTrue(lines.get(0).contains("WARN") && lines.get(0).contains("ListProfiles"), lines.get(0));
    }
  }
}
