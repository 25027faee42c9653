package io.vlaserve.planner.session;

import io.vlaserve.planner.PlannedSubgoal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A planned subgoal as a session runs it: with the id the robot signals it by and its time budget.
 *
 * @param id unique within the session, e.g. "3"
 * @param planned the planner's subgoal
 * @param budget how long it may run (halts not counted) before it times out
 */
public record SessionSubgoal(String id, PlannedSubgoal planned, Duration budget) {
  public SessionSubgoal {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(planned, "planned");
    Objects.requireNonNull(budget, "budget");
  }

  public String instruction() {
    return planned.instruction();
  }

  public int maxSteps() {
    return planned.maxSteps();
  }

  /** A subgoal's time budget: its steps at the policy's step period, times {@code timeFactor} for slack. */
  public static Duration budget(PlannedSubgoal subgoal, Duration stepPeriod, double timeFactor) {
    return Duration.ofNanos(Math.round(subgoal.maxSteps() * stepPeriod.toNanos() * timeFactor));
  }

  /** {@code subgoals} with ids counting up from {@code firstId} and their budgets. */
  public static List<SessionSubgoal> numbered(List<PlannedSubgoal> subgoals, int firstId, Duration stepPeriod,
      double timeFactor) {
    List<SessionSubgoal> numbered = new ArrayList<>(subgoals.size());
    int id = firstId;
    for (PlannedSubgoal subgoal : subgoals) {
      numbered.add(new SessionSubgoal(String.valueOf(id++), subgoal, budget(subgoal, stepPeriod, timeFactor)));
    }
    return List.copyOf(numbered);
  }
}
