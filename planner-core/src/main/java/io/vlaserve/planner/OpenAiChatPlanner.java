package io.vlaserve.planner;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A planner that asks a language model through an OpenAI-compatible chat-completions API (vLLM,
 * llama.cpp server, Ollama, hosted APIs) and checks every subgoal against the policy's skills.
 *
 * <p>The model is prompted with the skills verbatim and asked for one JSON object (see {@link
 * PlanPrompt#JSON_CONTRACT}). A reply that is not a valid plan (not JSON, cut off, a skill the policy
 * lacks, wrong types, no subgoals) is sent back with the exact error, up to {@link
 * OpenAiPlannerConfig#maxCorrections()} times, then the call fails with {@link
 * PlanningException.Kind#INVALID_REPLY}. Transport failures (I/O errors, timeouts, HTTP 408, 429,
 * 5xx) are retried with exponential backoff and jitter, honouring {@code Retry-After} up to {@link
 * OpenAiPlannerConfig#maxBackoff()}; then the call fails with {@link
 * PlanningException.Kind#TIMEOUT} if the last attempt timed out, else {@link
 * PlanningException.Kind#UNAVAILABLE}. HTTP 401/403 and other 4xx fail at once with {@code
 * UNAVAILABLE}. The API key is never logged nor put in a message.
 *
 * <p>Thread-safe. {@link #plan} blocks for up to (corrections + 1) x attempts x request timeout plus
 * the backoffs; callers keep it off latency-critical threads.
 */
public final class OpenAiChatPlanner implements Planner, AutoCloseable {
  private static final System.Logger LOG = System.getLogger(OpenAiChatPlanner.class.getName());
  private static final JsonMapper JSON = JsonMapper.builder().build();
  /** Server error texts are cut to this length in messages. */
  private static final int MAX_ERROR_CHARS = 300;

  /** Waits between attempts; tests record the waits instead of sleeping. */
  @FunctionalInterface
  interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;
  }

  private final OpenAiPlannerConfig config;
  private final HttpClient http;
  private final Sleeper sleeper;
  private final Random random;
  private final InstantSource clock;
  /** Cleared for good once the server rejects {@code response_format}. */
  private final AtomicBoolean sendResponseFormat;

  public OpenAiChatPlanner(OpenAiPlannerConfig config) {
    this(config, Thread::sleep, new Random(), Clock.systemUTC());
  }

  OpenAiChatPlanner(OpenAiPlannerConfig config, Sleeper sleeper, Random random, InstantSource clock) {
    this.config = config;
    this.sleeper = sleeper;
    this.random = random;
    this.clock = clock;
    this.sendResponseFormat = new AtomicBoolean(config.jsonResponseFormat());
    // HTTP/1.1: a cleartext HTTP/2 upgrade request confuses some local servers, and gains nothing here.
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(config.connectTimeout())
        .build();
  }

  @Override
  public String name() {
    return "openai:" + config.model();
  }

  /** The configuration, its key hidden by {@link OpenAiPlannerConfig#toString()}. */
  public OpenAiPlannerConfig config() {
    return config;
  }

  @Override
  public PlannedTask plan(PlanningRequest request) throws PlanningException {
    SkillLibrary library;
    try {
      library = new SkillLibrary(request.skills());
    } catch (IllegalArgumentException e) {
      throw new PlanningException(PlanningException.Kind.UNSUPPORTED_TASK, e.getMessage());
    }
    ArrayNode messages = JSON.createArrayNode();
    messages.add(message("system", PlanPrompt.system(library)));
    messages.add(message("user", PlanPrompt.user(request)));
    String lastError = null;
    for (int reply = 0; reply <= config.maxCorrections(); reply++) {
      Completion completion = complete(messages);
      try {
        return PlanReply.parse(completion.content(), completion.finishReason(), library, name());
      } catch (PlanReply.InvalidPlanException e) {
        lastError = e.getMessage();
        LOG.log(Level.INFO, "{0}: invalid plan in reply {1} of at most {2}: {3}", name(), reply + 1,
            config.maxCorrections() + 1, lastError);
        messages.add(message("assistant", completion.content() == null ? "" : completion.content()));
        messages.add(message("user", PlanPrompt.correction(lastError, library)));
      }
    }
    throw new PlanningException(PlanningException.Kind.INVALID_REPLY, name() + " gave no valid plan in "
        + (config.maxCorrections() + 1) + " replies; the last error: " + lastError);
  }

  /** Stops the HTTP client; calls in flight fail. */
  @Override
  public void close() {
    http.shutdownNow();
  }

  /** One model reply: {@code choices[0]}'s message content and finish reason. */
  private record Completion(String content, String finishReason) {}

  /** One model reply, retrying transport failures. */
  private Completion complete(ArrayNode messages) throws PlanningException {
    int attempt = 1;
    while (true) {
      boolean withResponseFormat = sendResponseFormat.get();
      PlanningException failure;
      Optional<Duration> retryAfter = Optional.empty();
      try {
        HttpResponse<String> response = send(request(messages, withResponseFormat));
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
          return completion(response.body());
        }
        String error = errorMessage(response.body());
        if (status == 401 || status == 403) {
          throw new PlanningException(PlanningException.Kind.UNAVAILABLE, name() + ": the server refused the "
              + "request (HTTP " + status + ": " + error + "); " + (config.hasApiKey()
              ? "check the configured API key" : "no API key is configured, and this server needs one"));
        }
        if (withResponseFormat && rejectsResponseFormat(status, response.body())) {
          // Not an attempt: the server works, it just does not know JSON mode.
          sendResponseFormat.set(false);
          LOG.log(Level.INFO, "{0}: the server rejects response_format ({1}); asking without it from now on",
              name(), error);
          continue;
        }
        if (!isTransient(status)) {
          throw new PlanningException(PlanningException.Kind.UNAVAILABLE, name() + ": HTTP " + status + " from "
              + config.chatCompletionsUri() + ": " + error);
        }
        failure = new PlanningException(PlanningException.Kind.UNAVAILABLE, "HTTP " + status + ": " + error);
        retryAfter = response.headers().firstValue("Retry-After").flatMap(this::parseRetryAfter);
      } catch (HttpConnectTimeoutException e) {
        failure = new PlanningException(PlanningException.Kind.UNAVAILABLE, "could not connect to "
            + config.chatCompletionsUri() + " within " + millis(config.connectTimeout()), e);
      } catch (HttpTimeoutException | TimeoutException e) {
        failure = new PlanningException(PlanningException.Kind.TIMEOUT, "no reply within "
            + millis(config.requestTimeout()), e);
      } catch (IOException e) {
        failure = new PlanningException(PlanningException.Kind.UNAVAILABLE, "cannot reach "
            + config.chatCompletionsUri() + ": " + describe(e), e);
      }
      if (attempt >= config.maxAttempts()) {
        throw new PlanningException(failure.kind(), name() + " failed after " + attempt + " attempt"
            + (attempt == 1 ? "" : "s") + ": " + failure.getMessage(), failure.getCause());
      }
      Duration wait = backoff(attempt, retryAfter);
      LOG.log(Level.WARNING, "{0}: attempt {1} of {2} failed ({3}); retrying in {4} ms", name(), attempt,
          config.maxAttempts(), failure.getMessage(), wait.toMillis());
      try {
        sleeper.sleep(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new PlanningException(PlanningException.Kind.UNAVAILABLE, name() + ": interrupted while backing off", e);
      }
      attempt++;
    }
  }

  private HttpRequest request(ArrayNode messages, boolean withResponseFormat) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", config.model());
    body.set("messages", messages);
    body.put("temperature", config.temperature());
    if (config.maxTokens() > 0) {
      body.put("max_tokens", config.maxTokens());
    }
    if (withResponseFormat) {
      body.putObject("response_format").put("type", "json_object");
    }
    body.put("stream", false);
    HttpRequest.Builder builder = HttpRequest.newBuilder(config.chatCompletionsUri())
        .timeout(config.requestTimeout())
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
    if (config.hasApiKey()) {
      builder.header("Authorization", "Bearer " + config.apiKey());
    }
    return builder.build();
  }

  /**
   * Sends and reads the whole reply within the request timeout. {@link HttpRequest#timeout} alone
   * stops at the response headers; a server that stalls in the body is caught here.
   */
  private HttpResponse<String> send(HttpRequest request) throws IOException, TimeoutException, PlanningException {
    CompletableFuture<HttpResponse<String>> future = http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    try {
      return future.get(config.requestTimeout().toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw e;
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw new PlanningException(PlanningException.Kind.UNAVAILABLE, name() + ": interrupted while waiting for "
          + "the server", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      throw new IOException(describe(cause), cause);
    }
  }

  private Completion completion(String body) throws PlanningException {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JacksonException e) {
      throw new PlanningException(PlanningException.Kind.UNAVAILABLE, name() + ": the server's reply is not a chat "
          + "completion (not JSON): " + snippet(body));
    }
    JsonNode choice = root.path("choices").path(0);
    if (!choice.isObject()) {
      String error = root.has("error") ? errorMessage(body) : snippet(body);
      throw new PlanningException(PlanningException.Kind.UNAVAILABLE, name() + ": the server's reply has no "
          + "choices: " + error);
    }
    JsonNode content = choice.path("message").path("content");
    JsonNode finishReason = choice.path("finish_reason");
    return new Completion(content.isString() ? content.stringValue() : null,
        finishReason.isString() ? finishReason.stringValue() : null);
  }

  /** Doubling from the initial backoff, jittered over its upper half; a server's Retry-After wins. */
  private Duration backoff(int attempt, Optional<Duration> retryAfter) {
    Duration max = config.maxBackoff();
    if (retryAfter.isPresent()) {
      return retryAfter.get().compareTo(max) > 0 ? max : retryAfter.get();
    }
    long ceiling = config.initialBackoff().toNanos();
    for (int i = 1; i < attempt && ceiling < max.toNanos(); i++) {
      ceiling *= 2;
    }
    ceiling = Math.min(ceiling, max.toNanos());
    long half = ceiling / 2;
    return Duration.ofNanos(ceiling - half + random.nextLong(half + 1));
  }

  /** Retry-After as delay-seconds or an HTTP date (RFC 9110); unparseable values are ignored. */
  private Optional<Duration> parseRetryAfter(String value) {
    String text = value.strip();
    try {
      double seconds = Double.parseDouble(text);
      return seconds >= 0 && Double.isFinite(seconds)
          ? Optional.of(Duration.ofMillis((long) Math.ceil(seconds * 1000))) : Optional.empty();
    } catch (NumberFormatException notSeconds) {
      try {
        Duration until = Duration.between(clock.instant(),
            ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
        return Optional.of(until.isNegative() ? Duration.ZERO : until);
      } catch (DateTimeParseException notADate) {
        return Optional.empty();
      }
    }
  }

  private static boolean isTransient(int status) {
    return status == 408 || status == 429 || status >= 500;
  }

  /** Most servers answer 400 or 422; some llama.cpp builds answer 500 with the same complaint. */
  private static boolean rejectsResponseFormat(int status, String body) {
    if (status != 400 && status != 422 && status != 500) {
      return false;
    }
    String text = body == null ? "" : body.toLowerCase(Locale.ROOT);
    return text.contains("response_format") || text.contains("json_object");
  }

  /**
   * The server's own words: {@code {"error":{"message":...}}} (OpenAI, vLLM), {@code {"error":"..."}}
   * (Ollama, llama.cpp), {@code {"message":...}} or {@code {"detail":...}}; else the body itself.
   */
  private String errorMessage(String body) {
    String message = null;
    try {
      JsonNode root = JSON.readTree(body);
      JsonNode error = root.path("error");
      if (error.isString()) {
        message = error.stringValue();
      } else if (error.path("message").isString()) {
        message = error.path("message").stringValue();
      } else if (root.path("message").isString()) {
        message = root.path("message").stringValue();
      } else if (root.path("detail").isString()) {
        message = root.path("detail").stringValue();
      }
    } catch (JacksonException notJson) {
      // Proxies answer in HTML or plain text: show that instead.
    }
    return snippet(message != null ? message : body);
  }

  /** Cut to a readable length, with the API key masked in case a server echoes it. */
  private String snippet(String text) {
    if (text == null || text.isBlank()) {
      return "(empty body)";
    }
    String shown = text.strip();
    if (config.hasApiKey()) {
      shown = shown.replace(config.apiKey(), "<api key>");
    }
    return shown.length() > MAX_ERROR_CHARS ? shown.substring(0, MAX_ERROR_CHARS) + "..." : shown;
  }

  private static String millis(Duration duration) {
    return duration.toMillis() + " ms";
  }

  private static String describe(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + e.getMessage();
  }

  private static ObjectNode message(String role, String content) {
    ObjectNode message = JSON.createObjectNode();
    message.put("role", role);
    message.put("content", content);
    return message;
  }
}
