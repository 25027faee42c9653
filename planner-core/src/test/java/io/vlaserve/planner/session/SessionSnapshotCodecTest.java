package io.vlaserve.planner.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vlaserve.planner.PlannedSubgoal;
import io.vlaserve.planner.session.SessionMachine.Phase;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Snapshots through bytes and back, and every kind of bad input, which fails only one documented way. */
class SessionSnapshotCodecTest {
  private static final PlannedSubgoal MOVE = new PlannedSubgoal("move to the red block", 10);
  private static final PlannedSubgoal GRASP = new PlannedSubgoal("grasp the réd block ✋", 20);

  static SessionSnapshot sample() {
    return new SessionSnapshot("sess-7f3a", "arm-1", 3, Phase.REPLANNING, "pick up the red block", "a red block",
        List.of("move to the red block", "grasp the réd block ✋"), Duration.ofMillis(100), 2,
        List.of(new SessionSubgoal("5", MOVE, Duration.ofMillis(1500)),
            new SessionSubgoal("6", GRASP, Duration.ofMillis(3000))),
        1, List.of(MOVE, MOVE), 2, 6, 2, 9, true, 0.25, Duration.ofMillis(1234), Duration.ofSeconds(42),
        "timed out: its budget ran out", TRACE).withBridge(BRIDGE);
  }

  static final String BRIDGE = "dns:///controller-bridge-1.controller-bridge:9094";

  static final String TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

  @Test
  void aSnapshotComesBackEqual() {
    SessionSnapshot snapshot = sample();
    assertEquals(snapshot, SessionSnapshotCodec.decode(SessionSnapshotCodec.encode(snapshot)));
  }

  @Test
  void aRunningSnapshotWithAnUnknownGripperAndNoHistoryComesBackEqual() {
    SessionSnapshot snapshot = new SessionSnapshot("", "arm-2", 0, Phase.RUNNING, "", "", List.of(),
        Duration.ofNanos(1), 0, List.of(new SessionSubgoal("1", MOVE, Duration.ZERO)), 0, List.of(), 0, 1, 1, 1,
        false, Double.NaN, Duration.ZERO, Duration.ZERO, "", "");
    assertEquals(snapshot, SessionSnapshotCodec.decode(SessionSnapshotCodec.encode(snapshot)));
  }

  @Test
  void theFirstByteIsTheFormatVersion() {
    assertEquals(SessionSnapshotCodec.VERSION, SessionSnapshotCodec.encode(sample())[0]);
  }

