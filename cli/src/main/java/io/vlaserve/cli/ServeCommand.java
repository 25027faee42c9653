package io.vlaserve.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vla serve SERVICE}: runs one service in the foreground until Ctrl-C. Secure by default: it
 * refuses to start the service without TLS material ({@code --tls-cert --tls-key --tls-ca}, or
 * {@code vla.tls.*} given after {@code --} or in the environment) unless {@code --insecure} asks
 * for plaintext.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Run one service in the foreground (Ctrl-C stops it gracefully).",
        "TLS: --tls-cert, --tls-key and --tls-ca (./vla pki init writes a throwaway CA and a certificate per service"
            + " to target/demo/pki), or --insecure for plaintext.",
        "Extra arguments after -- go to the Spring Boot app, e.g. -- --vla.tokenizer.stats-files=stats.json"})
final class ServeCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "SERVICE", description = "One of: ${COMPLETION-CANDIDATES}",
      completionCandidates = ServiceNames.class)
  String service;

  @Option(names = "--grpc-port", description = "gRPC port (default: the service's: gateway 50051, policy 50052, tokenizer 50053, controller 50054).")
  Integer grpcPort;

  @Option(names = "--http-port", description = "HTTP port for actuator health and Prometheus metrics.")
  Integer httpPort;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "The service's PEM certificate chain, leaf first (vla.tls.certificate).")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "Its PKCS#8 PEM private key (vla.tls.private-key).")
  Path tlsKey;

  @Option(names = "--tls-ca", paramLabel = "FILE", description = "PEM CA certificates to trust: clients' certificates and"
      + " the servers this service dials (vla.tls.trust).")
  Path tlsCa;

  @Option(names = "--client-auth", paramLabel = "MODE", defaultValue = "optional", description = "none, optional or"
      + " require: client certificates on gRPC (vla.tls.client-auth; default: ${DEFAULT-VALUE}).")
  String clientAuth;

  @Option(names = "--insecure", description = "Plaintext (vla.tls.insecure=true): nobody is authenticated. For a trusted"
      + " machine only.")
  boolean insecure;

  @Parameters(index = "1..*", paramLabel = "SPRING_ARGS", description = "Passed to the service.")
  List<String> extra = new ArrayList<>();

  static final class ServiceNames extends ArrayList<String> {
    ServiceNames() {
      super(Services.MODULES.keySet());
    }
  }

  /** The service cannot start as asked; the message says what to give instead. */
  static final class Refused extends IllegalArgumentException {
    Refused(String message) {
      super(message);
    }
  }

  @Override
  public Integer call() throws Exception {
    List<String> security;
    try {
      security = securityArgs(System.getenv());
    } catch (Refused e) {
      System.err.println("vla serve " + service + ": " + e.getMessage());
      return 2;
    }
    if (insecure) {
      System.err.println(Security.INSECURE_WARNING);
    }
    List<String> command = new ArrayList<>(List.of(Services.javaCommand(), "--enable-native-access=ALL-UNNAMED"));
    command.addAll(Services.JVM_OPTIONS.getOrDefault(service, List.of()));
    command.addAll(List.of("-jar", Services.jar(service).toString()));
    if (grpcPort != null) {
      command.add("--spring.grpc.server.port=" + grpcPort);
    }
    if (httpPort != null) {
      command.add("--server.port=" + httpPort);
    }
    command.addAll(security);
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

  /**
   * The {@code --vla.tls.*} arguments the options map to: the TLS files, or insecure, or none when
   * the passthrough arguments or {@code environment} already configure TLS.
   *
   * @throws Refused before anything starts, naming what to give
   */
  List<String> securityArgs(Map<String, String> environment) {
    if (!Services.MODULES.containsKey(service)) {
      throw new Refused("unknown service (expected one of: " + String.join(", ", Services.MODULES.keySet()) + ")");
    }
    boolean anyFile = tlsCert != null || tlsKey != null || tlsCa != null;
    if (insecure && anyFile) {
      throw new Refused("--insecure together with --tls-cert/--tls-key/--tls-ca (expected: one or the other)");
    }
    if (insecure) {
      return List.of("--vla.tls.insecure=true");
    }
    if (!List.of("none", "optional", "require").contains(clientAuth)) {
      throw new Refused("--client-auth " + clientAuth + " (expected: none, optional or require)");
    }
    if (anyFile) {
      if (tlsCert == null || tlsKey == null || (tlsCa == null && !clientAuth.equals("none"))) {
        throw new Refused("TLS needs " + (clientAuth.equals("none") ? "--tls-cert and --tls-key" : "--tls-cert,"
            + " --tls-key and --tls-ca") + " (given: " + given() + ")");
      }
      List<String> args = new ArrayList<>(List.of("--vla.tls.certificate=" + tlsCert,
          "--vla.tls.private-key=" + tlsKey));
      if (tlsCa != null) {
        args.add("--vla.tls.trust=" + tlsCa);
      }
      args.add("--vla.tls.client-auth=" + clientAuth);
      return args;
    }
    boolean passedThrough = extra.stream().anyMatch(a -> a.startsWith("--vla.tls.certificate=")
        || a.startsWith("--vla.tls.insecure="));
    boolean inEnvironment = environment.containsKey("VLA_TLS_CERTIFICATE") || environment.containsKey("VLA_TLS_INSECURE");
    if (passedThrough || inEnvironment) {
      return List.of(); // the service reads them itself, and checks them
    }
    Path pki = Security.defaultPkiDir();
    Path own = pki.resolve(Services.MODULES.get(service));
    throw new Refused("no TLS material, and services do not run plaintext unless asked to. Give --tls-cert FILE"
        + " --tls-key FILE --tls-ca FILE (a throwaway CA: ./vla pki init, then --tls-cert " + own.resolve("tls.crt")
        + " --tls-key " + own.resolve("tls.key") + " --tls-ca " + pki.resolve("ca.crt") + "), or --insecure for"
        + " plaintext on a trusted machine.");
  }

  private String given() {
    List<String> given = new ArrayList<>();
    if (tlsCert != null) {
      given.add("--tls-cert");
    }
    if (tlsKey != null) {
      given.add("--tls-key");
    }
    if (tlsCa != null) {
      given.add("--tls-ca");
    }
    return String.join(", ", given);
  }
}
