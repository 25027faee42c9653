package io.vlaserve.controller.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SafetyEventLogTest {

  @Test
  void drainsInOrderWithAnActionableSentence() {
    SafetyEventLog log = new SafetyEventLog("sim-0", 8);
    log.record(5, 1, Cause.VELOCITY_REQUESTED, SafetyAction.CLAMP, Axis.X, 2.5, 1.0, 7, null);
    log.record(6, 2, Cause.HALT_REQUESTED, SafetyAction.HALT, Axis.NONE, 0, 0, 7, "operator");
    List<SafetyEvent> events = new ArrayList<>();
    assertEquals(2, log.drain(events::add));
    SafetyEvent clamp = events.get(0);
    assertEquals(SafetyEventKind.VELOCITY, clamp.kind());
    assertEquals("sim-0", clamp.robotId());
    assertEquals(7, clamp.chunkId());
    assertEquals("Requested x velocity 2.500 m/s exceeds the limit 1.000 m/s. Clamped; execution continues.",
        clamp.message());
    assertEquals("Halt requested: operator. Decelerating to a hold; Resume required.", events.get(1).message());
    assertEquals(0, log.drain(events::add));
  }

  @Test
  void aFullLogDropsButStillCountsExactly() {
    SafetyEventLog log = new SafetyEventLog("sim-0", 4);
    for (int i = 0; i < 10; i++) {
      log.record(i, i, Cause.JERK_REQUESTED, SafetyAction.CLAMP, Axis.Z, 1e5, 2e3, 0, null);
    }
    assertEquals(10, log.count(SafetyEventKind.JERK));
    assertEquals(6, log.dropped());
    List<SafetyEvent> events = new ArrayList<>();
    log.drain(events::add);
    assertEquals(List.of(0L, 1L, 2L, 3L), events.stream().map(SafetyEvent::tick).toList());
  }
}
