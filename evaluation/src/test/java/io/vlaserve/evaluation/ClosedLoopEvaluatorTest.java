package io.vlaserve.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.sim.expert.ExpertConfig;
import io.vlaserve.sim.expert.ScriptedExpert;
import io.vlaserve.skills.Skill;
import io.vlaserve.skills.Task;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ClosedLoopEvaluatorTest {
  private final ClosedLoopEvaluator evaluator = new ClosedLoopEvaluator(32, 32);

  @Test
  void theExpertAsSourceSucceedsAtEverySubgoalType() {
    ScriptedExpert expert = new ScriptedExpert(ExpertConfig.DEFAULT, new SplittableRandom(1));
    Map<Skill, ClosedLoopEvaluator.Score> scores = evaluator.evaluateSubgoals(
        (state, image, subgoal) -> new double[][] {expert.act(state, subgoal)}, List.of(Skill.values()), 20, 3);
    assertEquals(Skill.values().length, scores.size());
    for (ClosedLoopEvaluator.Score score : scores.values()) {
      assertEquals(20, score.episodes());
      assertTrue(score.successRate() >= 0.95, score.toString());
      assertTrue(score.meanSteps() >= 1, score.toString());
    }
  }

  @Test
  void aSourceThatHoldsStillSucceedsAtNothing() {
    double[] hold = {0, 0, 0, 0, 0, 0, 1};
    Map<Skill, ClosedLoopEvaluator.Score> scores = evaluator.evaluateSubgoals(
        (state, image, subgoal) -> new double[][] {hold.clone()},
        List.of(Skill.MOVE_TO, Skill.GRASP, Skill.MOVE_ABOVE_PLATE), 10, 3);
    scores.values().forEach(score -> assertEquals(0, score.successes(), score.toString()));
  }

  @Test
  void wholeTasksRunEverySubgoalInOrder() {
    ScriptedExpert expert = new ScriptedExpert(ExpertConfig.DEFAULT, new SplittableRandom(2));
    ClosedLoopEvaluator.Score score = evaluator.evaluateTasks(
        (state, image, subgoal) -> new double[][] {expert.act(state, subgoal)}, "put on plate",
        state -> Task.putOnPlate(state.blocks().get(0).color()), 15, 5);
    assertEquals(15, score.successes());
    assertTrue(score.meanSteps() > 10, "five subgoals take more than ten steps");
  }

  @Test
  void theSourceSeesTheRenderedFrame() {
    int[] nonZero = {0};
    ScriptedExpert expert = new ScriptedExpert(ExpertConfig.DEFAULT, new SplittableRandom(2));
    evaluator.evaluateSubgoals((state, image, subgoal) -> {
      for (byte b : image) {
        if (b != 0) {
          nonZero[0]++;
          break;
        }
      }
      return new double[][] {expert.act(state, subgoal)};
    }, List.of(Skill.MOVE_TO), 3, 1);
    assertTrue(nonZero[0] > 0, "frames are rendered before the source is asked");
  }
}
