package io.vlaserve.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class EmbeddedPlannerTest {
  static final List<String> SKILLS = List.of(
      "move to the red block", "move to the green block", "grasp the red block", "grasp the green block",
      "lift the block", "move above the plate", "move above the green block", "release the block");

  private final EmbeddedPlanner planner = new EmbeddedPlanner();

  private static List<String> instructions(PlannedTask task) {
    return task.subgoals().stream().map(PlannedSubgoal::instruction).toList();
  }

  @Test
  void decomposesEachTaskFormIntoTheSimulatorsSkills() throws PlanningException {
    assertEquals(List.of("move to the red block", "grasp the red block", "lift the block", "move above the plate",
        "release the block"), instructions(planner.plan(PlanningRequest.initial("Put the  red block on the plate", "", SKILLS))));
    assertEquals(List.of("move to the red block", "grasp the red block", "lift the block"),
        instructions(planner.plan(PlanningRequest.initial("pick up the red block", "", SKILLS))));
    PlannedTask stack = planner.plan(PlanningRequest.initial("stack the red block on the green block", "", SKILLS));
    assertEquals("move above the green block", stack.subgoals().get(3).instruction());
    assertEquals("embedded", stack.planner());
    assertEquals(30, stack.subgoals().get(0).maxSteps(), "the simulator's budget for move to");
    assertEquals(20, stack.subgoals().get(2).maxSteps(), "the simulator's budget for lift");
  }

  @Test
  void refusesTasksOutsideItsGrammarNamingTheAcceptedForms() {
    PlanningException e = assertThrows(PlanningException.class,
        () -> planner.plan(PlanningRequest.initial("make me a sandwich", "", SKILLS)));
    assertEquals(PlanningException.Kind.UNSUPPORTED_TASK, e.kind());
    assertTrue(e.getMessage().contains("put the <colour> block on the plate"), e.getMessage());
  }

  @Test
  void refusesAPlanNeedingASkillThePolicyLacks() {
    PlanningException e = assertThrows(PlanningException.class,
        () -> planner.plan(PlanningRequest.initial("put the blue block on the plate", "", SKILLS)));
    assertEquals(PlanningException.Kind.UNSUPPORTED_TASK, e.kind());
    assertTrue(e.getMessage().contains("no skill 'move to the blue block'"), e.getMessage());
  }

  @Test
  void aFailedGraspRestartsFromTheApproach() throws PlanningException {
    PlannedTask first = planner.plan(PlanningRequest.initial("put the red block on the plate", "", SKILLS));
    PlanningRequest replan = new PlanningRequest("put the red block on the plate", "", SKILLS,
        first.subgoals().subList(0, 1), new SubgoalFailure(first.subgoals().get(1), "timed out after 30 steps"), 0.0);
    PlannedTask again = planner.plan(replan);
    assertEquals("move to the red block", again.subgoals().get(0).instruction());
    assertEquals(5, again.subgoals().size());
    assertTrue(again.rationale().contains("timed out after 30 steps"), again.rationale());
  }

  @Test
  void aFailedCarryRetriesWhileHoldingAndStartsOverOnceTheBlockIsDropped() throws PlanningException {
    PlannedTask first = planner.plan(PlanningRequest.initial("put the red block on the plate", "", SKILLS));
    SubgoalFailure carry = new SubgoalFailure(first.subgoals().get(3), "timed out");
    PlannedTask holding = planner.plan(new PlanningRequest("put the red block on the plate", "", SKILLS,
        first.subgoals().subList(0, 3), carry, 0.0));
    assertEquals(List.of("move above the plate", "release the block"), instructions(holding));
    PlannedTask dropped = planner.plan(new PlanningRequest("put the red block on the plate", "", SKILLS,
        first.subgoals().subList(0, 3), carry, 1.0));
    assertEquals(5, dropped.subgoals().size());
  }

  @Test
  void aFailedApproachWithTheGripperClosedReleasesFirst() throws PlanningException {
    PlannedTask first = planner.plan(PlanningRequest.initial("put the red block on the plate", "", SKILLS));
    PlannedTask again = planner.plan(new PlanningRequest("put the red block on the plate", "", SKILLS, List.of(),
        new SubgoalFailure(first.subgoals().get(0), "timed out"), 0.0));
    assertEquals(List.of("release the block", "move to the red block", "grasp the red block", "lift the block",
        "move above the plate", "release the block"), instructions(again));
    assertTrue(again.rationale().contains("gripper closed"), again.rationale());
  }
}
