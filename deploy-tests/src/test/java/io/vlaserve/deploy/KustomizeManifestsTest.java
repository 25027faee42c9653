package io.vlaserve.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpec;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.vlaserve.deploy.NetworkPolicyModel.Endpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

/**
 * Renders every overlay of {@code k8s/} with {@code kubectl kustomize}, parses each object strictly
 * into its Kubernetes API type and checks what the API server cannot: that the objects refer to
 * each other correctly, that pods are locked down, and that the NetworkPolicies admit exactly the
 * suite's real call paths. Skipped, with a message, where kubectl is not installed.
 */
class KustomizeManifestsTest {
  static final String NAMESPACE = "vla-serve";
  static final List<String> SERVICES = List.of("planner-gateway", "policy-service", "tokenizer-service", "controller-bridge");
  /** The keys of a service's TLS Secret (cert-manager's layout, {@code <service>-tls}). */
  static final Set<String> TLS_KEYS = Set.of("tls.crt", "tls.key", "ca.crt");
  /**
   * Secrets that docs/deploy.md has the operator create (or an overlay's cert-manager Certificates
   * issue); never rendered from the repository.
   */
  static final Map<String, Set<String>> EXTERNAL_SECRETS = externalSecrets();
  /** Environment prefix of each service's port settings (VLA_POLICY_GRPC_PORT, ...). */
  static final Map<String, String> PORT_ENV_PREFIX = Map.of(
      "planner-gateway", "VLA_GATEWAY", "policy-service", "VLA_POLICY",
      "tokenizer-service", "VLA_TOKENIZER", "controller-bridge", "VLA_CONTROLLER");
  static final String GRACE_ENV = "SPRING_GRPC_SERVER_SHUTDOWN_GRACEPERIOD";
  /** The gateway's drain on shutdown (vla.gateway.shutdown-grace). */
  static final String DRAIN_ENV = "VLA_GATEWAY_SHUTDOWNGRACE";

  static final String NO_KUBECTL = "kubectl not found on PATH or at /usr/bin/kubectl: the k8s/ overlays were NOT rendered"
      + " or validated. Install kubectl (>= 1.27, it bundles kustomize) to run these checks.";

  private static Map<String, Set<String>> externalSecrets() {
    Map<String, Set<String>> secrets = new LinkedHashMap<>();
    secrets.put("planner-llm", Set.of("api-key"));
    // The first key's id is the operator's choice; docs/deploy.md's example names it k1.
    secrets.put("planner-gateway-resume-keys", Set.of("signing-key-id", "k1"));
    for (String service : SERVICES) {
      secrets.put(service + "-tls", TLS_KEYS);
    }
    return Map.copyOf(secrets);
  }

