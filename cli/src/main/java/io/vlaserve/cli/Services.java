package io.vlaserve.cli;

import io.vlaserve.launcher.ServiceProcess;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The suite's services and where their runnable jars live in a built checkout. */
final class Services {
  /** Service name on the command line -> module directory (its jar is target/MODULE.jar). */
  static final Map<String, String> MODULES = new LinkedHashMap<>();

  /** The property naming the controller-bridge's robot agent link port, apart from its API's. */
  static final String AGENT_PORT = "vla.controller.agent-port";

  /** Extra JVM options per service. The controller's 1 kHz loop wants sub-millisecond GC pauses. */
  /**
   * Scheduling niceness of every service but controller-bridge in the demo: on one shared machine
   * the bridge's 1 kHz loop gets the CPU first instead of missing its deadlines. The load test runs
   * every service at the same priority, since it measures the suite's throughput (with the bridge
   * simulating every robot in its loop, niceness starved the policy there).
   */
  static final int DEMO_BEST_EFFORT_NICENESS = 10;
  /**
   * JIT of the demo's services (and, through ./vla, of the demo's own JVM): C1 only. A run of a
   * minute or two with the whole suite on one 2-core machine otherwise spends a third of the CPU
   * in C2 compiles while robots wait (docs/benchmarks.md, "Where the CPU goes at 16 robots"); C2's
   * faster code pays off only in long-running services, which `./vla serve` and the images keep.
   */
  static final List<String> DEMO_JIT = List.of("-XX:TieredStopAtLevel=1");
  /**
   * The controller's heap bounded, committed and touched at start: without -Xmx, ZGC grows it toward
   * a quarter of the machine's memory (a 10-minute soak on a 24 GB machine: RSS 0.64 to 1.95 GB with
   * 56-60 MB of live data); with -Xmx alone it still grows and shrinks its heap under load (a
   * 12-minute run at 16 robots: RSS 626 to 709 MB), and each page it touches the first time is a
   * page fault that may land in the 1 kHz loop.
   */
  static final Map<String, List<String>> JVM_OPTIONS = Map.of("controller",
      List.of("-XX:+UseZGC", "-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch"));

  static {
    MODULES.put("tokenizer", "tokenizer-service");
    MODULES.put("policy", "policy-service");
    MODULES.put("controller", "controller-bridge");
    MODULES.put("gateway", "planner-gateway");
  }

  private Services() {}

  /** The checkout root: {@code -Dvla.home} (set by ./vla), else two levels above this jar. */
  static Path home() {
    String property = System.getProperty("vla.home");
    if (property != null) {
      return Path.of(property);
    }
    try {
      Path jar = Path.of(Services.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return jar.getParent().getParent().getParent();
    } catch (URISyntaxException e) {
      return Path.of(".");
    }
  }

  static Path jar(String service) {
    String module = MODULES.get(service);
    if (module == null) {
      throw new IllegalArgumentException("unknown service \"" + service + "\" (expected one of: "
          + String.join(", ", MODULES.keySet()) + ")");
    }
    Path jar = home().resolve(module).resolve("target").resolve(module + ".jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: build first (./vla builds on demand, or mvn package -DskipTests)");
    }
    return jar;
  }

  /**
   * Starts {@code service} as a child process on free loopback ports, its log in {@code logDir},
   * with {@code security}'s arguments before {@code args}; the process's own channels and readiness
   * check use {@code security}'s operator credentials.
   */
  static ServiceProcess start(String service, Path logDir, Security security, List<String> args) throws IOException {
    return start(service, logDir, security, args, 0);
  }

  /**
   * As {@link #start(String, Path, Security, List)}; every service but controller-bridge at
   * {@code bestEffortNiceness} (0 for none).
   */
  static ServiceProcess start(String service, Path logDir, Security security, List<String> args,
      int bestEffortNiceness) throws IOException {
    return start(service, logDir, security, args, bestEffortNiceness, List.of());
  }

  /** As {@link #start(String, Path, Security, List, int)}, with {@code jvmOptions} after the service's own. */
  static ServiceProcess start(String service, Path logDir, Security security, List<String> args,
      int bestEffortNiceness, List<String> jvmOptions) throws IOException {
    List<String> all = new java.util.ArrayList<>(security.serviceArgs(service));
    all.addAll(args);
    return start(service, logDir, all, bestEffortNiceness, jvmOptions).clientCredentials(security.operator());
  }

  /** Starts {@code service} as a child process on free loopback ports, its log in {@code logDir}. */
  static ServiceProcess start(String service, Path logDir, List<String> args) throws IOException {
    return start(service, logDir, args, 0, List.of());
  }

  private static ServiceProcess start(String service, Path logDir, List<String> args, int bestEffortNiceness,
      List<String> extraJvmOptions) throws IOException {
    List<String> jvmOptions = new java.util.ArrayList<>(
        JVM_OPTIONS.getOrDefault(service, List.of("-XX:+UseSerialGC")));
    jvmOptions.addAll(extraJvmOptions);
    if (service.equals("controller")) {
      // Its agent link listens on a port of its own: loopback too, and free.
      List<String> withAgent = new java.util.ArrayList<>(List.of("--vla.controller.agent-address=127.0.0.1"));
      withAgent.addAll(args);
      return ServiceProcess.start(service, jar(service), home(), jvmOptions, withAgent, logDir,
          List.of(AGENT_PORT));
    }
    return ServiceProcess.start(service, jar(service), home(), jvmOptions, args, logDir, List.of(),
        bestEffortNiceness);
  }

  /** The java launcher running this process, so children use the same JDK. */
  static String javaCommand() {
    return ServiceProcess.javaCommand();
  }
}
