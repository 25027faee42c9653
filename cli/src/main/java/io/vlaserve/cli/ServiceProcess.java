package io.vlaserve.cli;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One service of the suite running as a child process on loopback ports, with its output in a log
 * file. {@link #close()} stops it gracefully (SIGTERM, then a hard kill after the grace period).
 */
final class ServiceProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;
  final int grpcPort;
  final int httpPort;

  private ServiceProcess(String name, Process process, Path log, int grpcPort, int httpPort) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
  }

  static ServiceProcess start(String service, Path logDir, List<String> extraArgs) throws IOException {
    int grpcPort = freePort();
    int httpPort = freePort();
    Files.createDirectories(logDir);
    Path log = logDir.resolve(service + ".log");
    List<String> command = new ArrayList<>(List.of(Services.javaCommand(), "-Xss512k",
        "--enable-native-access=ALL-UNNAMED"));
    command.addAll(Services.JVM_OPTIONS.getOrDefault(service, List.of("-XX:+UseSerialGC")));
    command.addAll(List.of("-jar", Services.jar(service).toString(),
        "--spring.grpc.server.address=127.0.0.1", "--spring.grpc.server.port=" + grpcPort,
        "--server.address=127.0.0.1", "--server.port=" + httpPort));
    command.addAll(extraArgs);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("VLA_HOME", Services.home().toString());
    Process process = builder.start();
    return new ServiceProcess(service, process, log, grpcPort, httpPort);
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /** Waits until gRPC health says SERVING; fails with the log's tail if the process dies first. */
  void awaitServing(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    ManagedChannel channel = channel();
    try {
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IllegalStateException(name + " exited with status " + process.exitValue() + "; log " + log
              + ":\n" + tail(40));
        }
        try {
          HealthCheckResponse health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance());
          if (health.getStatus() == HealthCheckResponse.ServingStatus.SERVING) {
            return;
          }
        } catch (io.grpc.StatusRuntimeException notYet) {
          // still starting
        }
        Thread.sleep(200);
      }
      throw new IllegalStateException(name + " did not report SERVING within " + timeout.toSeconds() + " s; log " + log
          + ":\n" + tail(40));
    } finally {
      channel.shutdownNow();
    }
  }

  ManagedChannel channel() {
    return Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort, InsecureChannelCredentials.create()).build();
  }

  String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
