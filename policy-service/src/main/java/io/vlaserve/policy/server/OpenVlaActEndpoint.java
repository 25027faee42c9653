package io.vlaserve.policy.server;

import io.grpc.Status;
import jakarta.servlet.http.HttpServletRequest;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.image.ImageFormat;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.service.auth.HttpAuthorizationFilter;
import io.vlaserve.service.auth.Principal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * OpenVLA's {@code POST /act} (vla-scripts/deploy.py), so existing OpenVLA clients work unchanged:
 * a json-numpy body {@code {"image": uint8 [H, W, 3], "instruction": str, "unnorm_key": str?}}, or
 * the double-encoded {@code {"encoded": "<that body as a JSON string>"}}, answered with the action as
 * a json-numpy float64 array of shape {@code [D]} (the double-encoded form gets it back as a JSON
 * string, as deploy.py does). Unlike deploy.py, failures get a real HTTP status and a JSON
 * {@code {"error", "status"}} body instead of the string "error" with 200: every malformed body is a 4xx
 * whose message names the field. The body is bounded ({@code vla.policy.max-act-body}, 413 beyond it)
 * and checked before it is read or parsed.
 *
 * <p>Extensions, all optional: {@code "proprio"} (the model's proprioception, a json-numpy array or a
 * list of numbers; default the training mean), {@code "robot_id"} (queue fairness is per robot),
 * {@code "full_chunk": true} (answer the whole chunk, shape {@code [H, D]}). Decoding is greedy,
 * like deploy.py's {@code do_sample=False}. Thread-safe.
 */
@RestController
public class OpenVlaActEndpoint {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final PolicyFrontDoor door;
  private final PolicyMetrics metrics;
  private final Duration deadline;
  private final String unnormKey;
  private final float[] defaultProprio;
  private final long maxBodyBytes;
  private final AtomicLong anonymousRequests = new AtomicLong();

  public OpenVlaActEndpoint(PolicyFrontDoor door, PolicyMetrics metrics, PolicyProperties properties) {
    this.door = door;
    this.metrics = metrics;
    this.deadline = properties.observationDeadline();
    ModelPackage model = door.model();
    this.unnormKey = model.manifest().path("action").path("unnorm_key").asString("");
    this.defaultProprio = trainingMeanProprio(model, unnormKey);
    this.maxBodyBytes = properties.maxActBodyBytes();
  }

