package io.vlaserve.deploy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * One overlay of {@code k8s/overlays}, rendered by {@code kubectl kustomize} and parsed strictly
 * into Kubernetes API types ({@link StrictKubernetesTypes}). Rendered once per overlay and test run.
 */
final class RenderedOverlay {
  private static final Map<String, RenderedOverlay> RENDERED = new ConcurrentHashMap<>();

  final String overlay;
  final List<HasMetadata> objects;

  private RenderedOverlay(String overlay, List<HasMetadata> objects) {
    this.overlay = overlay;
    this.objects = objects;
  }

  /** The checkout root (set by the deploy-tests pom; the module's parent otherwise). */
  static Path home() {
    return Path.of(System.getProperty("vla.home", "..")).toAbsolutePath().normalize();
  }

  /** kubectl as {@code -Dvla.kubectl=PATH} names it, else on the PATH or at /usr/bin/kubectl, if any. */
  static Optional<Path> kubectl() {
    String configured = System.getProperty("vla.kubectl", "");
    if (!configured.isEmpty()) {
      return Optional.of(Path.of(configured)).filter(Files::isExecutable);
    }
    List<Path> candidates = new ArrayList<>();
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty()) {
        candidates.add(Path.of(dir, "kubectl"));
      }
    }
    candidates.add(Path.of("/usr/bin/kubectl"));
    return candidates.stream().filter(Files::isExecutable).findFirst();
  }

  static RenderedOverlay of(String overlay) {
    return RENDERED.computeIfAbsent(overlay, RenderedOverlay::render);
  }

  private static RenderedOverlay render(String overlay) {
    Path kubectl = kubectl().orElseThrow(() -> new IllegalStateException("kubectl not found"));
    Path dir = home().resolve("k8s/overlays").resolve(overlay);
    String yaml = run(List.of(kubectl.toString(), "kustomize", dir.toString()));
    return new RenderedOverlay(overlay, parseAll(yaml));
  }

  /** Every document of a multi-document YAML stream, as strictly typed objects. */
  static List<HasMetadata> parseAll(String yaml) {
    List<HasMetadata> objects = new ArrayList<>();
    for (Object document : new Yaml(new LoaderOptions()).loadAll(yaml)) {
      if (document == null) {
        continue;
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> map = (Map<String, Object>) document;
      objects.add(StrictKubernetesTypes.parse(map));
    }
    return objects;
  }

  private static String run(List<String> command) {
    try {
      Path output = Files.createTempFile("kustomize", ".yaml");
      Path errors = Files.createTempFile("kustomize", ".err");
      try {
        Process process = new ProcessBuilder(command).redirectOutput(output.toFile()).redirectError(errors.toFile()).start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          throw new IllegalStateException(String.join(" ", command) + ": no result within 120 s");
        }
        if (process.exitValue() != 0) {
          throw new IllegalStateException(String.join(" ", command) + " exited with " + process.exitValue() + ": "
              + Files.readString(errors, StandardCharsets.UTF_8));
        }
        return Files.readString(output, StandardCharsets.UTF_8);
      } finally {
        Files.deleteIfExists(output);
        Files.deleteIfExists(errors);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + command, e);
    }
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
    return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst();
  }

  <T extends HasMetadata> T get(Class<T> type, String name) {
    return find(type, name).orElseThrow(() -> new AssertionError(
        overlay + ": no " + type.getSimpleName() + " named " + name + " (have: "
            + all(type).stream().map(o -> o.getMetadata().getName()).toList() + ")"));
  }

  List<Deployment> deployments() {
    return all(Deployment.class);
  }

  List<StatefulSet> statefulSets() {
    return all(StatefulSet.class);
  }

  /** Every Deployment and StatefulSet: what runs pods. */
  List<Workload> workloads() {
    List<Workload> workloads = new ArrayList<>();
    deployments().forEach(d -> workloads.add(Workload.of(d)));
    statefulSets().forEach(s -> workloads.add(Workload.of(s)));
    return workloads;
  }

  /** The Deployment or StatefulSet named {@code name}; exactly one must exist. */
  Workload workload(String name) {
    List<Workload> named = workloads().stream().filter(w -> w.name().equals(name)).toList();
    if (named.size() != 1) {
      throw new AssertionError(overlay + ": " + named.size() + " Deployments or StatefulSets named " + name + " (have: "
          + workloads() + ")");
    }
    return named.getFirst();
  }

  List<Service> services() {
    return all(Service.class);
  }

  List<ConfigMap> configMaps() {
    return all(ConfigMap.class);
  }

  List<Secret> secrets() {
    return all(Secret.class);
  }

  List<ServiceAccount> serviceAccounts() {
    return all(ServiceAccount.class);
  }

  List<PersistentVolumeClaim> persistentVolumeClaims() {
    return all(PersistentVolumeClaim.class);
  }

  List<HorizontalPodAutoscaler> autoscalers() {
    return all(HorizontalPodAutoscaler.class);
  }

  List<PodDisruptionBudget> disruptionBudgets() {
    return all(PodDisruptionBudget.class);
  }

  List<NetworkPolicy> networkPolicies() {
    return all(NetworkPolicy.class);
  }

  List<Namespace> namespaces() {
    return all(Namespace.class);
  }

  /** cert-manager Certificates (generic resources: cert-manager's types are not fabric8's). */
  List<GenericKubernetesResource> certificates() {
    return CertManager.ofKind(all(GenericKubernetesResource.class), "Certificate");
  }

  /** cert-manager Issuers. */
  List<GenericKubernetesResource> issuers() {
    return CertManager.ofKind(all(GenericKubernetesResource.class), "Issuer");
  }
}
