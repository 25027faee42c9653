package io.vlaserve.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vla serve SERVICE}: runs one service in the foreground until Ctrl-C. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Run one service in the foreground (Ctrl-C stops it gracefully).",
        "Extra arguments after -- go to the Spring Boot app, e.g. -- --vla.tokenizer.stats-files=stats.json"})
final class ServeCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "SERVICE", description = "One of: ${COMPLETION-CANDIDATES}",
      completionCandidates = ServiceNames.class)
  String service;

  @Option(names = "--grpc-port", description = "gRPC port (default: the service's: gateway 50051, policy 50052, tokenizer 50053, controller 50054).")
  Integer grpcPort;

  @Option(names = "--http-port", description = "HTTP port for actuator health and Prometheus metrics.")
  Integer httpPort;

  @Parameters(index = "1..*", paramLabel = "SPRING_ARGS", description = "Passed to the service.")
  List<String> extra = new ArrayList<>();

  static final class ServiceNames extends ArrayList<String> {
    ServiceNames() {
      super(Services.MODULES.keySet());
    }
  }

  @Override
  public Integer call() throws Exception {
    List<String> command = new ArrayList<>(List.of(Services.javaCommand(), "--enable-native-access=ALL-UNNAMED"));
    command.addAll(Services.JVM_OPTIONS.getOrDefault(service, List.of()));
    command.addAll(List.of("-jar", Services.jar(service).toString()));
    if (grpcPort != null) {
      command.add("--spring.grpc.server.port=" + grpcPort);
    }
    if (httpPort != null) {
      command.add("--server.port=" + httpPort);
    }
    command.addAll(extra);
    ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
    builder.environment().put("VLA_HOME", Services.home().toString());
    Process process = builder.start();
    Thread stopper = new Thread(() -> {
      process.destroy();
      try {
        process.waitFor();
      } catch (InterruptedException ignored) {
        process.destroyForcibly();
      }
    });
    Runtime.getRuntime().addShutdownHook(stopper);
    return process.waitFor();
  }
}
