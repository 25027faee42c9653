package io.vlaserve.service.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RejectedInputLogTest {
  private long now = 1_000;
  private final List<String> lines = new ArrayList<>();
  private final RejectedInputLog log = new RejectedInputLog(Duration.ofSeconds(10), () -> now, lines::add);

  @Test
  void atMostOneLinePerIntervalCountingTheOnesLeftOut() {
    for (int i = 0; i < 1000; i++) {
      log.rejected("vla.tokenizer.v1.TokenizerService/Encode", "not a valid vla.tokenizer.v1.EncodeRequest");
    }
    assertEquals(List.of("Rejected input on vla.tokenizer.v1.TokenizerService/Encode: not a valid"
        + " vla.tokenizer.v1.EncodeRequest"), lines, "a flood of bad messages is one line");
    now += Duration.ofSeconds(10).toNanos() - 1;
    log.rejected("m", "still within the interval");
    assertEquals(1, lines.size());
    now += 1;
    log.rejected("m", "next interval");
    assertEquals(2, lines.size());
    assertEquals("Rejected input on m: next interval (and 1000 more rejected inputs not logged since the last line)",
        lines.get(1));
    assertEquals(1002, log.total());
  }

  @Test
  void aLongReasonIsAbbreviated() {
    log.rejected("m", "x".repeat(100_000));
    assertTrue(lines.get(0).length() < 300, lines.get(0));
    assertTrue(lines.get(0).endsWith("... (100000 characters)"), lines.get(0));
  }

  @Test
  void statusDescriptionsAreCutToTheirEncodedSize() {
    Status shortOne = Status.NOT_FOUND.withDescription("profile \"franka\" not found");
    assertEquals(shortOne, InboundGuard.bounded(shortOne, 2048));
    Status ascii = InboundGuard.bounded(Status.NOT_FOUND.withDescription("x".repeat(1_000_000)), 2048);
    assertEquals(Status.Code.NOT_FOUND, ascii.getCode());
    assertTrue(ascii.getDescription().length() <= 2048, "" + ascii.getDescription().length());
    assertTrue(ascii.getDescription().endsWith("... (1000000 characters, cut)"), ascii.getDescription());
    // Non-ASCII is percent-encoded as up to nine bytes a character: fewer characters fit.
    Status wide = InboundGuard.bounded(Status.NOT_FOUND.withDescription("\u00e9".repeat(10_000)), 2048);
    assertTrue(wide.getDescription().length() < 2048 / 9 + 40, "" + wide.getDescription().length());
  }
}
