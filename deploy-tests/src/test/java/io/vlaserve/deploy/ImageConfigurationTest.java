package io.vlaserve.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.yaml.snakeyaml.Yaml;

/**
 * The Jib configuration (root pom, profile "images") agrees with the manifests in k8s/: the
 * image's user is the pods' runAsUser, the policy image holds the models where the ConfigMaps point,
 * user.home is where the gpu overlay mounts the TensorRT plan cache, the controller runs ZGC. Cheap:
 * reads the poms and YAML files, builds no image and needs no kubectl.
 */
class ImageConfigurationTest {
  private static final Path HOME = RenderedOverlay.home();

  @Test
  void imagesRunAsTheUserThePodsRequire() throws Exception {
    Element jib = jibConfiguration();
    String user = text(jib, "container", "user");
    assertEquals("65532:65532", user);
    for (Map<String, Object> deployment : baseObjects("Deployment")) {
      Map<String, Object> pod = map(map(map(deployment, "spec"), "template"), "spec");
      Map<String, Object> security = map(pod, "securityContext");
      assertEquals(65532, security.get("runAsUser"), "runAsUser of " + map(deployment, "metadata").get("name"));
      assertEquals(65532, security.get("runAsGroup"), "runAsGroup of " + map(deployment, "metadata").get("name"));
    }
  }

  @Test
  void jvmFlagsSuitContainersAndTheManifests() throws Exception {
    List<String> flags = children(child(jibConfiguration(), "container"), "jvmFlags");
    for (String flag : List.of("-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "${image.gc}",
        "-Djava.io.tmpdir=/tmp", "-Duser.home=/home/vla")) {
      assertTrue(flags.contains(flag), "jvmFlags lack " + flag + ": " + flags);
    }
    assertEquals("-XX:+UseG1GC", property(HOME.resolve("pom.xml"), "image.gc"));
    assertEquals("-XX:+UseZGC", property(HOME.resolve("controller-bridge/pom.xml"), "image.gc"), "the 1 kHz loop runs ZGC");
    String gpuPatch = Files.readString(HOME.resolve("k8s/overlays/gpu/policy-service-gpu.yaml"));
    assertTrue(gpuPatch.contains("mountPath: /home/vla/.cache/vla-serve/tensorrt"),
        "the plan cache volume sits at TensorRtEngine.defaultPlanCacheDirectory() under -Duser.home=/home/vla");
  }

  @Test
  void policyImageHoldsTheModelsTheConfigMapsPointAt() throws Exception {
    Path pom = HOME.resolve("policy-service/pom.xml");
    Path from = Path.of(property(pom, "image.extra-from").replace("${project.basedir}", HOME.resolve("policy-service").toString()));
    String into = property(pom, "image.extra-into");
    List<String> excluded = List.of(property(pom, "image.extra-excludes").split(","));
    Map<String, Object> config = baseObjects("ConfigMap").stream()
        .filter(c -> "policy-service".equals(map(c, "metadata").get("name"))).findFirst().orElseThrow();
    // The base's default, and the autoregressive package the gpu overlay points at (KustomizeManifestsTest).
    for (Object model : List.of(map(config, "data").get("VLA_POLICY_MODEL"), "/opt/vla/models/tiny-vla")) {
      assertTrue(model.toString().startsWith(into + "/"), model + " lies under the image's " + into);
      String name = model.toString().substring(into.length() + 1);
      assertTrue(Files.isRegularFile(from.resolve(name).resolve("model.json")), "the policy image bakes in " + from.resolve(name));
      assertTrue(excluded.stream().noneMatch(pattern -> pattern.equals(name) || pattern.startsWith(name + "/")),
          name + " is excluded from the image: " + excluded);
    }
    assertTrue(excluded.containsAll(List.of("*/tooling/**", "*/train.sh", "test-fixtures/**")),
        "training tooling and test fixtures stay out of the image: " + excluded);
  }

  private static Element jibConfiguration() throws Exception {
    NodeList plugins = xml(HOME.resolve("pom.xml")).getElementsByTagName("plugin");
    for (int i = 0; i < plugins.getLength(); i++) {
      Element plugin = (Element) plugins.item(i);
      if ("jib-maven-plugin".equals(text(plugin, "artifactId")) && child(plugin, "configuration") != null) {
        return child(plugin, "configuration");
      }
    }
    throw new AssertionError("no jib-maven-plugin configuration in the root pom");
  }

  private static String property(Path pom, String name) throws Exception {
    Element properties = child(xml(pom).getDocumentElement(), "properties");
    String value = properties == null ? null : text(properties, name);
    if (value == null) {
      throw new AssertionError(pom + " sets no property " + name);
    }
    return value;
  }

  private static Document xml(Path file) throws Exception {
    return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
  }

  private static Element child(Element parent, String name) {
    for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
      if (node instanceof Element element && element.getTagName().equals(name)) {
        return element;
      }
    }
    return null;
  }

  private static String text(Element parent, String... path) {
    Element at = parent;
    for (String name : path) {
      at = child(at, name);
      if (at == null) {
        return null;
      }
    }
    return at.getTextContent().trim();
  }

  private static List<String> children(Element parent, String name) {
    List<String> values = new ArrayList<>();
    for (Node node = child(parent, name).getFirstChild(); node != null; node = node.getNextSibling()) {
      if (node instanceof Element element) {
        values.add(element.getTextContent().trim());
      }
    }
    return values;
  }

  /** Objects of a kind in k8s/base, as plain YAML maps. */
  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> baseObjects(String kind) throws Exception {
    List<Map<String, Object>> objects = new ArrayList<>();
    try (var files = Files.list(HOME.resolve("k8s/base"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        for (Object document : new Yaml().loadAll(Files.readString(file))) {
          if (document instanceof Map<?, ?> map && kind.equals(map.get("kind"))) {
            objects.add((Map<String, Object>) map);
          }
        }
      }
    }
    return objects;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Map<String, Object> parent, String key) {
    Object value = parent.get(key);
    return value == null ? new HashMap<>() : (Map<String, Object>) value;
  }
}
