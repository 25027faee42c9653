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
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns parsed YAML documents into fabric8's typed Kubernetes objects, strictly.
 *
 * <p>fabric8's model classes accept any field: what they do not know lands in
 * {@code additionalProperties} and is written back unchanged, so neither parsing nor re-serialising
 * catches a misspelt field ({@code readinesProbe}) or one at the wrong level. This walks every
 * object reachable from the parsed resource and reports each such field with its path. Only the
 * API versions and kinds the manifests use are known; anything else is an error too. cert-manager's
 * Certificate and Issuer become {@code GenericKubernetesResource}s checked by {@link CertManager}.
 * Thread-safe.
 */
final class StrictKubernetesTypes {
  private static final Map<String, Class<? extends HasMetadata>> TYPES = Map.ofEntries(
      Map.entry("v1/Namespace", Namespace.class),
      Map.entry("v1/ServiceAccount", ServiceAccount.class),
      Map.entry("v1/ConfigMap", ConfigMap.class),
      Map.entry("v1/Secret", Secret.class),
      Map.entry("v1/Service", Service.class),
      Map.entry("v1/PersistentVolumeClaim", PersistentVolumeClaim.class),
      Map.entry("apps/v1/Deployment", Deployment.class),
      Map.entry("apps/v1/StatefulSet", StatefulSet.class),
      Map.entry("autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler.class),
      Map.entry("policy/v1/PodDisruptionBudget", PodDisruptionBudget.class),
      Map.entry("networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class));

  private static final JsonMapper MAPPER = JsonMapper.builder().build();

  private StrictKubernetesTypes() {}

  /** The typed object for one YAML document, or an exception naming every field the API type lacks. */
  static HasMetadata parse(Map<String, Object> document) {
    String type = document.get("apiVersion") + "/" + document.get("kind");
    if (CertManager.handles(document)) {
      GenericKubernetesResource resource = MAPPER.convertValue(document, GenericKubernetesResource.class);
      List<String> unknown = new ArrayList<>(CertManager.unknownFields(document));
      unknown.addAll(unknownFields(resource.getMetadata()));
      if (!unknown.isEmpty()) {
        throw new IllegalArgumentException(type + " " + resource.getMetadata().getName()
            + ": fields unknown to cert-manager's API: " + unknown);
      }
      return resource;
    }
    Class<? extends HasMetadata> typeClass = TYPES.get(type);
    if (typeClass == null) {
      throw new IllegalArgumentException("unknown apiVersion/kind " + type + " (expected one of " + TYPES.keySet()
          + " or cert-manager.io/v1 " + CertManager.KINDS + ")");
    }
    HasMetadata resource = MAPPER.convertValue(document, typeClass);
    List<String> unknown = unknownFields(resource);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(type + " " + resource.getMetadata().getName()
          + ": fields unknown to the Kubernetes API type: " + unknown);
    }
    return resource;
  }

  /** Paths of every field kept in an {@code additionalProperties} map anywhere in {@code root}. */
  static List<String> unknownFields(Object root) {
    List<String> unknown = new ArrayList<>();
    visit(root, root.getClass().getSimpleName(), unknown, Collections.newSetFromMap(new IdentityHashMap<>()));
    return unknown;
  }

  private static void visit(Object value, String path, List<String> unknown, Set<Object> seen) {
    if (value == null || !seen.add(value)) {
      return;
    }
    if (value instanceof Map<?, ?> map) {
      map.forEach((key, item) -> visit(item, path + "." + key, unknown, seen));
      return;
    }
    if (value instanceof List<?> list) {
      for (int i = 0; i < list.size(); i++) {
        visit(list.get(i), path + "[" + i + "]", unknown, seen);
      }
      return;
    }
    if (!value.getClass().getName().startsWith("io.fabric8.")) {
      return;
    }
    for (Method getter : value.getClass().getMethods()) {
      if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
          || !getter.getName().startsWith("get") || getter.getName().equals("getClass")) {
        continue;
      }
      Object result = invoke(getter, value);
      if (getter.getName().equals("getAdditionalProperties")) {
        if (result instanceof Map<?, ?> extra) {
          extra.keySet().forEach(key -> unknown.add(path + "." + key));
        }
      } else {
        String field = Character.toLowerCase(getter.getName().charAt(3)) + getter.getName().substring(4);
        visit(result, path + "." + field, unknown, seen);
      }
    }
  }

  private static Object invoke(Method getter, Object target) {
    try {
      return getter.invoke(target);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("cannot read " + getter + " of " + target.getClass().getName(), e);
    }
  }
}