  @Test
  void anUnknownVersionIsRefusedAsSuch() {
    byte[] bytes = SessionSnapshotCodec.encode(sample());
    bytes[0] = 4;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SessionSnapshotCodec.decode(bytes));
    assertEquals("snapshot format version 4 (expected 1..3)", e.getMessage());
  }

  @Test
  void aSnapshotWithoutABridgeHintIsWrittenInFormatTwoWhichGatewaysBeforeTheHintRead() {
    byte[] three = SessionSnapshotCodec.encode(sample());
    byte[] two = SessionSnapshotCodec.encode(sample().withBridge(""));
    assertEquals(SessionSnapshotCodec.VERSION_WITHOUT_BRIDGE, two[0]);
    // Format 2 is format 3 without the bridge's string (its 2-byte length and bytes) at the end.
    assertEquals(three.length - 2 - BRIDGE.length(), two.length);
    assertArrayEquals(Arrays.copyOfRange(three, 1, two.length), Arrays.copyOfRange(two, 1, two.length));
    assertEquals(sample().withBridge(""), SessionSnapshotCodec.decode(two));
  }

  @Test
  void formatThreeWithAnEmptyBridgeIsRefused() {
    byte[] two = SessionSnapshotCodec.encode(sample().withBridge(""));
    byte[] three = Arrays.copyOf(two, two.length + 2);
    three[0] = SessionSnapshotCodec.VERSION;
    assertEquals("snapshot: format 3 with an empty bridge (expected format 2 for none)",
        assertThrows(IllegalArgumentException.class, () -> SessionSnapshotCodec.decode(three)).getMessage());
  }

  @Test
  void aFormatOneSnapshotIsReadWithoutATrace() {
    // Format 1 is format 2 without the trace parent's string (its 2-byte length and bytes) at the end.
    byte[] two = SessionSnapshotCodec.encode(sample().withBridge(""));
    byte[] one = Arrays.copyOf(two, two.length - 2 - TRACE.length());
    one[0] = 1;
    SessionSnapshot read = SessionSnapshotCodec.decode(one);
    assertEquals("", read.traceParent());
    assertEquals(sample().sessionId(), read.sessionId());
    assertEquals(sample().failureReason(), read.failureReason());
  }

  @Test
  void emptyTrailingAndOversizedInputIsRefused() {
    assertEquals("snapshot: empty (expected a version byte and a snapshot)",
        assertThrows(IllegalArgumentException.class, () -> SessionSnapshotCodec.decode(new byte[0])).getMessage());
    byte[] bytes = SessionSnapshotCodec.encode(sample());
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
    assertEquals("snapshot: 1 bytes after its end (expected none)",
        assertThrows(IllegalArgumentException.class, () -> SessionSnapshotCodec.decode(longer)).getMessage());
    byte[] huge = new byte[SessionSnapshotCodec.MAX_BYTES + 1];
    huge[0] = 1;
    assertEquals("snapshot: 262145 bytes (expected <= 262144)",
        assertThrows(IllegalArgumentException.class, () -> SessionSnapshotCodec.decode(huge)).getMessage());
  }

  @Test
  void aStringLongerThanTheFormatCarriesIsRefusedWhenEncoding() {
    SessionSnapshot sample = sample();
    SessionSnapshot longTask = new SessionSnapshot(sample.sessionId(), sample.robotId(), 0, Phase.RUNNING,
        "x".repeat(SessionSnapshotCodec.MAX_STRING_BYTES + 1), "", List.of(), sample.stepPeriod(), 0, sample.plan(), 0,
        List.of(), 0, 6, 1, 1, false, Double.NaN, Duration.ZERO, Duration.ZERO, "", "");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SessionSnapshotCodec.encode(longTask));
    assertEquals("task: 16385 UTF-8 bytes (expected <= 16384)", e.getMessage());
  }

  @Test
  void everyTruncationIsRefused() {
    byte[] bytes = SessionSnapshotCodec.encode(sample());
    for (int length = 0; length < bytes.length; length++) {
      byte[] truncated = Arrays.copyOf(bytes, length);
      assertThrows(IllegalArgumentException.class, () -> SessionSnapshotCodec.decode(truncated),
          "truncated to " + length + " bytes");
    }
  }

  @Test
  void everySingleByteChangeDecodesToSomethingOrFailsOnlyTheDocumentedWay() {
    byte[] bytes = SessionSnapshotCodec.encode(sample());
    for (int i = 0; i < bytes.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] changed = bytes.clone();
        changed[i] ^= (byte) (1 << bit);
        decodesOrRefuses(changed);
      }
    }
  }

  @Test
  void randomBytesFailOnlyTheDocumentedWay() {
    Random random = new Random(20240518L);
    for (int run = 0; run < 20_000; run++) {
      byte[] bytes = new byte[random.nextInt(300)];
      random.nextBytes(bytes);
      if (bytes.length > 0 && random.nextBoolean()) {
        bytes[0] = SessionSnapshotCodec.VERSION;
      }
      decodesOrRefuses(bytes);
    }
  }

  @Test
  void randomTailsAfterAValidPrefixFailOnlyTheDocumentedWay() {
    byte[] bytes = SessionSnapshotCodec.encode(sample());
    Random random = new Random(7L);
    for (int run = 0; run < 5_000; run++) {
      byte[] mixed = bytes.clone();
      int from = random.nextInt(mixed.length);
      for (int i = from; i < mixed.length; i++) {
        mixed[i] = (byte) random.nextInt(256);
      }
      decodesOrRefuses(mixed);
    }
  }

  private static void decodesOrRefuses(byte[] bytes) {
    try {
      SessionSnapshot decoded = SessionSnapshotCodec.decode(bytes);
      // What decodes is a snapshot the format writes back the same.
      assertArrayEquals(bytes, SessionSnapshotCodec.encode(decoded));
    } catch (IllegalArgumentException expected) {
      assertTrue(expected.getMessage() != null && !expected.getMessage().isEmpty());
    } catch (RuntimeException e) {
      fail("decoding " + Arrays.toString(bytes) + " threw " + e, e);
    }
  }
}
