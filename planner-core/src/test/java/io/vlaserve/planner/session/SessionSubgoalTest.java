package io.vlaserve.planner.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vlaserve.planner.PlannedSubgoal;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SessionSubgoalTest {
  private static final PlannedSubgoal MOVE = new PlannedSubgoal("move to the red block", 40);
  private static final PlannedSubgoal GRASP = new PlannedSubgoal("grasp the red block", 3);

  @Test
  void aBudgetIsTheStepsAtTheStepPeriodTimesTheFactor() {
    assertEquals(Duration.ofSeconds(6), SessionSubgoal.budget(MOVE, Duration.ofMillis(100), 1.5));
    assertEquals(Duration.ofNanos(4_500_000), SessionSubgoal.budget(GRASP, Duration.ofMillis(1), 1.5));
    assertEquals(Duration.ofNanos(5), SessionSubgoal.budget(GRASP, Duration.ofNanos(1), 1.5), "rounded to the nanosecond");
  }

  @Test
  void subgoalsAreNumberedOnFromTheFirstId() {
    assertEquals(List.of(
        new SessionSubgoal("4", MOVE, Duration.ofSeconds(4)),
        new SessionSubgoal("5", GRASP, Duration.ofMillis(300))),
        SessionSubgoal.numbered(List.of(MOVE, GRASP), 4, Duration.ofMillis(100), 1.0));
  }

  @Test
  void settingsSayWhatTheyExpect() {
    assertEquals("maxReplans: -1 (expected >= 0)", assertThrows(IllegalArgumentException.class,
        () -> new SessionSettings(-1, 1.5, Duration.ofSeconds(5))).getMessage());
    assertEquals("subgoalTimeFactor: 0.0 (expected > 0)", assertThrows(IllegalArgumentException.class,
        () -> new SessionSettings(3, 0, Duration.ofSeconds(5))).getMessage());
  }
}
