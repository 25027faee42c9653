package io.vlaserve.launcher;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One service of the suite running as a child process on loopback ports, with its output in a log
 * file. {@link #close()} stops it gracefully (SIGTERM, then a hard kill after the grace period).
 */
public final class ServiceProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;
  private final int grpcPort;
  private final int httpPort;
  private final Map<String, Integer> extraPorts;
  private volatile ChannelCredentials credentials = InsecureChannelCredentials.create();

  private ServiceProcess(String name, Process process, Path log, int grpcPort, int httpPort,
      Map<String, Integer> extraPorts) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.extraPorts = extraPorts;
  }

  /**
   * Starts {@code jar} (a Spring Boot service) on free loopback ports.
   *
   * @param name the service's name, for messages and the log file ({@code logDir/name.log})
   * @param home the checkout, passed as {@code VLA_HOME} (relative model paths resolve against it)
   * @param jvmOptions options before {@code -jar}, e.g. a GC choice
   * @param args application arguments after the port settings, e.g. {@code --vla.policy.threads=2}
   */
  public static ServiceProcess start(String name, Path jar, Path home, List<String> jvmOptions, List<String> args,
      Path logDir) throws IOException {
    return start(name, jar, home, jvmOptions, args, logDir, List.of());
  }

  /**
   * As {@link #start(String, Path, Path, List, List, Path)}, also giving each of {@code portProperties}
   * (e.g. {@code vla.controller.agent-port}, a service's second listening port) a free loopback port;
   * {@link #port(String)} tells which.
   */
  public static ServiceProcess start(String name, Path jar, Path home, List<String> jvmOptions, List<String> args,
      Path logDir, List<String> portProperties) throws IOException {
    return start(name, jar, home, jvmOptions, args, logDir, portProperties, 0);
  }

  /**
   * As {@link #start(String, Path, Path, List, List, Path, List)}, at scheduling niceness
   * {@code niceness} (0..19, through {@code nice} where the system has it): on a machine shared with
   * a control loop, best-effort services give way to it.
   */
  public static ServiceProcess start(String name, Path jar, Path home, List<String> jvmOptions, List<String> args,
      Path logDir, List<String> portProperties, int niceness) throws IOException {
    if (niceness < 0 || niceness > 19) {
      throw new IllegalArgumentException("niceness: " + niceness + " (expected: 0..19)");
    }
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: build first (./vla builds on demand, or mvn package -DskipTests)");
    }
    int grpcPort = freePort();
    int httpPort = freePort();
    Files.createDirectories(logDir);
    Path log = logDir.resolve(name + ".log");
    List<String> command = new ArrayList<>();
    if (niceness > 0 && Files.isExecutable(NICE)) {
      // nice execs java: the process (and its pid) is the service's.
      command.addAll(List.of(NICE.toString(), "-n", Integer.toString(niceness)));
    }
    command.addAll(List.of(javaCommand(), "-Xss512k", "--enable-native-access=ALL-UNNAMED"));
    command.addAll(jvmOptions);
    command.addAll(List.of("-jar", jar.toString(),
        "--spring.grpc.server.address=127.0.0.1", "--spring.grpc.server.port=" + grpcPort,
        "--server.address=127.0.0.1", "--server.port=" + httpPort));
    Map<String, Integer> extraPorts = new LinkedHashMap<>();
    for (String property : portProperties) {
      int port = freePort();
      extraPorts.put(property, port);
      command.add("--" + property + "=" + port);
    }
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("VLA_HOME", home.toString());
    // ONNX Runtime's built-in telemetry writes files to /tmp and $HOME and reports usage to Microsoft
    // unless this is set before the library starts; only the environment can say it.
    builder.environment().putIfAbsent("ORT_DISABLE_TELEMETRY", "1");
    Process process = builder.start();
    return new ServiceProcess(name, process, log, grpcPort, httpPort, Map.copyOf(extraPorts));
  }

  private static final Path NICE = Path.of("/usr/bin/nice");

  /** The port given to {@code property} at start. */
  public int port(String property) {
    Integer port = extraPorts.get(property);
    if (port == null) {
      throw new IllegalArgumentException(name + " was not started with a port for " + property + " (it has: "
          + extraPorts.keySet() + ")");
    }
    return port;
  }

  /**
   * The credentials {@link #channel()}, {@link #channel(int)} and the readiness check use from now
   * on: plaintext by default; TLS credentials (e.g. {@code TlsMaterial.channelCredentials()} from
   * vla-tls) for a service started with {@code --vla.tls.*}. Its certificate must name
   * {@code 127.0.0.1}, the address the channels dial.
   *
   * @return this process
   */
  public ServiceProcess clientCredentials(ChannelCredentials value) {
    credentials = java.util.Objects.requireNonNull(value, "credentials");
    return this;
  }

  /** A new channel to the service's port {@code port} on loopback; the caller shuts it down. */
  public ManagedChannel channel(int port) {
    return Grpc.newChannelBuilderForAddress("127.0.0.1", port, credentials).build();
  }

  /** The java launcher running this process, so children use the same JDK. */
  public static String javaCommand() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  public String name() {
    return name;
  }

  public int grpcPort() {
    return grpcPort;
  }

  public int httpPort() {
    return httpPort;
  }

  public Path log() {
    return log;
  }

  /** The process id. */
  public long pid() {
    return process.pid();
  }

  /**
   * CPU time the process has used so far (user + system), ns, from Linux's /proc (clock ticks of
   * 10 ms); -1 where there is no /proc or the process is gone.
   */
  public long cpuNanos() {
    return cpuNanos(process.pid());
  }

  /** As {@link #cpuNanos()}, for any process id. */
  public static long cpuNanos(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000_000L;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Kills the process at once (SIGKILL), as a crash would: no graceful shutdown. */
  public void kill() throws InterruptedException {
    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  public static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /** Waits until gRPC health says SERVING; fails with the log's tail if the process dies first. */
  public void awaitServing(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    ManagedChannel channel = channel();
    try {
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IllegalStateException(name + " exited with status " + process.exitValue() + "; log " + log
              + ":\n" + tail(40));
        }
        if (GrpcProbes.awaitServing(channel, Duration.ofMillis(500)) == HealthCheckResponse.ServingStatus.SERVING) {
          return;
        }
      }
      throw new IllegalStateException(name + " did not report SERVING within " + timeout.toSeconds() + " s; log " + log
          + ":\n" + tail(40));
    } finally {
      channel.shutdownNow();
    }
  }

  /** A new channel to the service's gRPC port (with {@link #clientCredentials}); the caller shuts it down. */
  public ManagedChannel channel() {
    return channel(grpcPort);
  }

  /** The last {@code lines} lines of the service's log. */
  public String tail(int lines) {
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
