package io.vlaserve.deploy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecretVolumeSource;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a service container needs to run with TLS on Kubernetes, as lists of problems (empty: as
 * expected), so a test can report every one at once.
 *
 * <p>The service reads {@code vla.tls.*} from its environment: three files from its own Secret
 * (cert-manager's layout: {@code tls.crt}, {@code tls.key}, {@code ca.crt}), mounted read-only as a
 * whole directory (a {@code subPath} mount is never updated when the Secret is renewed), and a
 * client-auth mode. It must not be told {@code vla.tls.insecure}. The kubelet's gRPC probes cannot
 * speak TLS, so probes are HTTPS {@code httpGet}s on the actuator port. Stateless.
 */
final class TlsManifestChecks {
  /** The file settings and the Secret key each must name. */
  static final Map<String, String> FILE_SETTINGS = orderedMap(
      "VLA_TLS_CERTIFICATE", "tls.crt", "VLA_TLS_PRIVATE_KEY", "tls.key", "VLA_TLS_TRUST", "ca.crt");
  static final String CLIENT_AUTH = "VLA_TLS_CLIENT_AUTH";
  static final String INSECURE = "VLA_TLS_INSECURE";

  private TlsManifestChecks() {}

  /**
   * Problems with {@code container}'s TLS settings and their Secret volume.
   *
   * @param secretName the Secret the service's files must come from
   * @param envFromConfigMaps the settings the container takes from ConfigMaps ({@code envFrom})
   */
  static List<String> secretProblems(PodSpec pod, Container container, String secretName, Map<String, String> envFromConfigMaps) {
    List<String> problems = new ArrayList<>();
    Map<String, EnvVar> env = new LinkedHashMap<>();
    for (EnvVar variable : container.getEnv() == null ? List.<EnvVar>of() : container.getEnv()) {
      env.put(variable.getName(), variable);
    }
    if (env.containsKey(INSECURE) || envFromConfigMaps.containsKey(INSECURE)) {
      problems.add(INSECURE + " is set (an overlay without TLS must be named for it and say so; expected: none)");
    }
    EnvVar clientAuth = env.get(CLIENT_AUTH);
    if (clientAuth == null || !List.of("optional", "require").contains(clientAuth.getValue())) {
      problems.add(CLIENT_AUTH + " " + (clientAuth == null ? "missing" : "\"" + clientAuth.getValue() + "\"")
          + " (expected: optional or require)");
    }
    Map<String, Volume> volumes = new LinkedHashMap<>();
    for (Volume volume : pod.getVolumes() == null ? List.<Volume>of() : pod.getVolumes()) {
      volumes.put(volume.getName(), volume);
    }
    List<VolumeMount> mounts = container.getVolumeMounts() == null ? List.of() : container.getVolumeMounts();
    FILE_SETTINGS.forEach((setting, key) -> {
      EnvVar variable = env.get(setting);
      if (variable == null || variable.getValue() == null) {
        problems.add(setting + " missing (expected: the path of " + key + " in the mounted Secret " + secretName + ")");
        return;
      }
      String path = variable.getValue();
      int slash = path.lastIndexOf('/');
      String directory = slash <= 0 ? "" : path.substring(0, slash);
      String file = path.substring(slash + 1);
      Optional<VolumeMount> mount = mounts.stream().filter(m -> stripSlash(m.getMountPath()).equals(directory)).findFirst();
      if (mount.isEmpty()) {
        problems.add(setting + "=" + path + ": nothing is mounted at " + directory + " (expected: the Secret " + secretName + ")");
        return;
      }
      Volume volume = volumes.get(mount.get().getName());
      SecretVolumeSource secret = volume == null ? null : volume.getSecret();
      if (secret == null || !secretName.equals(secret.getSecretName())) {
        problems.add(setting + "=" + path + ": " + directory + " is not the Secret " + secretName);
        return;
      }
      String secretKey = file;
      if (secret.getItems() != null && !secret.getItems().isEmpty()) {
        secretKey = secret.getItems().stream().filter(item -> file.equals(item.getPath())).map(KeyToPath::getKey)
            .findFirst().orElse(null);
      }
      if (!key.equals(secretKey)) {
        problems.add(setting + "=" + path + " reads key " + secretKey + " of " + secretName + " (expected: " + key + ")");
      }
    });
    for (VolumeMount mount : mounts) {
      Volume volume = volumes.get(mount.getName());
      if (volume == null || volume.getSecret() == null || !secretName.equals(volume.getSecret().getSecretName())) {
        continue;
      }
      if (!Boolean.TRUE.equals(mount.getReadOnly())) {
        problems.add("mount of " + secretName + " at " + mount.getMountPath() + " is not readOnly");
      }
      if (notEmpty(mount.getSubPath()) || notEmpty(mount.getSubPathExpr())) {
        problems.add("mount of " + secretName + " at " + mount.getMountPath() + " uses subPath, which the kubelet never"
            + " updates: a renewed certificate would not reach the service (expected: the whole Secret as a directory)");
      }
      Integer mode = volume.getSecret().getDefaultMode();
      if (mode == null || (mode & 0007) != 0) {
        problems.add("Secret volume " + volume.getName() + " defaultMode " + (mode == null ? "unset (0644)" : Integer.toOctalString(mode))
            + " lets others read the private key (expected: no permissions for others, e.g. 0440)");
      }
    }
    return problems;
  }

  /** Problems with the container's probes: each an HTTPS httpGet on {@code httpPort}, none over gRPC. */
  static List<String> probeProblems(Container container, String httpPortName, int httpPort) {
    List<String> problems = new ArrayList<>();
    Map<String, Probe> probes = new LinkedHashMap<>();
    probes.put("startupProbe", container.getStartupProbe());
    probes.put("readinessProbe", container.getReadinessProbe());
    probes.put("livenessProbe", container.getLivenessProbe());
    probes.forEach((kind, probe) -> {
      if (probe == null) {
        problems.add("no " + kind);
        return;
      }
      if (probe.getGrpc() != null) {
        problems.add(kind + " is a gRPC probe: the kubelet's gRPC probes cannot speak TLS (expected: HTTPS httpGet)");
        return;
      }
      if (probe.getHttpGet() == null) {
        problems.add(kind + " is not an httpGet (expected: HTTPS on the actuator port)");
        return;
      }
      if (!"HTTPS".equals(probe.getHttpGet().getScheme())) {
        problems.add(kind + " scheme " + probe.getHttpGet().getScheme() + " (expected: HTTPS, the actuator port serves TLS)");
      }
      IntOrString port = probe.getHttpGet().getPort();
      boolean portOk = port != null && (httpPortName.equals(port.getStrVal()) || Integer.valueOf(httpPort).equals(port.getIntVal()));
      if (!portOk) {
        problems.add(kind + " port " + port + " (expected: " + httpPortName + ", " + httpPort + ")");
      }
      String expectedPath = kind.equals("livenessProbe") ? "/actuator/health/liveness" : "/actuator/health/readiness";
      if (!expectedPath.equals(probe.getHttpGet().getPath())) {
        problems.add(kind + " path " + probe.getHttpGet().getPath() + " (expected: " + expectedPath + ")");
      }
    });
    return problems;
  }

  private static String stripSlash(String path) {
    return path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  private static boolean notEmpty(String value) {
    return value != null && !value.isEmpty();
  }

  private static Map<String, String> orderedMap(String... keysAndValues) {
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return Collections.unmodifiableMap(map);
  }
}
