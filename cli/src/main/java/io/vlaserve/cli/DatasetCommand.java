package io.vlaserve.cli;

import io.vlaserve.dataset.DemonstrationGenerator;
import io.vlaserve.dataset.GeneratorConfig;
import io.vlaserve.evaluation.ControllerDrivenLearner;
import io.vlaserve.evaluation.PolicyActionSource;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Files;
import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.skills.TaskKind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code vla dataset generate}: expert demonstrations from the simulator (docs/dataset.md). */
@Command(name = "dataset", mixinStandardHelpOptions = true, description = "Demonstration datasets.",
    subcommands = DatasetCommand.Generate.class)
final class DatasetCommand {

  @Command(name = "generate", mixinStandardHelpOptions = true,
      description = {"Record the scripted expert solving seeded tasks in the simulator, as NumPy arrays plus",
          "OpenVLA dataset_statistics.json and action tokens from this project's tokenizer (docs/dataset.md)."})
  static final class Generate implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out", required = true, description = "Output directory (created).")
    Path out;

    @Option(names = "--episodes", defaultValue = "1000", description = "Successful episodes (default: ${DEFAULT-VALUE}).")
    int episodes;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of everything (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--image-size", defaultValue = "64", description = "Square frame size in pixels (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--tasks", defaultValue = "put,pick,stack", split = ",",
        description = "Task kinds: put (on the plate), pick (up), stack (default: ${DEFAULT-VALUE}).")
    List<String> tasks;

    @Option(names = "--blocks", defaultValue = "2..4", description = "Blocks per scene, N or MIN..MAX (default: ${DEFAULT-VALUE}).")
    String blocks;

    @Option(names = "--expert-noise", defaultValue = "1.0",
        description = "Multiplier on the expert's action noise (default: ${DEFAULT-VALUE}).")
    double expertNoise;

    @Option(names = "--perturb-prob", defaultValue = "0.0",
        description = "Per-step probability of executing a perturbed action; labels stay clean (default: ${DEFAULT-VALUE}).")
    double perturbProbability;

    @Option(names = "--perturb-scale", defaultValue = "1.0",
        description = "Perturbation size multiplier: 1 = 0.01 m, 0.03 rad std (default: ${DEFAULT-VALUE}).")
    double perturbScale;

    @Option(names = "--learner", paramLabel = "MODEL",
        description = {"On-policy rows (DAgger): this model package drives some subgoals in place of the expert",
            "(see --learner-execution), and every state it reaches is labelled by the noiseless expert;",
            "where it runs out of a subgoal's budget the expert recovers from there.",
            "Rows are tokenized with the model's own dataset_statistics.json, to be trained together with",
            "its dataset (docs/dataset.md)."})
    Path learner;

    @Option(names = "--learner-prob", defaultValue = "0.5",
        description = "With --learner: per subgoal, the chance that the learner drives it (default: ${DEFAULT-VALUE}).")
    double learnerProbability;

    @Option(names = "--learner-execution", defaultValue = "controller",
        description = {"With --learner: how its chunks move the robot. controller: as the suite executes them, one",
            "chunk per 0.1 s arriving after --learner-latency, interpolated, blended and gated by the 1 kHz",
            "controller; prefix: as controller, but each request carries the committed prefix and the chunk",
            "continues it (real-time chunking; rows record it: docs/dataset.md); steps: its actions applied to",
            "the simulator one per step (default: ${DEFAULT-VALUE})."})
    String learnerExecution;

    @Option(names = "--learner-latency", defaultValue = "10..150",
        description = "With --learner-execution controller: chunk latency in ms, MIN..MAX, drawn per take-over (default: ${DEFAULT-VALUE}).")
    String learnerLatency;

    @Option(names = "--threads", defaultValue = "1",
        description = "With --learner: ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Override
    public Integer call() throws Exception {
      if (learner != null) {
        Path folder = learner.isAbsolute() || Files.isDirectory(learner) ? learner : Services.home().resolve(learner);
        ModelPackage model = ModelPackage.load(folder);
        try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, threads)) {
          // Greedy, as the suite serves it; the whole chunk, of which the generator runs 1..H steps.
          PolicyActionSource policy = new PolicyActionSource(new VlaPolicy(model, engine), model.chunkLength(),
              new SamplingParams(0, 0, 0, seed));
          DemonstrationGenerator.ChunkPolicy chunks = new DemonstrationGenerator.ChunkPolicy() {
            @Override
            public double[][] chunk(byte[] image, WorldState state, Subgoal subgoal) {
              return policy.act(state, image, subgoal);
            }

            @Override
            public double[][] continuation(byte[] image, WorldState state, Subgoal subgoal, double[][] prefix) {
              return policy.continuation(state, image, subgoal, prefix);
            }
          };
          DemonstrationGenerator.Learner driving = switch (learnerExecution) {
            case "controller", "prefix" -> {
              if (learnerExecution.equals("prefix") && model.decoding() == ModelPackage.Decoding.PARALLEL) {
                throw new IllegalArgumentException("--learner-execution prefix: " + folder + " decodes its chunk in"
                    + " parallel and cannot continue a committed prefix (use an autoregressive model, e.g. tiny-vla-h8)");
              }
              int[] latency = range("--learner-latency", learnerLatency);
              yield new ControllerDrivenLearner(chunks, latency[0], latency[1], learnerExecution.equals("prefix")
                  ? ControllerDrivenLearner.Execution.PREFIX : ControllerDrivenLearner.Execution.BLEND);
            }
            case "steps" -> DemonstrationGenerator.Learner.stepwise(chunks);
            default -> throw new IllegalArgumentException("--learner-execution: \"" + learnerExecution
                + "\" (expected: controller, prefix or steps)");
          };
          return generate(new DemonstrationGenerator.OnPolicy(driving, learnerProbability,
              folder.resolve("dataset_statistics.json")));
        }
      }
      return generate(null);
    }

