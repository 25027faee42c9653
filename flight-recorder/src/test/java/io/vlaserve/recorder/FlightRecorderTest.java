package io.vlaserve.recorder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.recorder.mcap.McapReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlightRecorderTest {
  private static final long S = 1_000_000_000L;
  private static final long T0 = 1_800_000_000L * S;
  private static final FlightRecorder.Topic SETPOINTS =
      new FlightRecorder.Topic("/setpoints", "vla.controller.v1.Setpoint", "protobuf", new byte[] {9}, "protobuf");
  private static final FlightRecorder.Topic EVENTS = new FlightRecorder.Topic("/safety_events", null, null, null, "json");

  private static byte[] text(String value) {
    return value.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aHaltFlushesTheLastThirtySecondsOfThatSessionOnly(@TempDir Path dir) throws Exception {
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(dir, "controller-bridge"))) {
      // 60 s of arm-1 at 10 Hz, and another robot's messages meanwhile.
      for (int i = 0; i < 600; i++) {
        assertTrue(recorder.record(SETPOINTS, "arm-1", T0 + i * S / 10, text("setpoint " + i)));
        recorder.record(SETPOINTS, "arm-2", T0 + i * S / 10, text("other " + i));
      }
      recorder.record(EVENTS, "arm-1", T0 + 60 * S, text("{\"kind\":\"velocity\",\"action\":\"halt\"}"));
      Path file = recorder.flushRing("arm-1", "safety halt").get(30, TimeUnit.SECONDS);
      assertTrue(file.getFileName().toString().startsWith("controller-bridge-arm-1-"), file.toString());
      assertTrue(file.getFileName().toString().endsWith("-safety_halt.mcap"), file.toString());

      McapReader read = McapReader.read(file);
      List<McapReader.Message> messages = read.messages();
      // Everything from 30 s before the halt's event on: setpoints 300..599 and the event.
      assertEquals(301, messages.size());
      assertEquals(T0 + 30 * S, messages.get(0).logTime());
      assertEquals("setpoint 300", new String(messages.get(0).data(), StandardCharsets.UTF_8));
      assertEquals(T0 + 60 * S, messages.get(300).logTime());
      assertEquals("/safety_events", read.channels().get(messages.get(300).channelId()).topic());
      assertEquals("vla.controller.v1.Setpoint", read.schemas().get(1).name());
      assertTrue(messages.stream().noneMatch(m -> new String(m.data(), StandardCharsets.UTF_8).startsWith("other")));
      assertEquals(0, recorder.dropped());
      assertNull(recorder.flushRing("arm-9", "nothing").get(30, TimeUnit.SECONDS), "a session that recorded nothing");
    }
  }

  @Test
  void aFullRecordingHoldsEveryMessageFromWhenItWasSwitchedOnAndRotates(@TempDir Path dir) throws Exception {
    FlightRecorder.Options options = new FlightRecorder.Options(dir, "policy-service", Duration.ofSeconds(30),
        64L << 20, 65_536, 20_000, 1L << 30);
    try (FlightRecorder recorder = new FlightRecorder(options)) {
      recorder.record(SETPOINTS, "arm-1", T0, text("before"));
      Path first = recorder.recordFully("arm-1", true).get(30, TimeUnit.SECONDS);
      for (int i = 0; i < 1000; i++) {
        recorder.record(SETPOINTS, "arm-1", T0 + i * S / 100, text("chunk " + i + " ".repeat(40)));
      }
      assertNull(recorder.recordFully("arm-1", false).get(30, TimeUnit.SECONDS));
      List<Path> files = recorder.files();
      assertEquals(first, files.get(0));
      assertTrue(files.size() >= 2, "rotated past 20 kB: " + files);
      int total = 0;
      for (Path file : files) {
        total += McapReader.read(file).messages().size();
      }
      assertEquals(1000, total, "every message once, none from before the switch");
    }
  }

  @Test
  void messagesOfferedFromManyThreadsAreAllInTheFullRecordingAndNoneAfterItEnds(@TempDir Path dir)
      throws Exception {
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(dir, "bridge"))) {
      recorder.recordFully("fleet", true).get(30, TimeUnit.SECONDS);
      int threads = 4;
      int each = 5_000;
      java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
      List<Thread> robots = new java.util.ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int robot = t;
        robots.add(Thread.ofPlatform().start(() -> {
          try {
            start.await();
          } catch (InterruptedException e) {
            return;
          }
          for (int i = 0; i < each; i++) {
            recorder.record(SETPOINTS, "fleet", T0 + i, text(robot + ":" + i));
          }
        }));
      }
      start.countDown();
      for (Thread robot : robots) {
        robot.join();
      }
      Path file = recorder.files().isEmpty() ? null : recorder.files().get(0);
      assertNull(file, "still recording");
      assertNull(recorder.recordFully("fleet", false).get(30, TimeUnit.SECONDS));
      recorder.record(SETPOINTS, "fleet", T0, text("after"));
      List<McapReader.Message> messages = McapReader.read(recorder.files().get(0)).messages();
      assertEquals(threads * each, messages.size(), "every offer before the switch-off, none after");
      assertEquals(0, recorder.dropped());
    }
  }

  @Test
  void theRingsOfSessionsSilentForLongerThanTheRingDurationAreForgotten(@TempDir Path dir) throws Exception {
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(dir, "gateway"))) {
      // 100 short sessions, one after another, then one robot for 40 s (past their rings' 30 s).
      for (int session = 0; session < 100; session++) {
        recorder.record(SETPOINTS, "session-" + session, T0 + session * S / 100, text("hello"));
      }
      for (int i = 0; i < 8192; i++) {
        recorder.record(SETPOINTS, "arm-1", T0 + S + i * (40 * S / 8192), text("x"));
      }
      assertEquals(1, recorder.ringsHeld(), "only the robot still recording keeps a ring");
      assertNull(recorder.flushRing("session-3", "late").get(30, TimeUnit.SECONDS), "nothing from the last 30 s");
      assertTrue(recorder.flushRing("arm-1", "halt").get(30, TimeUnit.SECONDS) != null);
    }
  }

  @Test
  void theOldestRecordingsGoWhenTheDirectoryIsOverItsBudget(@TempDir Path dir) throws Exception {
    FlightRecorder.Options options = new FlightRecorder.Options(dir, "gateway", Duration.ofSeconds(30),
        64L << 20, 65_536, 1L << 30, 60_000);
    try (FlightRecorder recorder = new FlightRecorder(options)) {
      List<Path> flushed = new java.util.ArrayList<>();
      for (int round = 0; round < 8; round++) {
        for (int i = 0; i < 200; i++) {
          recorder.record(SETPOINTS, "arm-1", T0 + (round * 200L + i) * S / 100, text("x".repeat(100)));
        }
        flushed.add(recorder.flushRing("arm-1", "round " + round).get(30, TimeUnit.SECONDS));
      }
      long total;
      try (Stream<Path> files = Files.list(dir)) {
        total = files.mapToLong(p -> p.toFile().length()).sum();
      }
      assertTrue(total <= 60_000, total + " bytes on disk");
      // Written within the same second, so only the recorder's own order tells them apart.
      assertTrue(Files.exists(flushed.get(7)), "the newest recording is kept");
      assertFalse(Files.exists(flushed.get(0)), "the oldest is gone");
      List<Path> kept = flushed.stream().filter(Files::exists).toList();
      assertEquals(flushed.subList(8 - kept.size(), 8), kept, "the newest ones are kept");
      assertEquals(kept, recorder.files());
    }
  }

  @Test
  void fullRecordingsGoBeforeTheRingsFlushedOnAHalt(@TempDir Path dir) throws Exception {
    FlightRecorder.Options options = new FlightRecorder.Options(dir, "bridge", Duration.ofSeconds(30),
        64L << 20, 65_536, 1L << 30, 60_000);
    try (FlightRecorder recorder = new FlightRecorder(options)) {
      for (int i = 0; i < 200; i++) {
        recorder.record(SETPOINTS, "arm-1", T0 + i * S / 100, text("x".repeat(100)));
      }
      Path halt = recorder.flushRing("arm-1", "halt").get(30, TimeUnit.SECONDS);
      // Then another robot, recorded in full, writes more than the whole budget (incompressibly).
      recorder.recordFully("arm-2", true).get(30, TimeUnit.SECONDS);
      java.util.SplittableRandom random = new java.util.SplittableRandom(3);
      for (int i = 0; i < 600; i++) {
        byte[] noise = new byte[100];
        random.nextBytes(noise);
        recorder.record(SETPOINTS, "arm-2", T0 + 3 * S + i * S / 100, noise);
      }
      recorder.recordFully("arm-2", false).get(30, TimeUnit.SECONDS);
      assertTrue(Files.exists(halt), "the halt's recording is kept");
      assertEquals(List.of(halt), recorder.files(), "the full recording went to stay within the budget");
    }
  }

  @Test
  void aFullQueueDropsAndCountsInsteadOfBlocking(@TempDir Path dir) throws Exception {
    FlightRecorder.Options options = new FlightRecorder.Options(dir, "bridge", Duration.ofSeconds(30),
        64L << 20, 4, 1L << 30, 1L << 30);
    FlightRecorder recorder = new FlightRecorder(options);
    recorder.close();
    assertFalse(recorder.record(SETPOINTS, "arm-1", T0, text("late")), "a closed recorder takes nothing");
    assertEquals(1, recorder.dropped());
    try (FlightRecorder busy = new FlightRecorder(options)) {
      int accepted = 0;
      // Offered far faster than the writer drains; the offers never wait.
      for (int i = 0; i < 100_000; i++) {
        accepted += busy.record(SETPOINTS, "arm-1", T0 + i, new byte[1]) ? 1 : 0;
      }
      assertEquals(100_000, accepted + busy.dropped());
      assertEquals(accepted, busy.recorded());
    }
  }

  @Test
  void aMessageRecordedWhenWrittenIsEncodedOnlyForAFileAndOnlyOnce(@TempDir Path dir) throws Exception {
    java.util.concurrent.atomic.AtomicInteger encodings = new java.util.concurrent.atomic.AtomicInteger();
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(dir, "policy-service"))) {
      for (int i = 0; i < 100; i++) {
        String value = "inference " + i;
        recorder.recordWhenWritten(SETPOINTS, "arm-1", T0 + i * S / 10, 64, () -> {
          encodings.incrementAndGet();
          return text(value);
        });
      }
      // A message that cannot be encoded is lost alone, counted.
      recorder.recordWhenWritten(SETPOINTS, "arm-1", T0 + 10 * S, 64, () -> {
        throw new IllegalStateException("no frame");
      });
      assertEquals(1, recorder.ringsHeld(), "arm-1's ring holds them");
      assertEquals(0, encodings.get(), "nothing encoded while the messages only pass through the ring");

      Path file = recorder.flushRing("arm-1", "engine-failure").get(30, TimeUnit.SECONDS);
      List<McapReader.Message> messages = McapReader.read(file).messages();
      assertEquals(100, messages.size());
      assertEquals("inference 99", new String(messages.get(99).data(), StandardCharsets.UTF_8));
      assertEquals(100, encodings.get());
      assertEquals(1, recorder.dropped());
      assertEquals(100, recorder.recorded());

      // A second flush writes the same messages without encoding them again.
      Path again = recorder.flushRing("arm-1", "engine-failure").get(30, TimeUnit.SECONDS);
      assertEquals(100, McapReader.read(again).messages().size());
      assertEquals(100, encodings.get());

      // Recorded in full, a message is encoded as it is taken.
      Path full = recorder.recordFully("arm-2", true).get(30, TimeUnit.SECONDS);
      recorder.recordWhenWritten(SETPOINTS, "arm-2", T0 + 11 * S, 64, () -> {
        encodings.incrementAndGet();
        return text("recorded in full");
      });
      recorder.recordFully("arm-2", false).get(30, TimeUnit.SECONDS);
      assertEquals(101, encodings.get());
      assertEquals("recorded in full", new String(McapReader.read(full).messages().get(0).data(), StandardCharsets.UTF_8));
    }
  }
}
