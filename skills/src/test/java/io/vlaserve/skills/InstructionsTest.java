package io.vlaserve.skills;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InstructionsTest {

  static List<Subgoal> allSubgoals() {
    List<Subgoal> all = new ArrayList<>();
    for (Skill skill : Skill.values()) {
      if (!skill.takesColour()) {
        all.add(new Subgoal(skill, null));
        continue;
      }
      for (BlockColor color : BlockColor.values()) {
        all.add(new Subgoal(skill, color));
      }
    }
    return all;
  }

  @Test
  void everySubgoalRoundTripsThroughItsInstruction() {
    List<Subgoal> all = allSubgoals();
    assertEquals(4 * 3 + 3, all.size());
    for (Subgoal subgoal : all) {
      assertEquals(subgoal, Instructions.parseSubgoal(subgoal.instruction()));
    }
  }

  @Test
  void everyTaskRoundTripsThroughItsInstruction() {
    int tasks = 0;
    for (BlockColor block : BlockColor.values()) {
      for (Task task : List.of(Task.putOnPlate(block), Task.pickUp(block))) {
        assertEquals(task, Instructions.parseTask(task.instruction()));
        tasks++;
      }
      for (BlockColor target : BlockColor.values()) {
        if (target != block) {
          Task stack = Task.stack(block, target);
          assertEquals(stack, Instructions.parseTask(stack.instruction()));
          tasks++;
        }
      }
    }
    assertEquals(4 + 4 + 12, tasks);
  }

  @Test
  void canonicalTextsAreTheDocumentedOnes() {
    assertEquals("move to the red block", Subgoal.moveTo(BlockColor.RED).instruction());
    assertEquals("grasp the green block", Subgoal.grasp(BlockColor.GREEN).instruction());
    assertEquals("lift the block", Subgoal.lift().instruction());
    assertEquals("move above the plate", Subgoal.moveAbovePlate().instruction());
    assertEquals("move above the blue block", Subgoal.moveAbove(BlockColor.BLUE).instruction());
    assertEquals("release the block", Subgoal.release().instruction());
    assertEquals("stack the yellow block on the red block",
        Task.stack(BlockColor.YELLOW, BlockColor.RED).instruction());
  }

  @ParameterizedTest
  @ValueSource(strings = {"Grasp the RED block", "  grasp   the red\tblock \n", "GRASP THE RED BLOCK"})
  void caseAndWhitespaceAreIgnored(String text) {
    assertEquals(Subgoal.grasp(BlockColor.RED), Instructions.parseSubgoal(text));
  }

  @Test
  void taskParsingIgnoresCaseAndWhitespaceToo() {
    assertEquals(Task.putOnPlate(BlockColor.BLUE), Instructions.parseTask(" Put the Blue  block on the plate"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"grasp the purple block", "grab the red block", "grasp red block", "", "lift the block now"})
  void anythingElseIsRejectedListingTheAcceptedForms(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Instructions.parseSubgoal(text));
    assertTrue(e.getMessage().startsWith("unknown subgoal instruction '" + text.strip() + "'"), e.getMessage());
    for (String form : Instructions.subgoalForms()) {
      assertTrue(e.getMessage().contains(form), "lists '" + form + "': " + e.getMessage());
    }
    assertTrue(e.getMessage().endsWith("colours: red, green, blue, yellow)"), e.getMessage());
  }

  @Test
  void unknownTaskErrorListsTaskForms() {
    IllegalArgumentException e = assertThrows(
        IllegalArgumentException.class, () -> Instructions.parseTask("clean the table"));
    assertEquals("unknown task instruction 'clean the table' (expected one of: "
        + "put the <colour> block on the plate; pick up the <colour> block; "
        + "stack the <colour> block on the <target> block; colours: red, green, blue, yellow)",
        e.getMessage());
  }

  @Test
  void stackingABlockOnItselfIsRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Instructions.parseTask("stack the red block on the red block"));
    assertTrue(e.getMessage().contains("on itself"), e.getMessage());
  }

  @Test
  void subgoalArgumentsAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> new Subgoal(Skill.GRASP, null));
    assertThrows(IllegalArgumentException.class, () -> new Subgoal(Skill.LIFT, BlockColor.RED));
  }
}
