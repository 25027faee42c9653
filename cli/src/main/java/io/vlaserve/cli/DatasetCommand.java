package io.vlaserve.cli;

import io.vlaserve.dataset.DemonstrationGenerator;
import io.vlaserve.dataset.GeneratorConfig;
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

    @Override
    public Integer call() throws Exception {
      List<TaskKind> kinds = new ArrayList<>();
      for (String task : tasks) {
        kinds.add(switch (task.strip()) {
          case "put" -> TaskKind.PUT_ON_PLATE;
          case "pick" -> TaskKind.PICK_UP;
          case "stack" -> TaskKind.STACK;
          default -> throw new IllegalArgumentException("--tasks: \"" + task + "\" (expected: put, pick or stack)");
        });
      }
      String[] range = blocks.split("\\.\\.");
      int minBlocks;
      int maxBlocks;
      try {
        minBlocks = Integer.parseInt(range[0].strip());
        maxBlocks = range.length > 1 ? Integer.parseInt(range[1].strip()) : minBlocks;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--blocks: \"" + blocks + "\" (expected: N or MIN..MAX, e.g. 2..4)");
      }
      GeneratorConfig config = new GeneratorConfig(episodes, seed, imageSize, kinds, minBlocks, maxBlocks,
          expertNoise, perturbProbability, perturbScale);
      // originalArgs() holds the whole command line from the top-level command, "dataset generate" included.
      String command = "vla " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
      long started = System.nanoTime();
      DemonstrationGenerator.Summary summary = new DemonstrationGenerator(config)
          .generate(out, command, line -> System.err.println("  " + line));
      System.out.printf("wrote %d episodes, %d steps to %s in %.1f s (%d episodes dropped: expert over budget)%n",
          summary.episodes(), summary.steps(), summary.directory(), (System.nanoTime() - started) / 1e9,
          summary.droppedEpisodes());
      return 0;
    }
  }
}
