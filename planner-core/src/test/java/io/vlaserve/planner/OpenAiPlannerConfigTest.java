package io.vlaserve.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class OpenAiPlannerConfigTest {
  private static final OpenAiPlannerConfig LOCAL = OpenAiPlannerConfig.of(URI.create("http://localhost:8000/v1/"), "m");

  @Test
  void postsToChatCompletionsUnderTheBaseUrl() {
    assertEquals(URI.create("http://localhost:8000/v1/chat/completions"), LOCAL.chatCompletionsUri());
  }

  @Test
  void toStringNeverShowsTheKey() {
    String text = LOCAL.withApiKey("sk-very-secret").toString();
    assertFalse(text.contains("sk-very-secret"), text);
    assertTrue(text.contains("apiKey=(set)"), text);
  }

  @Test
  void rejectsValuesThatCannotWorkSayingWhatIsExpected() {
    IllegalArgumentException url = assertThrows(IllegalArgumentException.class,
        () -> OpenAiPlannerConfig.of(URI.create("localhost:8000"), "m"));
    assertTrue(url.getMessage().contains("expected: http(s)://"), url.getMessage());
    assertThrows(IllegalArgumentException.class, () -> OpenAiPlannerConfig.of(URI.create("http://h/v1"), " "));
    assertThrows(IllegalArgumentException.class, () -> LOCAL.withRetries(0, Duration.ofMillis(1), Duration.ofMillis(1)));
    assertThrows(IllegalArgumentException.class, () -> LOCAL.withRetries(2, Duration.ofSeconds(2), Duration.ofSeconds(1)));
    assertThrows(IllegalArgumentException.class, () -> LOCAL.withTimeouts(Duration.ZERO, Duration.ofSeconds(1)));
    assertThrows(IllegalArgumentException.class, () -> LOCAL.withMaxCorrections(-1));
    assertThrows(IllegalArgumentException.class, () -> LOCAL.withTemperature(Double.NaN));
  }
}
