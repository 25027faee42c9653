package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.service.GrpcServerPort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * A test of the service a {@code @SpringBootTest} started on loopback: a plaintext channel and a
 * blocking stub, ready once the model is warm, closed after the class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class LocalService {
  static final Path SHIPPED = Path.of("..", "models", "tiny-vla");

  @Autowired GrpcServerPort grpcPort;
  @Autowired PolicyRuntime runtime;
  ManagedChannel channel;
  PolicyServiceGrpc.PolicyServiceBlockingStub policy;

  @BeforeAll
  void connect() throws InterruptedException {
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort.await(60), InsecureChannelCredentials.create())
        .build();
    policy = PolicyServiceGrpc.newBlockingStub(channel);
    for (int i = 0; i < 600 && !runtime.ready(); i++) {
      Thread.sleep(100);
    }
    assertTrue(runtime.ready(), "warmed up: " + runtime.state() + " " + runtime.failure());
  }

  @AfterAll
  void disconnect() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** Copies the shipped package's files into {@code directory}, for tests that edit a copy. */
  static Path copyShipped(Path directory) throws IOException {
    try (var files = Files.list(SHIPPED)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Files.copy(file, directory.resolve(file.getFileName()));
      }
    }
    return directory;
  }
}
