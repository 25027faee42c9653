package io.vlaserve.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The suite's services and where their runnable jars live in a built checkout. */
final class Services {
  /** Service name on the command line -> module directory (its jar is target/MODULE.jar). */
  static final Map<String, String> MODULES = new LinkedHashMap<>();

  /** Extra JVM options per service. The controller's 1 kHz loop wants sub-millisecond GC pauses. */
  static final Map<String, java.util.List<String>> JVM_OPTIONS = Map.of("controller", java.util.List.of("-XX:+UseZGC"));

  static {
    MODULES.put("tokenizer", "tokenizer-service");
    MODULES.put("policy", "policy-service");
    MODULES.put("controller", "controller-bridge");
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

  /** The java launcher running this process, so children use the same JDK. */
  static String javaCommand() {
    return ProcessHandle.current().info().command().orElse("java");
  }
}
