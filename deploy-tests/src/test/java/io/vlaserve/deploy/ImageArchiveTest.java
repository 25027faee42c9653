package io.vlaserve.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Checks the image archives bin/build-images.sh writes to {@code target/images/}: what runs (user,
 * entrypoint, JVM flags, environment) and what is inside (the app, the model for the policy, a
 * {@code java} on the PATH). Image building is not part of the default build, so each service is
 * skipped, saying so, when its archive is absent; bin/build-images.sh runs this test with
 * {@code -Dvla.images.required=<the images it built>}, and a missing archive among those fails.
 */
class ImageArchiveTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String APP_ROOT = "opt/vla/app";

  @ParameterizedTest
  @ValueSource(strings = {"planner-gateway", "policy-service", "tokenizer-service", "controller-bridge", "policy-service-gpu"})
  void imageRunsTheServiceAsNonRootWithContainerJvmFlags(String service) throws IOException {
    Path archive = images().resolve(service + ".tar");
    String module = service.replace("-gpu", "");
    boolean isApp = Files.exists(RenderedOverlay.home().resolve(module).resolve("src/main/resources/application.yml"));
    if (!Files.exists(archive)) {
      boolean required = List.of(System.getProperty("vla.images.required", "").split(",")).contains(service);
      assertFalse(required, "bin/build-images.sh built no " + archive);
      Assumptions.abort("no " + archive + (isApp ? ": build images with bin/build-images.sh (not part of the default build)"
          : ": " + service + " is not a Spring Boot app yet (no application.yml)"));
    }
    Image image = Image.read(archive);
    JsonNode config = image.config.get("config");

    assertEquals("vla-serve/" + service + ":" + projectVersion(),
        image.manifest.get(0).get("RepoTags").get(0).asString(), "image name and tag");
    assertEquals("65532:65532", config.get("User").asString(), "runs as the non-root user the k8s securityContext names");
    assertEquals("/opt/vla", config.get("WorkingDir").asString());
    List<String> env = strings(config.get("Env"));
    assertTrue(env.contains("VLA_HOME=/opt/vla"), "VLA_HOME in " + env);

    List<String> entrypoint = strings(config.get("Entrypoint"));
    assertEquals("java", entrypoint.getFirst(), "entrypoint " + entrypoint);
    for (String flag : List.of("-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-Djava.io.tmpdir=/tmp",
        "-Duser.home=/home/vla", "-Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp", "--enable-native-access=ALL-UNNAMED")) {
      assertTrue(entrypoint.contains(flag), service + " entrypoint lacks " + flag + ": " + entrypoint);
    }
    String gc = module.equals("controller-bridge") ? "-XX:+UseZGC" : "-XX:+UseG1GC";
    assertTrue(entrypoint.contains(gc), service + " runs " + gc + ": " + entrypoint);
    assertEquals(1, entrypoint.stream().filter(f -> f.startsWith("-XX:+Use") && f.endsWith("GC")).count(), "one GC: " + entrypoint);

    String mainClass = entrypoint.getLast();
    assertTrue(image.files.containsKey(APP_ROOT + "/classes/" + mainClass.replace('.', '/') + ".class"),
        "main class " + mainClass + " is not in the image");
    assertTrue(image.files.containsKey(APP_ROOT + "/jib-classpath-file"));
    assertTrue(image.files.keySet().stream().anyMatch(f -> f.startsWith(APP_ROOT + "/libs/grpc-")), "gRPC libraries in the image");
    for (var file : image.files.values()) {
      if (file.path().startsWith("opt/vla")) {
        assertEquals(0, file.uid(), file.path() + " is owned by root: the app cannot change its own code");
        assertEquals(0, file.mode() & 0002, file.path() + " is not world-writable");
      }
    }

    String pathVariable = env.stream().filter(e -> e.startsWith("PATH=")).findFirst().orElseThrow().substring(5);
    boolean javaOnPath = false;
    for (String dir : pathVariable.split(":")) {
      var java = image.files.get(dir.substring(1) + "/java");
      javaOnPath |= java != null && (java.mode() & 0111) != 0 || image.links.contains(dir.substring(1) + "/java");
    }
    assertTrue(javaOnPath, "no executable java on the image's PATH " + pathVariable);

    if (module.equals("policy-service")) {
      Map<String, List<String>> models = Map.of(
          "tiny-vla-parallel", List.of("model.json", "prefill.onnx", "dataset_statistics.json"),
          "tiny-vla", List.of("model.json", "prefill.onnx", "decode.onnx", "dataset_statistics.json"));
      for (var model : models.entrySet()) {
        for (String file : model.getValue()) {
          var entry = image.files.get("opt/vla/models/" + model.getKey() + "/" + file);
          assertNotNull(entry, "the embedded model " + model.getKey() + "'s " + file + " is baked in");
          assertEquals(Files.size(RenderedOverlay.home().resolve("models").resolve(model.getKey()).resolve(file)),
              entry.size(), model.getKey() + "/" + file + " size");
        }
      }
      assertFalse(image.files.containsKey("opt/vla/models/tiny-vla/train.sh"), "training tooling stays out of the image");
      assertTrue(image.files.keySet().stream().noneMatch(f -> f.contains("/tooling/") || f.endsWith("/tooling")),
          "training tooling stays out of the image");
      assertTrue(image.files.keySet().stream().noneMatch(f -> f.startsWith("opt/vla/models/test-fixtures")),
          "test fixtures stay out of the image");
    }
  }

  private static Path images() {
    return Path.of(System.getProperty("vla.images", RenderedOverlay.home().resolve("target/images").toString()));
  }

  private static String projectVersion() throws IOException {
    String pom = Files.readString(RenderedOverlay.home().resolve("pom.xml"));
    Matcher matcher = Pattern.compile("<artifactId>vla-serve</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
    assertTrue(matcher.find(), "project version in the root pom");
    return matcher.group(1);
  }

  private static List<String> strings(JsonNode array) {
    List<String> values = new ArrayList<>();
    array.forEach(node -> values.add(node.asString()));
    return values;
  }

  /** A `docker save` archive: its manifest, config, and every file of its layers (later layers win). */
  private record Image(JsonNode manifest, JsonNode config, Map<String, TarArchive.Entry> files, java.util.Set<String> links) {
    static Image read(Path archive) throws IOException {
      Map<String, TarArchive.Entry> outer;
      try (InputStream in = Files.newInputStream(archive)) {
        outer = TarArchive.read(in, name -> true);
      }
      JsonNode manifest = JSON.readTree(outer.get("manifest.json").content());
      JsonNode config = JSON.readTree(outer.get(manifest.get(0).get("Config").asString()).content());
      Map<String, TarArchive.Entry> files = new HashMap<>();
      java.util.Set<String> links = new java.util.HashSet<>();
      for (JsonNode layer : manifest.get(0).get("Layers")) {
        try (InputStream in = new ByteArrayInputStream(outer.get(layer.asString()).content())) {
          for (var entry : TarArchive.read(in, name -> false).values()) {
            files.put(entry.path(), entry);
            if (entry.type() == '1' || entry.type() == '2') {
              links.add(entry.path());
            }
          }
        }
      }
      return new Image(manifest, config, files, links);
    }
  }
}