  @PostMapping(path = "/act", produces = MediaType.APPLICATION_JSON_VALUE)
  public CompletableFuture<ResponseEntity<String>> act(HttpServletRequest http) {
    long received = System.nanoTime();
    boolean doubleEncoded = false;
    try {
      byte[] body = body(http);
      if (!door.ready()) {
        throw door.notReady();
      }
      JsonNode payload = parse(body, "request body");
      if (payload.has("encoded")) {
        doubleEncoded = true;
        if (payload.size() != 1 || !payload.get("encoded").isString()) {
          throw new IllegalArgumentException("\"encoded\" must be the only key, holding the payload as a JSON string"
              + " (found keys " + fieldNames(payload) + ")");
        }
        payload = parse(payload.get("encoded").asString().getBytes(StandardCharsets.UTF_8),
            "\"encoded\"");
      }
      String robot = optionalString(payload, "robot_id");
      Principal caller = HttpAuthorizationFilter.principal(http);
      Optional<String> foreign = HttpAuthorizationFilter.foreignRobot(caller, "robot_id", robot);
      if (foreign.isPresent()) {
        throw Status.PERMISSION_DENIED.withDescription(foreign.get()).asRuntimeException();
      }
      robot = PolicyFrontDoor.queueAs(robot, caller, () -> "act-" + anonymousRequests.incrementAndGet());
      JsonNode fullChunkNode = payload.path("full_chunk");
      if (!fullChunkNode.isMissingNode() && !fullChunkNode.isNull() && !fullChunkNode.isBoolean()) {
        throw new IllegalArgumentException("full_chunk: " + JsonNumpy.describe(fullChunkNode)
            + " (expected: true or false)");
      }
      boolean fullChunk = fullChunkNode.asBoolean(false);
      boolean encodedAnswer = doubleEncoded;
      int dims = door.model().actionDimensions();
      PolicyFrontDoor.Observation observation = observation(payload, robot, received);
      return door.submit(observation)
          .handle((answer, failure) -> {
            if (failure != null) {
              return error(failure);
            }
            double[][] actions = answer.scheduled().result().actions();
            ObjectNode array = fullChunk
                ? JsonNumpy.float64(Arrays.stream(actions).flatMapToDouble(Arrays::stream).toArray(), actions.length, dims)
                : JsonNumpy.float64(actions[0], dims);
            metrics.recordStage("act", System.nanoTime() - received);
            metrics.recordOutcome("ok");
            String json = JSON.writeValueAsString(array);
            return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON)
                .body(encodedAnswer ? JSON.writeValueAsString(json) : json);
          });
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(error(e));
    }
  }

  /**
   * The request body, refused before it is read (by its declared length) or as soon as it runs past
   * the limit (a chunked body), so a huge body is never held in memory.
   */
  private byte[] body(HttpServletRequest http) {
    long declared = http.getContentLengthLong();
    if (declared > maxBodyBytes) {
      throw tooLarge(Long.toString(declared));
    }
    try {
      byte[] body = http.getInputStream().readNBytes((int) maxBodyBytes + 1);
      if (body.length > maxBodyBytes) {
        throw tooLarge("more than " + maxBodyBytes);
      }
      return body;
    } catch (IOException e) {
      throw new IllegalArgumentException("request body: unreadable (" + e.getMessage() + ")");
    }
  }

  private PolicyStatus.TooLargeException tooLarge(String size) {
    return new PolicyStatus.TooLargeException("request body: " + size + " bytes (expected: at most " + maxBodyBytes
        + ", vla.policy.max-act-body; an image of at most vla.policy.max-image-bytes fits)");
  }

  /** A field that may be absent or null, else must be a string. */
  private static String optionalString(JsonNode payload, String field) {
    JsonNode node = payload.path(field);
    if (node.isMissingNode() || node.isNull()) {
      return null;
    }
    if (!node.isString()) {
      throw new IllegalArgumentException(field + ": " + JsonNumpy.describe(node) + " (expected: a string)");
    }
    return node.asString();
  }

  /** The front door's observation from an /act body: greedy, the model's chunk length, no session. */
  private PolicyFrontDoor.Observation observation(JsonNode payload, String robot, long received) {
    if (!payload.isObject()) {
      throw new IllegalArgumentException("body: a JSON " + payload.getNodeType().name().toLowerCase(Locale.ROOT)
          + " (expected: an object with \"image\" and \"instruction\")");
    }
    JsonNode instructionNode = payload.path("instruction");
    if (!instructionNode.isString() || instructionNode.asString().isBlank()) {
      throw new IllegalArgumentException("instruction: missing or not a string (expected one of: "
          + String.join("; ", door.model().skills()) + ")");
    }
    String key = optionalString(payload, "unnorm_key");
    if (key != null && !key.equals(unnormKey)) {
      throw new IllegalArgumentException("unnorm_key \"" + JsonNumpy.abbreviate(key) + "\" not found (known: "
          + unnormKey + ")");
    }
    if (door.model().cameras().size() > 1) {
      throw new IllegalArgumentException("model " + door.model().name() + " sees " + door.model().cameras().size()
          + " cameras " + door.model().cameras().stream().map(c -> c.name()).toList() + "; OpenVLA's /act carries one"
          + " image (send observations through gRPC PolicyService or the openpi protocol instead)");
    }
    JsonNumpy.Rgb image = JsonNumpy.image("image", payload.get("image"));
    float[] proprio = payload.has("proprio") ? proprio(payload.get("proprio")) : defaultProprio.clone();
    // deploy.py lower-cases the instruction into its prompt.
    String instruction = instructionNode.asString().trim().toLowerCase(Locale.ROOT);
    return new PolicyFrontDoor.Observation(robot, null, 0,
        new PolicyFrontDoor.Frame(ImageFormat.RGB8, image.pixels(), image.width(), image.height()), proprio,
        instruction, 0, SamplingParams.GREEDY, received, received + deadline.toNanos());
  }

  private float[] proprio(JsonNode node) {
    int expected = door.model().proprioNames().size();
    float[] values = new float[expected];
    if (node.isObject() && node.has(JsonNumpy.DATA)) {
      double[] decoded = JsonNumpy.float64("proprio", node, expected);
      for (int i = 0; i < expected; i++) {
        values[i] = (float) decoded[i];
      }
      return values;
    }
    if (node.isArray() && node.size() == expected) {
      for (int i = 0; i < expected; i++) {
        JsonNode value = node.get(i);
        if (!value.isNumber()) {
          throw new IllegalArgumentException("proprio[" + i + "]: " + JsonNumpy.describe(value)
              + " (expected: a number, " + door.model().proprioNames().get(i) + ")");
        }
        values[i] = (float) value.asDouble();
      }
      return values;
    }
    throw new IllegalArgumentException("proprio: " + JsonNumpy.abbreviate(node.toString()) + " (expected: " + expected
        + " numbers, " + door.model().proprioNames() + ", as a list or a json-numpy float64 array)");
  }

  private ResponseEntity<String> error(Throwable failure) {
    Status status = PolicyStatus.of(failure);
    metrics.recordOutcome(status.getCode().name());
    HttpStatus http = HttpStatus.valueOf(PolicyStatus.httpStatus(failure));
    ObjectNode body = JSON.createObjectNode();
    body.put("error", status.getDescription());
    body.put("status", status.getCode().name());
    ResponseEntity.BodyBuilder response = ResponseEntity.status(http).contentType(MediaType.APPLICATION_JSON);
    Duration retryAfter = PolicyStatus.retryAfter(failure);
    if (retryAfter != null) {
      long millis = PolicyStatus.retryMillis(retryAfter);
      body.put("retry_after_ms", millis);
      response.header(HttpHeaders.RETRY_AFTER, Long.toString((millis + 999) / 1000)); // whole seconds, per RFC 9110
    }
    return response.body(JSON.writeValueAsString(body));
  }

  private static JsonNode parse(byte[] bytes, String what) {
    try {
      JsonNode node = JSON.readTree(bytes);
      if (node == null || node.isMissingNode()) {
        throw new IllegalArgumentException(what + ": empty (expected: a JSON object)");
      }
      return node;
    } catch (JacksonException e) {
      throw new IllegalArgumentException(what + ": not JSON (" + e.getOriginalMessage() + ")");
    }
  }

  private static String fieldNames(JsonNode node) {
    return node.propertyNames().toString();
  }

  /** The proprioception the model saw on average in training: a neutral default for clients that send none. */
  private static float[] trainingMeanProprio(ModelPackage model, String unnormKey) {
    float[] mean = new float[model.proprioNames().size()];
    String statistics = model.manifest().path("action").path("statistics").asString("");
    if (statistics.isEmpty()) {
      return mean;
    }
    try {
      JsonNode values = JSON.readTree(Files.readString(model.directory().resolve(Path.of(statistics))))
          .path(unnormKey).path("proprio").path("mean");
      if (values.isArray() && values.size() == mean.length) {
        for (int i = 0; i < mean.length; i++) {
          mean[i] = (float) values.get(i).asDouble();
        }
      }
    } catch (IOException | JacksonException e) {
      // No statistics: zeros, as deploy.py-style servers without proprio assume.
    }
    return mean;
  }
}