  /** Every directory under k8s/overlays: a new overlay gets every check without being listed. */
  static List<String> overlays() throws IOException {
    try (var entries = Files.list(RenderedOverlay.home().resolve("k8s/overlays"))) {
      return entries.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void theOverlaysAreThoseTheDocsName() throws IOException {
    assertEquals(List.of("cert-manager", "cpu", "gpu", "sharded-bridges"), overlays());
  }

  @BeforeAll
  static void sayWhySkipped() {
    if (RenderedOverlay.kubectl().isEmpty()) {
      System.err.println("WARNING KustomizeManifestsTest skipped: " + NO_KUBECTL);
    }
  }

  @BeforeEach
  void needsKubectl() {
    Assumptions.assumeTrue(RenderedOverlay.kubectl().isPresent(), NO_KUBECTL);
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void everyObjectIsAKnownApiTypeWithNoUnknownFieldInTheNamespace(String overlay) {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    for (HasMetadata object : rendered.objects) {
      String what = overlay + ": " + object.getKind() + " " + object.getMetadata().getName();
      if (!(object instanceof Namespace)) {
        assertEquals(NAMESPACE, object.getMetadata().getNamespace(), what + ": namespace");
      }
      assertEquals("vla-serve", object.getMetadata().getLabels().get("app.kubernetes.io/part-of"), what + ": part-of label");
    }
    assertEquals(List.of(NAMESPACE), rendered.namespaces().stream().map(n -> n.getMetadata().getName()).toList());
    for (String service : SERVICES) {
      rendered.workload(service);
      rendered.get(ServiceAccount.class, service);
      rendered.get(ConfigMap.class, service);
      rendered.get(PodDisruptionBudget.class, service);
      rendered.get(NetworkPolicy.class, service);
    }
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void selectorsMatchPodLabels(String overlay) {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    for (Workload workload : rendered.workloads()) {
      Map<String, String> podLabels = workload.podLabels();
      assertTrue(LabelSelectors.matches(workload.selector().getMatchLabels(), podLabels)
              && LabelSelectors.matches(workload.selector(), podLabels),
          overlay + ": " + workload + " selector " + workload.selector() + " does not match its pod labels " + podLabels);
    }
    for (Service service : rendered.services()) {
      selectedWorkload(rendered, "Service " + name(service), service.getSpec().getSelector());
    }
    for (PodDisruptionBudget budget : rendered.disruptionBudgets()) {
      List<Workload> selected = rendered.workloads().stream().filter(w -> w.selectedBy(budget.getSpec().getSelector())).toList();
      assertEquals(1, selected.size(), overlay + ": PodDisruptionBudget " + name(budget) + " selects " + selected);
    }
    for (HorizontalPodAutoscaler autoscaler : rendered.autoscalers()) {
      var target = autoscaler.getSpec().getScaleTargetRef();
      assertEquals("apps/v1", target.getApiVersion());
      assertEquals("Deployment", target.getKind());
      Deployment scaled = rendered.get(Deployment.class, target.getName());
      assertEquals(null, scaled.getSpec().getReplicas(),
          overlay + ": Deployment " + name(scaled) + " sets replicas although HPA " + name(autoscaler) + " owns them");
    }
    for (NetworkPolicy policy : rendered.networkPolicies()) {
      var selector = policy.getSpec().getPodSelector();
      boolean selectsAll = (selector.getMatchLabels() == null || selector.getMatchLabels().isEmpty())
          && (selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty());
      if (!selectsAll) {
        assertFalse(rendered.workloads().stream().noneMatch(w -> w.selectedBy(selector)),
            overlay + ": NetworkPolicy " + name(policy) + " selects no pod");
      }
    }
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void probesServicesAndScrapingHitPortsTheContainersExpose(String overlay) {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    for (Workload workload : rendered.workloads()) {
      String service = workload.name();
      Container container = onlyContainer(workload);
      Map<String, Integer> ports = namedPorts(container);
      assertEquals(service.equals("controller-bridge") ? Set.of("grpc", "http", "agents") : Set.of("grpc", "http"),
          ports.keySet(), overlay + ": " + service + " container ports");
      if (service.equals("controller-bridge")) {
        assertEquals(String.valueOf(ports.get("agents")), rendered.get(ConfigMap.class, service).getData()
            .get("VLA_CONTROLLER_AGENT_PORT"), overlay + ": agent link port setting vs containerPort");
      }
      ConfigMap config = rendered.get(ConfigMap.class, service);
      String prefix = PORT_ENV_PREFIX.get(service);
      assertNotNull(prefix, "no port settings known for " + service);
      assertEquals(String.valueOf(ports.get("grpc")), config.getData().get(prefix + "_GRPC_PORT"),
          overlay + ": " + service + " gRPC port setting vs containerPort");
      assertEquals(String.valueOf(ports.get("http")), config.getData().get(prefix + "_HTTP_PORT"),
          overlay + ": " + service + " HTTP port setting vs containerPort");

      List<String> probeProblems = TlsManifestChecks.probeProblems(container, "http", ports.get("http"));
      assertTrue(probeProblems.isEmpty(), overlay + ": " + service + " probes: " + probeProblems);

      var annotations = workload.template().getMetadata().getAnnotations();
      assertEquals("true", annotations.get("prometheus.io/scrape"), overlay + ": " + service + " scraping");
      assertEquals(String.valueOf(ports.get("http")), annotations.get("prometheus.io/port"),
          overlay + ": " + service + " prometheus.io/port vs the HTTP containerPort");
      assertEquals("/actuator/prometheus", annotations.get("prometheus.io/path"));
      assertEquals("https", annotations.get("prometheus.io/scheme"), overlay + ": " + service + " actuator port serves TLS");
    }
    for (Service service : rendered.services()) {
      Workload workload = selectedWorkload(rendered, "Service " + name(service), service.getSpec().getSelector());
      Map<String, Integer> ports = namedPorts(onlyContainer(workload));
      for (ServicePort port : service.getSpec().getPorts()) {
        IntOrString target = port.getTargetPort();
        Integer resolved = target == null ? port.getPort()
            : target.getIntVal() != null ? target.getIntVal() : ports.get(target.getStrVal());
        assertTrue(resolved != null && ports.containsValue(resolved),
            overlay + ": Service " + name(service) + " port " + port.getName() + " targets " + target
                + ", which " + workload + " does not expose (" + ports + ")");
        if ("grpc".equals(port.getName())) {
          assertNotEquals("kubernetes.io/h2c", port.getAppProtocol(),
              overlay + ": Service " + name(service) + " grpc port claims cleartext HTTP/2 but the services speak TLS");
        }
      }
    }
    Service headless = rendered.get(Service.class, "policy-service-headless");
    assertEquals("None", headless.getSpec().getClusterIP(), "policy replicas are balanced client-side over a headless Service");
    assertEquals("LoadBalancer", rendered.get(Service.class, "planner-gateway").getSpec().getType(), "robots connect from outside");
    List<Service> agentServices = rendered.services().stream()
        .filter(s -> s.getSpec().getPorts().stream().anyMatch(p -> p.getTargetPort() != null && "agents".equals(p.getTargetPort().getStrVal())))
        .toList();
    assertFalse(agentServices.isEmpty(), overlay + ": no Service for the robots' agents (targetPort agents)");
    for (Service agents : agentServices) {
      assertEquals("LoadBalancer", agents.getSpec().getType(), overlay + ": Service " + name(agents) + ": robot agents connect from outside");
    }
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void configMapSecretVolumeAndServiceAccountReferencesExist(String overlay) throws IOException {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    Set<String> configMaps = rendered.configMaps().stream().map(KustomizeManifestsTest::name).collect(Collectors.toSet());
    for (Workload workload : rendered.workloads()) {
      String service = workload.name();
      PodSpec pod = workload.pod();
      rendered.get(ServiceAccount.class, pod.getServiceAccountName());
      for (Container container : pod.getContainers()) {
        for (EnvFromSource source : container.getEnvFrom() == null ? List.<EnvFromSource>of() : container.getEnvFrom()) {
          if (source.getConfigMapRef() != null) {
            assertTrue(configMaps.contains(source.getConfigMapRef().getName()),
                overlay + ": " + service + " envFrom ConfigMap " + source.getConfigMapRef().getName() + " is not rendered");
          }
          if (source.getSecretRef() != null) {
            secretKeyExists(rendered, overlay + ": " + service, source.getSecretRef().getName(), null);
          }
        }
        for (EnvVar env : container.getEnv() == null ? List.<EnvVar>of() : container.getEnv()) {
          if (env.getValueFrom() == null) {
            continue;
          }
          var configKey = env.getValueFrom().getConfigMapKeyRef();
          if (configKey != null) {
            assertTrue(rendered.get(ConfigMap.class, configKey.getName()).getData().containsKey(configKey.getKey()),
                overlay + ": " + service + " env " + env.getName() + " needs key " + configKey.getKey());
          }
          var secretKey = env.getValueFrom().getSecretKeyRef();
          if (secretKey != null) {
            secretKeyExists(rendered, overlay + ": " + service + " env " + env.getName(), secretKey.getName(), secretKey.getKey());
          }
        }
        Set<String> volumes = pod.getVolumes().stream().map(Volume::getName).collect(Collectors.toSet());
        for (VolumeMount mount : container.getVolumeMounts()) {
          assertTrue(volumes.contains(mount.getName()), overlay + ": " + service + " mounts undeclared volume " + mount.getName());
        }
      }
      for (Volume volume : pod.getVolumes()) {
        if (volume.getConfigMap() != null) {
          assertTrue(configMaps.contains(volume.getConfigMap().getName()), overlay + ": " + service + " volume " + volume.getName());
        }
        if (volume.getSecret() != null) {
          String what = overlay + ": " + service + " volume " + volume.getName();
          secretKeyExists(rendered, what, volume.getSecret().getSecretName(), null);
          for (var item : volume.getSecret().getItems() == null ? List.<io.fabric8.kubernetes.api.model.KeyToPath>of() : volume.getSecret().getItems()) {
            secretKeyExists(rendered, what, volume.getSecret().getSecretName(), item.getKey());
          }
        }
        if (volume.getPersistentVolumeClaim() != null) {
          rendered.get(io.fabric8.kubernetes.api.model.PersistentVolumeClaim.class, volume.getPersistentVolumeClaim().getClaimName());
        }
        assertEquals(null, volume.getHostPath(), overlay + ": " + service + " uses a hostPath volume");
      }
    }
    String deployDoc = Files.readString(RenderedOverlay.home().resolve("docs/deploy.md"));
    assertTrue(deployDoc.contains("kubectl create secret generic planner-llm"), "docs/deploy.md must tell how to create planner-llm");
    for (var secret : EXTERNAL_SECRETS.entrySet()) {
      assertTrue(deployDoc.contains(secret.getKey()) || (secret.getKey().endsWith("-tls") && deployDoc.contains("<service>-tls")),
          "docs/deploy.md must name the Secret " + secret.getKey());
      for (String key : secret.getValue()) {
        assertTrue(deployDoc.contains("--from-literal=" + key + "=") || deployDoc.contains("--from-file=" + key + "="),
            "docs/deploy.md must create key " + key + " of " + secret.getKey());
      }
    }
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void podsRunLockedDownWithBoundedResources(String overlay) {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    for (ServiceAccount account : rendered.serviceAccounts()) {
      assertEquals(Boolean.FALSE, account.getAutomountServiceAccountToken(), overlay + ": ServiceAccount " + name(account));
    }
    for (Workload workload : rendered.workloads()) {
      String service = overlay + ": " + workload;
      PodSpec pod = workload.pod();
      assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken(), service + " automountServiceAccountToken");
      assertTrue(pod.getHostNetwork() == null || !pod.getHostNetwork(), service + " hostNetwork");
      PodSecurityContext podSecurity = pod.getSecurityContext();
      assertEquals(Boolean.TRUE, podSecurity.getRunAsNonRoot(), service + " runAsNonRoot");
      assertTrue(podSecurity.getRunAsUser() != null && podSecurity.getRunAsUser() > 0, service + " runAsUser");
      assertEquals("RuntimeDefault", podSecurity.getSeccompProfile().getType(), service + " seccomp");
      for (Container container : pod.getContainers()) {
        SecurityContext security = container.getSecurityContext();
        assertEquals(Boolean.FALSE, security.getAllowPrivilegeEscalation(), service + " allowPrivilegeEscalation");
        assertEquals(Boolean.TRUE, security.getReadOnlyRootFilesystem(), service + " readOnlyRootFilesystem");
        assertTrue(security.getPrivileged() == null || !security.getPrivileged(), service + " privileged");
        assertEquals(List.of("ALL"), security.getCapabilities().getDrop(), service + " capabilities.drop");
        assertTrue(security.getCapabilities().getAdd() == null || security.getCapabilities().getAdd().isEmpty(),
            service + " capabilities.add");
        VolumeMount tmp = container.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/tmp")).findFirst()
            .orElseThrow(() -> new AssertionError(service + ": no writable /tmp (the JVM and ONNX Runtime extract native libraries there)"));
        Volume tmpVolume = pod.getVolumes().stream().filter(v -> v.getName().equals(tmp.getName())).findFirst().orElseThrow();
        assertNotNull(tmpVolume.getEmptyDir(), service + " /tmp is an emptyDir");
        assertNotNull(tmpVolume.getEmptyDir().getSizeLimit(), service + " /tmp has a size limit");
        for (String resource : List.of("cpu", "memory")) {
          Map<String, Quantity> requests = container.getResources().getRequests();
          Map<String, Quantity> limits = container.getResources().getLimits();
          assertTrue(requests != null && requests.containsKey(resource), service + " requests " + resource);
          assertTrue(limits != null && limits.containsKey(resource), service + " limits " + resource);
          assertTrue(Quantity.getAmountInBytes(requests.get(resource)).compareTo(Quantity.getAmountInBytes(limits.get(resource))) <= 0,
              service + " " + resource + " request exceeds its limit");
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void terminationGraceCoversPreStopAndGrpcShutdownGrace(String overlay) throws IOException {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    for (Workload workload : rendered.workloads()) {
      String service = workload.name();
      Container container = onlyContainer(workload);
      ConfigMap config = rendered.get(ConfigMap.class, service);
      Duration fromApp = applicationGrace(service);
      String configured = config.getData().get(GRACE_ENV);
      if (configured != null && fromApp != null) {
        assertEquals(fromApp, duration(configured),
            overlay + ": " + service + " ConfigMap " + GRACE_ENV + " disagrees with " + service + "/src/main/resources/application.yml");
      }
      Duration grace = configured != null ? duration(configured) : fromApp;
      assertNotNull(grace, overlay + ": " + service + ": no gRPC shutdown grace in its ConfigMap (" + GRACE_ENV + ") or application.yml");
      long preStop = 0;
      if (container.getLifecycle() != null && container.getLifecycle().getPreStop() != null) {
        assertNotNull(container.getLifecycle().getPreStop().getSleep(), service + " preStop is a sleep (the image needs no shell)");
        preStop = container.getLifecycle().getPreStop().getSleep().getSeconds();
      }
      // The gateway drains before its gRPC server stops: robots held, then told to reconnect.
      Duration drain = Duration.ZERO;
      if (service.equals("planner-gateway")) {
        String configuredDrain = config.getData().get(DRAIN_ENV);
        assertNotNull(configuredDrain, overlay + ": planner-gateway ConfigMap has no " + DRAIN_ENV);
        drain = duration(configuredDrain);
        Object fromAppDrain = applicationSetting(service, "vla", "gateway", "shutdown-grace");
        assertEquals(fromAppDrain == null ? null : duration(fromAppDrain.toString()), drain,
            overlay + ": planner-gateway ConfigMap " + DRAIN_ENV + " disagrees with its application.yml");
      }
      long termination = workload.pod().getTerminationGracePeriodSeconds();
      assertTrue(termination > preStop + Math.ceilDiv(drain.toMillis(), 1000) + Math.ceilDiv(grace.toMillis(), 1000),
          overlay + ": " + service + " terminationGracePeriodSeconds " + termination + " (expected: > preStop "
              + preStop + " s + drain " + drain.toSeconds() + " s + gRPC shutdown grace " + grace.toSeconds() + " s)");
    }
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void autoscalersScaleOnServedMetricsWithCpuFallback(String overlay) throws IOException {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    Set<String> adapterMetrics = prometheusAdapterMetrics();
    for (HorizontalPodAutoscaler autoscaler : rendered.autoscalers()) {
      String what = overlay + ": HPA " + name(autoscaler);
      assertTrue(autoscaler.getSpec().getMinReplicas() >= 1
          && autoscaler.getSpec().getMinReplicas() <= autoscaler.getSpec().getMaxReplicas(), what + " replica bounds");
      boolean cpuFallback = false;
      for (MetricSpec metric : autoscaler.getSpec().getMetrics()) {
        switch (metric.getType()) {
          case "Pods" -> assertTrue(adapterMetrics.contains(metric.getPods().getMetric().getName()),
              what + " scales on " + metric.getPods().getMetric().getName()
                  + ", which k8s/monitoring/prometheus-adapter-rules.yaml does not serve (" + adapterMetrics + ")");
          case "Resource" -> cpuFallback |= metric.getResource().getName().equals("cpu");
          default -> fail(what + ": unexpected metric type " + metric.getType());
        }
      }
      assertTrue(cpuFallback, what + " has no CPU metric to fall back on");
    }
    assertTrue(rendered.autoscalers().stream().anyMatch(a -> a.getSpec().getMetrics().stream().anyMatch(m -> m.getType().equals("Pods"))),
        overlay + ": no HPA scales on a custom metric");
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void connectionsAgeOutSoSessionsRebalanceWithoutCuttingOpenStreams(String overlay) {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    for (String service : List.of("policy-service", "planner-gateway")) {
      Map<String, String> config = rendered.get(ConfigMap.class, service).getData();
      Duration maxAge = duration(config.get("SPRING_GRPC_SERVER_KEEPALIVE_CONNECTION_MAXAGE"));
      assertTrue(maxAge.compareTo(Duration.ofMinutes(10)) <= 0, service + ": clients reconnect at least every " + maxAge);
      // grpc-java treats a grace of 1000 days or more as infinite; Spring's default (30 s) would cut sessions.
      assertTrue(duration(config.get("SPRING_GRPC_SERVER_KEEPALIVE_CONNECTION_GRACEPERIOD")).compareTo(Duration.ofDays(1000)) >= 0,
          service + ": open session streams outlive their connection's max age");
    }
    String target = rendered.get(ConfigMap.class, "planner-gateway").getData().get("VLA_GATEWAY_POLICY_TARGET");
    assertEquals("dns:///policy-service-headless." + NAMESPACE + ".svc.cluster.local:50052", target);
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void controllerBridgeNeverRunsTwoPodsForTheSameRobots(String overlay) {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    Workload bridge = rendered.workload("controller-bridge");
    if (bridge.object() instanceof StatefulSet shards) {
      // One pod per ordinal, each with its own robots (sharded-bridges checks the lists): a rolling
      // update stops a shard's pod before it starts the next. OnDelete would leave that to the operator.
      assertTrue(List.of("RollingUpdate", "OnDelete").contains(shards.getSpec().getUpdateStrategy().getType()),
          overlay + ": StatefulSet controller-bridge updateStrategy " + shards.getSpec().getUpdateStrategy().getType());
      assertNotNull(shards.getSpec().getReplicas(), overlay + ": a StatefulSet of shards says how many");
    } else {
      Deployment single = (Deployment) bridge.object();
      assertEquals(1, single.getSpec().getReplicas(), overlay + ": one bridge for all robots");
      assertEquals("Recreate", single.getSpec().getStrategy().getType(), overlay + ": never two bridges for the same robots");
    }
    assertTrue(rendered.autoscalers().stream().noneMatch(a -> a.getSpec().getScaleTargetRef().getName().equals("controller-bridge")));
    var resources = onlyContainer(bridge).getResources();
    assertEquals(resources.getRequests().get("cpu"), resources.getLimits().get("cpu"), "Guaranteed CPU for the 1 kHz loop");
    assertEquals(resources.getRequests().get("memory"), resources.getLimits().get("memory"), "Guaranteed QoS for the 1 kHz loop");
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void networkPoliciesAdmitTheRealCallPathsAndNothingElse(String overlay) {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    Map<String, String> namespaceLabels = new LinkedHashMap<>(rendered.namespaces().getFirst().getMetadata().getLabels());
    namespaceLabels.put("kubernetes.io/metadata.name", NAMESPACE);

    List<Endpoint> endpoints = new ArrayList<>();
    Map<Endpoint, List<String>> listening = new LinkedHashMap<>();
    for (Workload workload : rendered.workloads()) {
      Map<String, Integer> ports = namedPorts(onlyContainer(workload));
      Endpoint pod = Endpoint.pod(workload.name(), NAMESPACE, workload.eachPodsLabels().getFirst(), namespaceLabels, ports);
      endpoints.add(pod);
      listening.put(pod, ports.values().stream().map(p -> p + "/TCP").toList());
    }
    Endpoint stray = Endpoint.pod("unlabelled pod in vla-serve", NAMESPACE, Map.of("run", "debug"), namespaceLabels, Map.of());
    Endpoint prometheus = Endpoint.pod("prometheus", "monitoring", Map.of("app.kubernetes.io/name", "prometheus"),
        Map.of("kubernetes.io/metadata.name", "monitoring"), Map.of());
    Endpoint grafana = Endpoint.pod("grafana", "monitoring", Map.of("app.kubernetes.io/name", "grafana"),
        Map.of("kubernetes.io/metadata.name", "monitoring"), Map.of());
    Endpoint pipeline = Endpoint.pod("tokenizer client", "pipelines", Map.of("vla-serve.io/tokenizer-client", "true"),
        Map.of("kubernetes.io/metadata.name", "pipelines", "vla-serve.io/tokenizer-client", "true"), Map.of());
    Endpoint unlabelledPipeline = Endpoint.pod("unlabelled pod in pipelines", "pipelines", Map.of(),
        Map.of("kubernetes.io/metadata.name", "pipelines", "vla-serve.io/tokenizer-client", "true"), Map.of());
    Endpoint other = Endpoint.pod("pod in default", "default", Map.of("vla-serve.io/tokenizer-client", "true"),
        Map.of("kubernetes.io/metadata.name", "default"), Map.of());
    Endpoint dns = Endpoint.pod("kube-dns", "kube-system", Map.of("k8s-app", "kube-dns"),
        Map.of("kubernetes.io/metadata.name", "kube-system"), Map.of());
    Endpoint robot = Endpoint.external("robot on a private network", "192.168.10.20");
    Endpoint internet = Endpoint.external("internet host (planner LLM)", "198.51.100.7");
    endpoints.addAll(List.of(stray, prometheus, grafana, pipeline, unlabelledPipeline, other, dns, robot, internet));
    listening.put(dns, List.of("53/UDP", "53/TCP"));
    listening.put(internet, List.of("443/TCP", "80/TCP"));
    listening.put(robot, List.of("443/TCP", "22/TCP"));
    listening.put(prometheus, List.of("9090/TCP"));

    NetworkPolicyModel model = new NetworkPolicyModel(NAMESPACE, rendered.networkPolicies());
    Set<String> allowed = new TreeSet<>();
    for (Endpoint source : endpoints) {
      for (var destination : listening.entrySet()) {
        if (source == destination.getKey() || (!NAMESPACE.equals(source.namespace()) && !NAMESPACE.equals(destination.getKey().namespace()))) {
          continue;
        }
        for (String port : destination.getValue()) {
          String[] numberAndProtocol = port.split("/");
          if (model.allows(source, destination.getKey(), Integer.parseInt(numberAndProtocol[0]), numberAndProtocol[1])) {
            allowed.add(source.name() + " -> " + destination.getKey().name() + ":" + port);
          }
        }
      }
    }
    Set<String> expected = new TreeSet<>(List.of(
        "robot on a private network -> planner-gateway:50051/TCP",
        "internet host (planner LLM) -> planner-gateway:50051/TCP",
        "robot on a private network -> controller-bridge:50055/TCP",
        "internet host (planner LLM) -> controller-bridge:50055/TCP",
        "planner-gateway -> policy-service:50052/TCP",
        "planner-gateway -> controller-bridge:50054/TCP",
        "planner-gateway -> kube-dns:53/UDP",
        "planner-gateway -> kube-dns:53/TCP",
        "planner-gateway -> internet host (planner LLM):443/TCP",
        "tokenizer client -> tokenizer-service:50053/TCP",
        "prometheus -> planner-gateway:8081/TCP",
        "prometheus -> policy-service:8082/TCP",
        "prometheus -> tokenizer-service:8083/TCP",
        "prometheus -> controller-bridge:8084/TCP"));
    Set<String> missing = new TreeSet<>(expected);
    missing.removeAll(allowed);
    Set<String> extra = new TreeSet<>(allowed);
    extra.removeAll(expected);
    assertTrue(missing.isEmpty() && extra.isEmpty(),
        overlay + ": NetworkPolicies\n  block real call paths: " + missing + "\n  admit paths that are not real: " + extra);
  }

  /**
   * What is exposed outside the cluster is exactly what robots need: the gateway's session port and
   * the bridge's agent link. The ControllerBridge API (Execute, Halt, Resume, SetSafetyLimits), the
   * tokenizer and the policy stay inside: no LoadBalancer or NodePort Service targets them.
   */
  @ParameterizedTest
  @MethodSource("overlays")
  void onlyTheRobotsEntryPointsAreExposedOutsideTheCluster(String overlay) {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    Set<String> exposed = new TreeSet<>();
    for (Service service : rendered.services()) {
      String type = service.getSpec().getType();
      if (!"LoadBalancer".equals(type) && !"NodePort".equals(type)) {
        continue;
      }
      Workload workload = selectedWorkload(rendered, "Service " + name(service), service.getSpec().getSelector());
      Map<String, Integer> ports = namedPorts(onlyContainer(workload));
      for (ServicePort port : service.getSpec().getPorts()) {
        IntOrString target = port.getTargetPort();
        Integer resolved = target == null ? port.getPort()
            : target.getIntVal() != null ? target.getIntVal() : ports.get(target.getStrVal());
        exposed.add(workload.name() + ":" + resolved);
      }
    }
    assertEquals(new TreeSet<>(List.of("planner-gateway:50051", "controller-bridge:50055")), exposed,
        overlay + ": container ports reachable from outside the cluster");
  }

  /**
   * Every service serves TLS from its own Secret in every overlay: the {@code VLA_TLS_*} files from a
   * read-only, whole-directory Secret volume (never {@code subPath}, which renewals never reach),
   * a client-auth mode, and no {@code VLA_TLS_INSECURE}.
   */
  @ParameterizedTest
  @MethodSource("overlays")
  void everyServiceContainerServesTlsFromItsOwnSecret(String overlay) {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    for (String service : SERVICES) {
      PodSpec pod = rendered.workload(service).pod();
      for (Container container : pod.getContainers()) {
        Map<String, String> fromConfigMaps = new LinkedHashMap<>();
        for (EnvFromSource source : container.getEnvFrom() == null ? List.<EnvFromSource>of() : container.getEnvFrom()) {
          if (source.getConfigMapRef() != null) {
            fromConfigMaps.putAll(rendered.get(ConfigMap.class, source.getConfigMapRef().getName()).getData());
          }
        }
        List<String> problems = TlsManifestChecks.secretProblems(pod, container, service + "-tls", fromConfigMaps);
        assertTrue(problems.isEmpty(), overlay + ": " + service + " container " + container.getName() + ": " + problems);
      }
    }
    for (ConfigMap config : rendered.configMaps()) {
      assertFalse(config.getData().containsKey(TlsManifestChecks.INSECURE), overlay + ": ConfigMap " + name(config) + " sets "
          + TlsManifestChecks.INSECURE);
    }
  }

  /**
   * The HTTPS probes ask the actuator's probe groups, which must exist and, for readiness, wait for
   * what gRPC health waited for: every health indicator the service defines (the policy's model,
   * the bridge's control loops) and the warm-up every service has. Without that a policy pod would be Ready before its warm-up.
   */
  @ParameterizedTest
  @MethodSource("overlays")
  void probeGroupsAreEnabledAndReadinessWaitsForEveryHealthIndicator(String overlay) throws IOException {
    RenderedOverlay rendered = RenderedOverlay.of(overlay);
    for (String service : SERVICES) {
      Map<String, String> config = rendered.get(ConfigMap.class, service).getData();
      Object probesEnabled = applicationSetting(service, "management", "endpoint", "health", "probes", "enabled");
      assertTrue(Boolean.TRUE.equals(probesEnabled) || "true".equals(config.get("MANAGEMENT_ENDPOINT_HEALTH_PROBES_ENABLED")),
          overlay + ": " + service + " does not enable management.endpoint.health.probes (the probes' paths would be 404"
              + " outside Kubernetes detection)");
      Object fromApp = applicationSetting(service, "management", "endpoint", "health", "group", "readiness", "include");
      String include = config.getOrDefault("MANAGEMENT_ENDPOINT_HEALTH_GROUP_READINESS_INCLUDE", fromApp == null ? "" : fromApp.toString());
      Set<String> readiness = Set.of(include.replaceAll("[\\[\\]\\s]", "").split(","));
      for (String indicator : healthIndicators(service)) {
        assertTrue(readiness.contains(indicator), overlay + ": " + service + " readiness group " + readiness
            + " leaves out the health indicator \"" + indicator + "\" (gRPC health waited for it)");
      }
      if (!include.isEmpty()) {
        assertTrue(readiness.contains("readinessState"), overlay + ": " + service + " readiness group drops readinessState");
      }
    }
  }

  /**
   * The cert-manager overlay: a self-signed bootstrap Issuer, a CA Certificate, a CA Issuer, and for
   * every service a Certificate for its Secret naming every Service that selects its pods (as the
   * other services and robots dial them) and its SPIFFE identity, PKCS#8 ECDSA keys renewed with a
   * new key; the names the gateway dials are in the certificates of the services it dials.
   */
  @Test
  void certManagerOverlayIssuesEveryServiceItsIdentity() {
    RenderedOverlay rendered = RenderedOverlay.of("cert-manager");
    Map<String, GenericKubernetesResource> issuers = new LinkedHashMap<>();
    rendered.issuers().forEach(i -> issuers.put(name(i), i));
    Map<String, GenericKubernetesResource> bySecret = new LinkedHashMap<>();
    for (GenericKubernetesResource certificate : rendered.certificates()) {
      Map<String, Object> spec = CertManager.spec(certificate);
      String what = "Certificate " + name(certificate);
      assertNull(bySecret.put((String) spec.get("secretName"), certificate), what + ": another Certificate writes " + spec.get("secretName"));
      Map<String, Object> issuerRef = CertManager.map(spec.get("issuerRef"));
      assertTrue(issuerRef.get("kind") == null || "Issuer".equals(issuerRef.get("kind")), what + " issuer kind " + issuerRef.get("kind"));
      assertTrue(issuers.containsKey((String) issuerRef.get("name")), what + " issuer " + issuerRef.get("name") + " is not rendered");
      Duration duration = CertManager.duration((String) spec.get("duration"));
      Duration renewBefore = CertManager.duration((String) spec.get("renewBefore"));
      assertTrue(renewBefore.compareTo(Duration.ofDays(1)) >= 0 && renewBefore.multipliedBy(2).compareTo(duration) <= 0,
          what + " renews " + renewBefore + " before the end of " + duration + " (expected: at least a day, at most half)");
      Map<String, Object> key = CertManager.map(spec.get("privateKey"));
      assertEquals("PKCS8", key.get("encoding"), what + ": vla.tls.private-key reads PKCS#8 only");
      assertEquals("ECDSA", key.get("algorithm"), what + " key algorithm");
    }
    GenericKubernetesResource ca = bySecret.values().stream().filter(c -> Boolean.TRUE.equals(CertManager.spec(c).get("isCA")))
        .findFirst().orElseThrow(() -> new AssertionError("no CA Certificate (isCA: true)"));
    String bootstrap = (String) CertManager.map(CertManager.spec(ca).get("issuerRef")).get("name");
    assertTrue(CertManager.spec(issuers.get(bootstrap)).containsKey("selfSigned"), "the CA is signed by a self-signed Issuer");
    List<String> caIssuers = issuers.values().stream()
        .filter(i -> CertManager.spec(i).containsKey("ca")
            && CertManager.spec(ca).get("secretName").equals(CertManager.map(CertManager.spec(i).get("ca")).get("secretName")))
        .map(KustomizeManifestsTest::name).toList();
    assertEquals(1, caIssuers.size(), "one CA Issuer on the CA's Secret: " + caIssuers);

    for (String service : SERVICES) {
      GenericKubernetesResource certificate = bySecret.get(service + "-tls");
      assertNotNull(certificate, "no Certificate writes " + service + "-tls, which " + service + " mounts");
      Map<String, Object> spec = CertManager.spec(certificate);
      String what = "Certificate " + name(certificate) + " (" + service + ")";
      assertEquals(caIssuers.getFirst(), CertManager.map(spec.get("issuerRef")).get("name"), what + " is signed by the CA Issuer");
      assertEquals(List.of("spiffe://vla-serve/service/" + service), CertManager.strings(spec.get("uris")), what + " identity");
      assertTrue(CertManager.strings(spec.get("usages")).containsAll(List.of("server auth", "client auth", "digital signature")),
          what + " usages " + spec.get("usages") + " (a service is a server and a client of the others)");
      Map<String, Object> key = CertManager.map(spec.get("privateKey"));
      assertEquals("Always", key.get("rotationPolicy"), what + ": a new key on every renewal");
      assertEquals(256, key.get("size"), what + " key size");
      List<String> dnsNames = CertManager.strings(spec.get("dnsNames"));
      for (Service selecting : rendered.services()) {
        if (rendered.workload(service).selectedBy(selecting.getSpec().getSelector())) {
          String host = name(selecting);
          for (String dns : List.of(host, host + "." + NAMESPACE + ".svc", host + "." + NAMESPACE + ".svc.cluster.local")) {
            assertTrue(dnsNames.contains(dns), what + " does not name " + dns + " (Service " + host + "): " + dnsNames);
          }
        }
      }
    }
    Map<String, String> gateway = rendered.get(ConfigMap.class, "planner-gateway").getData();
    for (var target : Map.of("VLA_GATEWAY_POLICY_TARGET", "policy-service", "VLA_GATEWAY_CONTROLLER_TARGET", "controller-bridge").entrySet()) {
      String host = gateway.get(target.getKey()).replaceFirst("^dns:///", "").replaceFirst(":\\d+$", "");
      assertTrue(CertManager.strings(CertManager.spec(bySecret.get(target.getValue() + "-tls")).get("dnsNames")).contains(host),
          "the gateway dials " + host + " and checks that " + target.getValue() + "'s certificate names it");
    }
    GenericKubernetesResource viewer = bySecret.values().stream()
        .filter(c -> CertManager.strings(CertManager.spec(c).get("uris")).contains("spiffe://vla-serve/viewer/prometheus"))
        .findFirst().orElseThrow(() -> new AssertionError("no Certificate for Prometheus's viewer identity"));
    assertTrue(CertManager.strings(CertManager.spec(viewer).get("usages")).contains("client auth"), "the viewer is a client");
    assertFalse(CertManager.strings(CertManager.spec(viewer).get("usages")).contains("server auth"), "the viewer serves nothing");
  }

  /**
   * Prometheus scrapes every service over HTTPS, presenting the viewer certificate and checking the
   * service's against the CA and a name in the service's certificate (pods are scraped by address,
   * so each job names the host to check).
   */
  @Test
  @SuppressWarnings("unchecked")
  void prometheusScrapesEveryServiceOverHttpsAsTheViewer() throws IOException {
    RenderedOverlay rendered = RenderedOverlay.of("cert-manager");
    Map<String, Object> config = new Yaml().load(Files.readString(
        RenderedOverlay.home().resolve("k8s/monitoring/prometheus-scrape-config.yaml")));
    String viewerSecret = rendered.certificates().stream()
        .map(CertManager::spec)
        .filter(s -> CertManager.strings(s.get("uris")).contains("spiffe://vla-serve/viewer/prometheus"))
        .map(s -> (String) s.get("secretName")).findFirst().orElseThrow();
    String files = "/etc/prometheus/secrets/" + viewerSecret + "/";
    Set<String> scraped = new TreeSet<>();
    for (Map<String, Object> job : (List<Map<String, Object>>) config.get("scrape_configs")) {
      String what = "scrape job " + job.get("job_name");
      assertEquals("https", job.get("scheme"), what + " scheme");
      Map<String, Object> tls = (Map<String, Object>) job.get("tls_config");
      assertNotNull(tls, what + " has no tls_config");
      assertEquals(files + "ca.crt", tls.get("ca_file"), what + " CA");
      assertEquals(files + "tls.crt", tls.get("cert_file"), what + " client certificate (the viewer identity)");
      assertEquals(files + "tls.key", tls.get("key_file"), what + " client key");
      assertTrue(tls.get("insecure_skip_verify") == null || Boolean.FALSE.equals(tls.get("insecure_skip_verify")), what + " skips verification");
      String keptApp = ((List<Map<String, Object>>) job.get("relabel_configs")).stream()
          .filter(r -> "keep".equals(r.get("action"))
              && List.of("__meta_kubernetes_pod_label_app_kubernetes_io_name").equals(r.get("source_labels")))
          .map(r -> (String) r.get("regex")).findFirst().orElseThrow(() -> new AssertionError(what + " keeps no app"));
      GenericKubernetesResource certificate = rendered.certificates().stream()
          .filter(c -> (keptApp + "-tls").equals(CertManager.spec(c).get("secretName"))).findFirst()
          .orElseThrow(() -> new AssertionError(what + " scrapes " + keptApp + ", which has no certificate"));
      assertTrue(CertManager.strings(CertManager.spec(certificate).get("dnsNames")).contains((String) tls.get("server_name")),
          what + " checks the name " + tls.get("server_name") + ", which " + keptApp + "'s certificate does not hold");
      scraped.add(keptApp);
    }
    assertEquals(new TreeSet<>(SERVICES), scraped, "services scraped");
  }

  @Test
  void gpuOverlayRunsTensorRtOnAGpuNodeAndKeepsItsPlans() {
    RenderedOverlay gpu = RenderedOverlay.of("gpu");
    Deployment policy = gpu.get(Deployment.class, "policy-service");
    PodSpec pod = policy.getSpec().getTemplate().getSpec();
    Container container = onlyContainer(Workload.of(policy));
    assertEquals("tensorrt", gpu.get(ConfigMap.class, "policy-service").getData().get("VLA_POLICY_ENGINE"));
    // TensorRT runs prefill + decode graphs; the base's default decodes in one pass.
    assertEquals("/opt/vla/models/tiny-vla", gpu.get(ConfigMap.class, "policy-service").getData().get("VLA_POLICY_MODEL"));
    assertEquals(new Quantity("1"), container.getResources().getLimits().get("nvidia.com/gpu"));
    assertEquals("true", pod.getNodeSelector().get("nvidia.com/gpu.present"));
    assertTrue(pod.getTolerations().stream().anyMatch(t -> "nvidia.com/gpu".equals(t.getKey())), "tolerates the GPU taint");
    assertTrue(container.getImage().contains("policy-service-gpu"), "runs the image with CUDA/TensorRT bundled: " + container.getImage());
    VolumeMount plans = container.getVolumeMounts().stream()
        .filter(m -> m.getMountPath().equals("/home/vla/.cache/vla-serve/tensorrt")).findFirst()
        .orElseThrow(() -> new AssertionError("no volume at TensorRtEngine.defaultPlanCacheDirectory() for user.home=/home/vla"));
    Volume volume = pod.getVolumes().stream().filter(v -> v.getName().equals(plans.getName())).findFirst().orElseThrow();
    assertNotNull(volume.getPersistentVolumeClaim(), "the plan cache outlives pods");
    for (Workload other : gpu.workloads()) {
      if (other.object() != policy) {
        assertFalse(onlyContainer(other).getResources().getLimits().containsKey("nvidia.com/gpu"), other + " takes a GPU");
      }
    }
  }

  @Test
  void cpuOverlayRunsOnnxRuntimeWithoutGpus() {
    RenderedOverlay cpu = RenderedOverlay.of("cpu");
    assertEquals("onnxruntime", cpu.get(ConfigMap.class, "policy-service").getData().get("VLA_POLICY_ENGINE"));
    for (Workload workload : cpu.workloads()) {
      assertFalse(onlyContainer(workload).getResources().getLimits().containsKey("nvidia.com/gpu"), workload.toString());
      var nodeSelector = workload.pod().getNodeSelector();
      assertTrue(nodeSelector == null || nodeSelector.isEmpty(), workload + " node selector " + nodeSelector);
    }
  }

  /**
   * The sharded-bridges overlay: the bridge as a StatefulSet of shards, each pod driving its own
   * robots (no robot on two bridges), reachable by its own DNS name behind a headless Service and by
   * its own agents LoadBalancer, and the gateway told about every shard.
   */
  @Test
  void shardedBridgesGiveEachRobotExactlyOneBridge() throws IOException {
    RenderedOverlay rendered = RenderedOverlay.of("sharded-bridges");
    assertTrue(rendered.find(Deployment.class, "controller-bridge").isEmpty(), "the base's single-bridge Deployment remains");
    assertTrue(rendered.find(Service.class, "controller-bridge-agents").isEmpty(),
        "the base's agents Service remains: it would send a robot's agent to any shard");
    StatefulSet shards = rendered.get(StatefulSet.class, "controller-bridge");
    Workload workload = Workload.of(shards);
    String name = workload.name();
    int replicas = shards.getSpec().getReplicas();
    assertTrue(replicas >= 2, "shards: " + replicas);
    assertEquals("Parallel", shards.getSpec().getPodManagementPolicy(), "shards start and stop independently");
    assertEquals("RollingUpdate", shards.getSpec().getUpdateStrategy().getType());
    Map<String, Integer> ports = namedPorts(onlyContainer(workload));

    Service governing = rendered.get(Service.class, shards.getSpec().getServiceName());
    assertEquals("None", governing.getSpec().getClusterIP(), "serviceName " + name(governing) + " must be headless to give each pod a DNS name");
    assertTrue(workload.selectedBy(governing.getSpec().getSelector()), "Service " + name(governing) + " selects the shards");
    assertTrue(governing.getSpec().getPorts().stream().anyMatch(p -> p.getPort().equals(ports.get("grpc"))),
        "Service " + name(governing) + " has the ControllerBridge port " + ports.get("grpc"));

    List<String> podNames = new ArrayList<>();
    for (int ordinal = 0; ordinal < replicas; ordinal++) {
      podNames.add(name + "-" + ordinal);
    }
    Set<String> shardsWithAgents = new TreeSet<>();
    for (Service service : rendered.services()) {
      if (!"LoadBalancer".equals(service.getSpec().getType()) || !workload.selectedBy(service.getSpec().getSelector())) {
        continue;
      }
      List<String> selected = workload.eachPodsLabels().stream()
          .filter(labels -> LabelSelectors.matches(service.getSpec().getSelector(), labels))
          .map(labels -> labels.get(Workload.POD_NAME_LABEL)).toList();
      assertEquals(1, selected.size(), "Service " + name(service) + " sends robots' agents to " + selected
          + " (expected: exactly one shard, the one driving them)");
      assertEquals(selected.getFirst() + "-agents", name(service), "agents Service name of shard " + selected.getFirst());
      assertEquals("Local", service.getSpec().getExternalTrafficPolicy(), "Service " + name(service) + " externalTrafficPolicy");
      assertEquals(List.of("agents"), service.getSpec().getPorts().stream().map(p -> p.getTargetPort().getStrVal()).toList(),
          "Service " + name(service) + " exposes the agent link only");
      shardsWithAgents.add(selected.getFirst());
    }
    assertEquals(new TreeSet<>(podNames), shardsWithAgents, "shards with an agents Service");

    List<String> expectedTargets = podNames.stream().map(pod -> "dns:///" + pod + "." + name(governing) + "." + NAMESPACE
        + ".svc.cluster.local:" + ports.get("grpc")).toList();
    String targets = rendered.get(ConfigMap.class, "planner-gateway").getData().get("VLA_GATEWAY_CONTROLLERSHARDS");
    assertNotNull(targets, "the gateway is not told about the shards (VLA_GATEWAY_CONTROLLERSHARDS)");
    assertEquals(expectedTargets, List.of(targets.split(",")), "the gateway's shards: one target per replica");

    Container container = onlyContainer(workload);
    List<EnvVar> env = container.getEnv();
    List<String> envNames = env.stream().map(EnvVar::getName).toList();
    int podName = envNames.indexOf("POD_NAME");
    int configImport = envNames.indexOf("SPRING_CONFIG_IMPORT");
    assertTrue(podName >= 0 && configImport > podName, "POD_NAME must come before SPRING_CONFIG_IMPORT, which expands it: " + envNames);
    assertEquals("metadata.name", env.get(podName).getValueFrom().getFieldRef().getFieldPath(), "POD_NAME from the downward API");
    Matcher importFile = Pattern.compile("optional:file:(/.+)/\\$\\(POD_NAME\\)\\.properties").matcher(env.get(configImport).getValue());
    assertTrue(importFile.matches(), "SPRING_CONFIG_IMPORT " + env.get(configImport).getValue()
        + " (expected: optional:file:<dir>/$(POD_NAME).properties)");
    VolumeMount mount = container.getVolumeMounts().stream().filter(m -> m.getMountPath().equals(importFile.group(1))).findFirst()
        .orElseThrow(() -> new AssertionError("nothing mounted at " + importFile.group(1)));
    Volume volume = workload.pod().getVolumes().stream().filter(v -> v.getName().equals(mount.getName())).findFirst().orElseThrow();
    assertNotNull(volume.getConfigMap(), "the robot lists come from a ConfigMap");
    Map<String, String> lists = rendered.get(ConfigMap.class, volume.getConfigMap().getName()).getData();
    assertEquals(new TreeSet<>(podNames.stream().map(pod -> pod + ".properties").toList()), new TreeSet<>(lists.keySet()),
        "one robot list per shard");

    Map<String, String> shardOfRobot = new LinkedHashMap<>();
    Map<String, List<String>> standbyOf = new LinkedHashMap<>();
    for (String pod : podNames) {
      java.util.Properties properties = new java.util.Properties();
      properties.load(new java.io.StringReader(lists.get(pod + ".properties")));
      List<String> robots = ids(properties, "vla.controller.remote-robots");
      assertFalse(robots.isEmpty(), pod + " drives no robot");
      for (String robot : robots) {
        String other = shardOfRobot.put(robot, pod);
        assertTrue(other == null || other.equals(pod), "robot " + robot + " is on two bridges: " + other + " and " + pod);
      }
      standbyOf.put(pod, ids(properties, "vla.controller.standby-robots"));
      assertEquals("0", properties.getProperty("vla.controller.simulated-robots", "0"), pod + " simulated robots");
    }
    // A standby is another shard's robot: the shard takes it while its own drains.
    Set<String> covered = new TreeSet<>();
    standbyOf.forEach((pod, standby) -> standby.forEach(robot -> {
      assertTrue(shardOfRobot.containsKey(robot), pod + " stands by for " + robot + ", which no shard owns");
      assertFalse(shardOfRobot.get(robot).equals(pod), pod + " stands by for its own robot " + robot);
      covered.add(robot);
    }));
    assertEquals(new TreeSet<>(shardOfRobot.keySet()), covered, "every robot has a standby shard to move to when"
        + " its own drains");
    assertEquals("0", rendered.get(ConfigMap.class, name).getData().get("VLA_CONTROLLER_SIMULATEDROBOTS"),
        "simulated robots on every shard would be one robot id (sim-0) on two bridges");
  }

  /** The robot ids of a comma-separated list property, absent for none. */
  private static List<String> ids(java.util.Properties properties, String key) {
    return List.of(properties.getProperty(key, "").split(",")).stream().map(String::trim).filter(id -> !id.isEmpty())
        .toList();
  }

  /** Each shard runs the base Deployment's pod, plus its robot list (POD_NAME, SPRING_CONFIG_IMPORT, the mount). */
  @Test
  @SuppressWarnings("unchecked")
  void shardedBridgesRunTheBaseBridgePod() {
    Workload single = RenderedOverlay.of("cpu").workload("controller-bridge");
    Workload shards = RenderedOverlay.of("sharded-bridges").workload("controller-bridge");
    var mapper = tools.jackson.databind.json.JsonMapper.builder().build();
    Map<String, Object> expected = mapper.convertValue(single.template(), Map.class);
    Map<String, Object> actual = mapper.convertValue(shards.template(), Map.class);
    Map<String, Object> pod = (Map<String, Object>) actual.get("spec");
    Map<String, Object> container = ((List<Map<String, Object>>) pod.get("containers")).getFirst();
    ((List<Map<String, Object>>) container.get("env")).removeIf(e -> List.of("POD_NAME", "SPRING_CONFIG_IMPORT").contains(e.get("name")));
    ((List<Map<String, Object>>) container.get("volumeMounts")).removeIf(m -> "shards".equals(m.get("name")));
    ((List<Map<String, Object>>) pod.get("volumes")).removeIf(v -> "shards".equals(v.get("name")));
    assertEquals(expected, actual, "the StatefulSet's pod template differs from k8s/base's controller-bridge Deployment's");
  }

  private static void secretKeyExists(RenderedOverlay rendered, String what, String secret, String key) {
    if (rendered.certificates().stream().anyMatch(c -> secret.equals(CertManager.spec(c).get("secretName")))) {
      assertTrue(key == null || TLS_KEYS.contains(key), what + ": Secret " + secret + " (cert-manager) has no key " + key);
      return;
    }
    var renderedSecret = rendered.find(io.fabric8.kubernetes.api.model.Secret.class, secret);
    if (renderedSecret.isPresent()) {
      var data = new java.util.HashSet<String>();
      if (renderedSecret.get().getData() != null) {
        data.addAll(renderedSecret.get().getData().keySet());
      }
      if (renderedSecret.get().getStringData() != null) {
        data.addAll(renderedSecret.get().getStringData().keySet());
      }
      assertTrue(key == null || data.contains(key), what + ": Secret " + secret + " has no key " + key);
      return;
    }
    assertTrue(EXTERNAL_SECRETS.containsKey(secret),
        what + ": Secret " + secret + " is neither rendered nor one docs/deploy.md creates (" + EXTERNAL_SECRETS.keySet() + ")");
    assertTrue(key == null || EXTERNAL_SECRETS.get(secret).contains(key), what + ": Secret " + secret + " key " + key);
  }

  /** The one Deployment or StatefulSet whose pods (any of them) {@code selector} selects. */
  private static Workload selectedWorkload(RenderedOverlay rendered, String what, Map<String, String> selector) {
    List<Workload> selected = rendered.workloads().stream().filter(w -> w.selectedBy(selector)).toList();
    assertEquals(1, selected.size(), rendered.overlay + ": " + what + " selector " + selector + " selects " + selected);
    return selected.getFirst();
  }

  /** The gRPC shutdown grace in the module's application.yml, if the module has one. */
  private static Duration applicationGrace(String module) throws IOException {
    Object grace = applicationSetting(module, "spring", "grpc", "server", "shutdown", "grace-period");
    return grace == null ? null : duration(grace.toString());
  }

  /** A setting from the module's application.yml, by its path of keys; null where absent. */
  private static Object applicationSetting(String module, String... keys) throws IOException {
    Path yaml = RenderedOverlay.home().resolve(module).resolve("src/main/resources/application.yml");
    if (!Files.exists(yaml)) {
      return null;
    }
    Object node = new Yaml().load(Files.readString(yaml));
    for (String key : keys) {
      if (!(node instanceof Map<?, ?> map)) {
        return null;
      }
      node = map.get(key);
    }
    return node;
  }

  private static final Pattern HEALTH_INDICATOR = Pattern.compile("@Component\\(\"(\\w+)\"\\)[^{]*implements\\s+HealthIndicator");

  /** The names of the health indicators the module defines ({@code @Component("name") ... implements HealthIndicator}). */
  private static Set<String> healthIndicators(String module) throws IOException {
    // service-support gives every service its warm-up's indicator (UP at once without warm-up tasks).
    Set<String> names = new TreeSet<>(Set.of("warmUp"));
    try (var files = Files.walk(RenderedOverlay.home().resolve(module).resolve("src/main/java"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        Matcher matcher = HEALTH_INDICATOR.matcher(Files.readString(file));
        while (matcher.find()) {
          names.add(matcher.group(1));
        }
      }
    }
    return names;
  }

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  static Duration duration(String text) {
    Matcher matcher = DURATION.matcher(text.trim());
    if (!matcher.matches()) {
      throw new IllegalArgumentException("duration \"" + text + "\" (expected: a number with ms, s, m, h or d)");
    }
    long amount = Long.parseLong(matcher.group(1));
    return switch (matcher.group(2)) {
      case "ms" -> Duration.ofMillis(amount);
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      default -> Duration.ofDays(amount);
    };
  }

  /** Metric names k8s/monitoring/prometheus-adapter-rules.yaml serves as custom metrics. */
  @SuppressWarnings("unchecked")
  private static Set<String> prometheusAdapterMetrics() throws IOException {
    Map<String, Object> values = new Yaml().load(Files.readString(
        RenderedOverlay.home().resolve("k8s/monitoring/prometheus-adapter-rules.yaml")));
    List<Map<String, Object>> rules = (List<Map<String, Object>>) ((Map<String, Object>) values.get("rules")).get("custom");
    return rules.stream().map(r -> (String) ((Map<String, Object>) r.get("name")).get("as")).collect(Collectors.toSet());
  }

  private static Container onlyContainer(Workload workload) {
    List<Container> containers = workload.pod().getContainers();
    assertEquals(1, containers.size(), workload + " containers");
    return containers.getFirst();
  }

  private static Map<String, Integer> namedPorts(Container container) {
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (ContainerPort port : container.getPorts()) {
      ports.put(port.getName(), port.getContainerPort());
    }
    return ports;
  }

  private static String name(HasMetadata object) {
    return object.getMetadata().getName();
  }
}
