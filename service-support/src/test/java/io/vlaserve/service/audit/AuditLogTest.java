package io.vlaserve.service.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AuditLogTest {
  @Test
  void aLineIsLogfmtInFieldOrder() {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("emergency", true);
    details.put("reason", "operator stop");
    assertEquals("action=halt robot=arm-1 who=/10.0.0.7:5312 result=ok emergency=true reason=\"operator stop\"",
        AuditLog.line("halt", "arm-1", "/10.0.0.7:5312", "ok", details));
  }

  @Test
  void aCallerCannotForgeALine() {
    String line = AuditLog.line("halt", "arm-1\naction=resume robot=arm-2", "x", "ok",
        Map.of("reason", "a \"quoted\" \\ reason\r\n"));
    assertFalse(line.contains("\n") || line.contains("\r"), line);
    assertTrue(line.contains("robot=\"arm-1 action=resume robot=arm-2\""), line);
    assertTrue(line.contains("reason=\"a \\\"quoted\\\" \\\\ reason  \""), line);
  }

  @Test
  void longValuesAreCut() {
    String line = AuditLog.line("session-open", "arm-1", "x", "ok", Map.of("task", "y".repeat(10_000)));
    assertTrue(line.length() < AuditLog.MAX_VALUE + 100, "length " + line.length());
  }
}
