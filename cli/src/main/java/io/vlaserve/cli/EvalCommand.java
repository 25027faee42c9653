package io.vlaserve.cli;

import io.vlaserve.evaluation.ClosedLoopEvaluator;
import io.vlaserve.evaluation.PolicyActionSource;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.skills.Instructions;
import io.vlaserve.skills.Skill;
import io.vlaserve.skills.Task;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vla eval}: the policy in the loop of the simulator, per subgoal type and per task. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"Closed-loop evaluation of a model package in the simulator: success rate and mean steps per",
        "subgoal type (the expert sets up each subgoal's start state), then whole put-on-plate tasks."})
final class EvalCommand implements Callable<Integer> {
  @Option(names = "--model", defaultValue = ModelPackage.SHIPPED, description = "Model package folder (default: ${DEFAULT-VALUE}).")
  Path model;

  @Option(names = "--episodes", defaultValue = "50", description = "Episodes per subgoal type (default: ${DEFAULT-VALUE}).")
  int episodes;

  @Option(names = "--task-episodes", defaultValue = "50", description = "Whole-task episodes; 0 skips (default: ${DEFAULT-VALUE}).")
  int taskEpisodes;

  @Option(names = "--seed", defaultValue = "1000", description = "Evaluation seed, unlike any training seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--execute", description = "Chunk steps executed before re-planning (default: half the chunk).")
  Integer execute;

  @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(names = "--threads", defaultValue = "1", description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE}).")
  int threads;

  @Override
  public Integer call() {
    Path folder = model.isAbsolute() ? model : Services.home().resolve(model);
    ModelPackage modelPackage = ModelPackage.load(folder);
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(modelPackage, threads)) {
      VlaPolicy policy = new VlaPolicy(modelPackage, engine);
      int executeSteps = execute != null ? execute : Math.max(1, modelPackage.chunkLength() / 2);
      PolicyActionSource source = new PolicyActionSource(policy, executeSteps,
          new SamplingParams(temperature, 0, 0, seed));
      Set<Skill> skills = new LinkedHashSet<>();
      for (String skill : modelPackage.skills()) {
        skills.add(Instructions.parseSubgoal(skill).skill());
      }
      System.out.printf("model %s %s on %s, chunk %d, executing %d step(s) per chunk, %d episodes per subgoal type%n",
          modelPackage.name(), modelPackage.version(), engine.name(), modelPackage.chunkLength(), executeSteps, episodes);
      ClosedLoopEvaluator evaluator = new ClosedLoopEvaluator(modelPackage.imageWidth(), modelPackage.imageHeight());
      Map<Skill, ClosedLoopEvaluator.Score> scores = evaluator.evaluateSubgoals(source, new ArrayList<>(skills), episodes, seed);
      System.out.printf("%-32s %9s %10s%n", "subgoal", "success", "mean steps");
      double sum = 0;
      for (ClosedLoopEvaluator.Score score : scores.values()) {
        System.out.printf("%-32s %8.1f%% %10.1f%n", score.name(), 100 * score.successRate(), score.meanSteps());
        sum += score.successRate();
      }
      System.out.printf("%-32s %8.1f%%%n", "average over subgoal types", 100 * sum / scores.size());
      if (taskEpisodes > 0) {
        ClosedLoopEvaluator.Score task = evaluator.evaluateTasks(source, "put the <colour> block on the plate",
            state -> Task.putOnPlate(state.blocks().get(0).color()), taskEpisodes, seed);
        System.out.printf("%-32s %8.1f%% %10.1f   (%d episodes, whole task by the policy)%n", "put the block on the plate",
            100 * task.successRate(), task.meanSteps(), task.episodes());
      }
      System.out.printf("%d inferences, mean %.1f ms per chunk%n", source.inferences(), source.meanInferenceMillis());
    }
    return 0;
  }

}
