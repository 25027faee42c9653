package io.vlaserve.planner;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link OpenAiChatPlanner} reaches an OpenAI-compatible chat-completions server. Immutable;
 * start from {@link #of(URI, String)} and adjust with the {@code with...} methods.
 *
 * <p>{@link #toString()} never shows the API key.
 *
 * @param baseUrl the API root, e.g. {@code http://localhost:8000/v1}; requests go to
 *     {@code {baseUrl}/chat/completions}
 * @param model the model name the server knows, e.g. "Qwen/Qwen2.5-7B-Instruct" or "gpt-4o-mini"
 * @param apiKey sent as {@code Authorization: Bearer <key>}; "" sends no header (local servers)
 * @param requestTimeout one HTTP exchange, from sending to the whole reply read
 * @param connectTimeout establishing the TCP (and TLS) connection
 * @param maxAttempts HTTP exchanges per model reply when the transport fails (I/O error, timeout,
 *     HTTP 408, 429 or 5xx); at least 1
 * @param initialBackoff wait before the second attempt; it doubles per attempt, with jitter
 * @param maxBackoff upper bound on one wait, including a server's {@code Retry-After}
 * @param maxCorrections how many times an invalid plan is sent back to the model with the error
 *     before giving up with {@link PlanningException.Kind#INVALID_REPLY}; 0 for none
 * @param temperature sampling temperature, 0 (the default) for the most repeatable plans
 * @param jsonResponseFormat whether to send {@code response_format: {"type":"json_object"}}; a
 *     server that rejects it (HTTP 400, 422 or 500 naming it) is asked without it from then on
 * @param maxTokens the reply's token limit ({@code max_tokens}), or 0 to leave it to the server
 */
public record OpenAiPlannerConfig(URI baseUrl, String model, String apiKey, Duration requestTimeout,
    Duration connectTimeout, int maxAttempts, Duration initialBackoff, Duration maxBackoff, int maxCorrections,
    double temperature, boolean jsonResponseFormat, int maxTokens) {

  public OpenAiPlannerConfig {
    Objects.requireNonNull(baseUrl, "baseUrl");
    String scheme = baseUrl.getScheme();
    if (!"http".equalsIgnoreCase(scheme) && !"https".equalsIgnoreCase(scheme) || baseUrl.getHost() == null) {
      throw new IllegalArgumentException("baseUrl: " + baseUrl + " (expected: http(s)://host[:port]/path, e.g. "
          + "http://localhost:8000/v1)");
    }
    String url = baseUrl.toString();
    baseUrl = url.endsWith("/") ? URI.create(url.substring(0, url.length() - 1)) : baseUrl;
    if (model == null || model.isBlank()) {
      throw new IllegalArgumentException("model: '" + model + "' (expected: the name the server serves)");
    }
    apiKey = apiKey == null ? "" : apiKey.strip();
    requirePositive(requestTimeout, "requestTimeout");
    requirePositive(connectTimeout, "connectTimeout");
    requirePositive(initialBackoff, "initialBackoff");
    requirePositive(maxBackoff, "maxBackoff");
    if (maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("maxBackoff: " + maxBackoff + " (expected: >= initialBackoff " + initialBackoff + ")");
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts: " + maxAttempts + " (expected: >= 1)");
    }
    if (maxCorrections < 0) {
      throw new IllegalArgumentException("maxCorrections: " + maxCorrections + " (expected: >= 0)");
    }
    if (!(temperature >= 0 && temperature <= 2)) {
      throw new IllegalArgumentException("temperature: " + temperature + " (expected: 0 .. 2)");
    }
    if (maxTokens < 0) {
      throw new IllegalArgumentException("maxTokens: " + maxTokens + " (expected: >= 0, 0 for the server's default)");
    }
  }

  /**
   * The defaults: no key, 30 s per request, 5 s to connect, 3 attempts backing off from 500 ms up
   * to 10 s, 2 corrections, temperature 0, JSON response format on, the server's token limit.
   */
  public static OpenAiPlannerConfig of(URI baseUrl, String model) {
    return new OpenAiPlannerConfig(baseUrl, model, "", Duration.ofSeconds(30), Duration.ofSeconds(5), 3,
        Duration.ofMillis(500), Duration.ofSeconds(10), 2, 0.0, true, 0);
  }

  /** The endpoint every request is posted to. */
  public URI chatCompletionsUri() {
    return URI.create(baseUrl + "/chat/completions");
  }

  /** Whether an API key is configured. */
  public boolean hasApiKey() {
    return !apiKey.isEmpty();
  }

  public OpenAiPlannerConfig withApiKey(String apiKey) {
    return new OpenAiPlannerConfig(baseUrl, model, apiKey, requestTimeout, connectTimeout, maxAttempts,
        initialBackoff, maxBackoff, maxCorrections, temperature, jsonResponseFormat, maxTokens);
  }

  public OpenAiPlannerConfig withTimeouts(Duration requestTimeout, Duration connectTimeout) {
    return new OpenAiPlannerConfig(baseUrl, model, apiKey, requestTimeout, connectTimeout, maxAttempts,
        initialBackoff, maxBackoff, maxCorrections, temperature, jsonResponseFormat, maxTokens);
  }

  public OpenAiPlannerConfig withRetries(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    return new OpenAiPlannerConfig(baseUrl, model, apiKey, requestTimeout, connectTimeout, maxAttempts,
        initialBackoff, maxBackoff, maxCorrections, temperature, jsonResponseFormat, maxTokens);
  }

  public OpenAiPlannerConfig withMaxCorrections(int maxCorrections) {
    return new OpenAiPlannerConfig(baseUrl, model, apiKey, requestTimeout, connectTimeout, maxAttempts,
        initialBackoff, maxBackoff, maxCorrections, temperature, jsonResponseFormat, maxTokens);
  }

  public OpenAiPlannerConfig withTemperature(double temperature) {
    return new OpenAiPlannerConfig(baseUrl, model, apiKey, requestTimeout, connectTimeout, maxAttempts,
        initialBackoff, maxBackoff, maxCorrections, temperature, jsonResponseFormat, maxTokens);
  }

  public OpenAiPlannerConfig withJsonResponseFormat(boolean jsonResponseFormat) {
    return new OpenAiPlannerConfig(baseUrl, model, apiKey, requestTimeout, connectTimeout, maxAttempts,
        initialBackoff, maxBackoff, maxCorrections, temperature, jsonResponseFormat, maxTokens);
  }

  public OpenAiPlannerConfig withMaxTokens(int maxTokens) {
    return new OpenAiPlannerConfig(baseUrl, model, apiKey, requestTimeout, connectTimeout, maxAttempts,
        initialBackoff, maxBackoff, maxCorrections, temperature, jsonResponseFormat, maxTokens);
  }

  /** All fields but the key, which shows only whether one is set. */
  @Override
  public String toString() {
    return "OpenAiPlannerConfig[baseUrl=" + baseUrl + ", model=" + model + ", apiKey="
        + (hasApiKey() ? "(set)" : "(none)") + ", requestTimeout=" + requestTimeout + ", connectTimeout="
        + connectTimeout + ", maxAttempts=" + maxAttempts + ", initialBackoff=" + initialBackoff + ", maxBackoff="
        + maxBackoff + ", maxCorrections=" + maxCorrections + ", temperature=" + temperature
        + ", jsonResponseFormat=" + jsonResponseFormat + ", maxTokens=" + maxTokens + "]";
  }

  private static void requirePositive(Duration duration, String name) {
    Objects.requireNonNull(duration, name);
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(name + ": " + duration + " (expected: > 0)");
    }
  }
}
