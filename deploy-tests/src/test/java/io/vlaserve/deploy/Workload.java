package io.vlaserve.deploy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What runs a service's pods, a Deployment or a StatefulSet, as the checks need it: its name, pod
 * template, selector and the labels its pods get. The checks of pods (lockdown, probes, TLS,
 * references, NetworkPolicies) hold for both kinds alike.
 *
 * @param object the Deployment or StatefulSet itself
 * @param replicas the replica count; null where an HPA owns it
 */
record Workload(HasMetadata object, PodTemplateSpec template, LabelSelector selector, Integer replicas) {
  /** The label the StatefulSet controller puts on each pod, with the pod's name. */
  static final String POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
  /** The label the StatefulSet controller puts on each pod, with its ordinal (Kubernetes 1.28+). */
  static final String POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

  static Workload of(Deployment deployment) {
    return new Workload(deployment, deployment.getSpec().getTemplate(), deployment.getSpec().getSelector(),
        deployment.getSpec().getReplicas());
  }

  static Workload of(StatefulSet statefulSet) {
    return new Workload(statefulSet, statefulSet.getSpec().getTemplate(), statefulSet.getSpec().getSelector(),
        statefulSet.getSpec().getReplicas());
  }

  String name() {
    return object.getMetadata().getName();
  }

  String kind() {
    return object.getKind();
  }

  boolean isStatefulSet() {
    return object instanceof StatefulSet;
  }

  PodSpec pod() {
    return template.getSpec();
  }

  /** The labels of the pod template. */
  Map<String, String> podLabels() {
    return template.getMetadata().getLabels();
  }

  /**
   * The labels of each pod it runs: the template's, and for a StatefulSet also each pod's name and
   * ordinal, which Services may select one pod by. A Deployment's pods are alike: one entry.
   */
  List<Map<String, String>> eachPodsLabels() {
    if (!isStatefulSet()) {
      return List.of(podLabels());
    }
    List<Map<String, String>> pods = new ArrayList<>();
    int count = replicas == null ? 1 : replicas;
    for (int ordinal = 0; ordinal < count; ordinal++) {
      Map<String, String> labels = new LinkedHashMap<>(podLabels());
      labels.put(POD_NAME_LABEL, name() + "-" + ordinal);
      labels.put(POD_INDEX_LABEL, String.valueOf(ordinal));
      pods.add(labels);
    }
    return pods;
  }

  /** Whether a Service-style selector selects any of its pods. */
  boolean selectedBy(Map<String, String> selector) {
    return eachPodsLabels().stream().anyMatch(labels -> LabelSelectors.matches(selector, labels));
  }

  /** Whether a label selector (PDB, NetworkPolicy) selects any of its pods. */
  boolean selectedBy(LabelSelector selector) {
    return eachPodsLabels().stream().anyMatch(labels -> LabelSelectors.matches(selector, labels));
  }

  @Override
  public String toString() {
    return kind() + " " + name();
  }
}