    /** "N" or "MIN..MAX" as {min, max}. */
    private static int[] range(String option, String text) {
      String[] range = text.split("\\.\\.");
      try {
        int min = Integer.parseInt(range[0].strip());
        return new int[] {min, range.length > 1 ? Integer.parseInt(range[1].strip()) : min};
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(option + ": \"" + text + "\" (expected: N or MIN..MAX, e.g. 2..4)");
      }
    }

    private int generate(DemonstrationGenerator.OnPolicy onPolicy) throws Exception {
      List<TaskKind> kinds = new ArrayList<>();
      for (String task : tasks) {
        kinds.add(switch (task.strip()) {
          case "put" -> TaskKind.PUT_ON_PLATE;
          case "pick" -> TaskKind.PICK_UP;
          case "stack" -> TaskKind.STACK;
          default -> throw new IllegalArgumentException("--tasks: \"" + task + "\" (expected: put, pick or stack)");
        });
      }
      int[] blockRange = range("--blocks", blocks);
      int minBlocks = blockRange[0];
      int maxBlocks = blockRange[1];
      GeneratorConfig config = new GeneratorConfig(episodes, seed, imageSize, kinds, minBlocks, maxBlocks,
          expertNoise, perturbProbability, perturbScale);
      // originalArgs() holds the whole command line from the top-level command, "dataset generate" included.
      String command = "vla " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
      long started = System.nanoTime();
      DemonstrationGenerator.Summary summary = new DemonstrationGenerator(config, onPolicy)
          .generate(out, command, line -> System.err.println("  " + line));
      System.out.printf("wrote %d episodes, %d steps to %s in %.1f s (%d episodes dropped: expert over budget)%n",
          summary.episodes(), summary.steps(), summary.directory(), (System.nanoTime() - started) / 1e9,
          summary.droppedEpisodes());
      if (onPolicy != null) {
        var counts = summary.onPolicy();
        System.out.printf("the learner drove %d subgoals and completed %d of them within budget; %d rows on-policy%n",
            counts.subgoalsDriven(), counts.subgoalsCompleted(), counts.rows());
      }
      return 0;
    }
  }
}
