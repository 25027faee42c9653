package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.vlaserve.service.GrpcServerPort;
import java.util.concurrent.TimeUnit;

/** A plaintext channel to the service a test started on loopback, once its model is warm. */
final class LocalService {
  private LocalService() {}

  static ManagedChannel connect(GrpcServerPort grpcPort, PolicyRuntime runtime) throws InterruptedException {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort.await(60),
        InsecureChannelCredentials.create()).build();
    for (int i = 0; i < 600 && !runtime.ready(); i++) {
      Thread.sleep(100);
    }
    assertTrue(runtime.ready(), "warmed up: " + runtime.state() + " " + runtime.failure());
    return channel;
  }

  static void close(ManagedChannel channel) throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
