package io.vlaserve.robot.client;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** A real Netty gRPC server on the loopback interface, restartable on the same port. */
final class LoopbackServer {
  private final Server server;

  private LoopbackServer(Server server) {
    this.server = server;
  }

  /** Starts {@code service} on {@code port} (0: any free port). */
  static LoopbackServer start(int port, BindableService service) {
    try {
      return new LoopbackServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
          .withOption(ChannelOption.SO_REUSEADDR, true)
          .addService(service)
          .build()
          .start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  int port() {
    return server.getPort();
  }

  /** Dies like a crashed process: every call and connection is cut at once. */
  void kill() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }

  void close() throws InterruptedException {
    kill();
  }
}
