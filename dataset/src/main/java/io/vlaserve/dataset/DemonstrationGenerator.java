package io.vlaserve.dataset;

import io.vlaserve.sim.task.TaskSampler;
import io.vlaserve.sim.ActionSpace;
import io.vlaserve.skills.BlockColor;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import io.vlaserve.sim.expert.ExpertConfig;
import io.vlaserve.sim.expert.ScriptedExpert;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import io.vlaserve.skills.Skill;
import io.vlaserve.skills.Subgoal;
import io.vlaserve.sim.task.SuccessPredicates;
import io.vlaserve.skills.Task;
import io.vlaserve.skills.TaskKind;
import io.vlaserve.tokenizer.ActionProfile;
import io.vlaserve.tokenizer.ActionTokenizer;
import io.vlaserve.tokenizer.DatasetStatistics;
import io.vlaserve.tokenizer.ProfileFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Records the scripted expert solving seeded tasks in the simulator and writes them in the
 * {@code vla-serve-dataset/1} format (docs/dataset.md): NumPy arrays, OpenVLA statistics, and
 * action tokens from this project's own tokenizer. Not thread-safe.
 */
public final class DemonstrationGenerator {
  public static final String FORMAT = "vla-serve-dataset/1";
  public static final String UNNORM_KEY = "tiny_sim";
  /** Text slots before the action tokens; action tokens are TEXT_SLOTS .. TEXT_SLOTS + 255. */
  public static final int TEXT_SLOTS = 64;
  public static final int BINS = 256;
  private static final double PERTURB_TRANSLATION = 0.01;
  private static final double PERTURB_ROTATION = 0.03;
  /** Steps of the expert's plan recorded per row (plan_actions.npy): the longest chunk a model trains on. */
  public static final int PLAN_HORIZON = 8;
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final GeneratorConfig config;
  private final CameraConfig camera;
  private final TabletopRenderer renderer;
  private final ExpertConfig expertConfig;
  private final ScriptedExpert planner;

  public DemonstrationGenerator(GeneratorConfig config) {
    this.config = config;
    this.expertConfig = new ExpertConfig(ExpertConfig.DEFAULT.gain(),
        ExpertConfig.DEFAULT.translationNoise() * config.expertNoise(),
        ExpertConfig.DEFAULT.rotationNoise() * config.expertNoise());
    // Noiseless, so it never draws from a random stream: plans do not shift the recorded episodes.
    this.planner = new ScriptedExpert(ExpertConfig.NOISELESS, new SplittableRandom(0));
    this.camera = CameraConfig.of(config.imageSize(), config.imageSize());
    this.renderer = new TabletopRenderer(camera);
  }

  /** What was written. */
  public record Summary(int episodes, long steps, int droppedEpisodes, Path directory) {}

  /** Every subgoal instruction of the skill language, in a fixed order: the instruction id table. */
  public static List<String> allInstructions() {
    List<String> instructions = new ArrayList<>();
    for (Skill skill : Skill.values()) {
      if (skill.takesColour()) {
        for (BlockColor color : BlockColor.values()) {
          instructions.add(new Subgoal(skill, color).instruction());
        }
      } else {
        instructions.add(new Subgoal(skill, null).instruction());
      }
    }
    return instructions;
  }

  /** Every task instruction, in a fixed order: the task id table. */
  public static List<String> allTasks() {
    List<String> tasks = new ArrayList<>();
    for (BlockColor block : BlockColor.values()) {
      tasks.add(Task.putOnPlate(block).instruction());
      tasks.add(Task.pickUp(block).instruction());
      for (BlockColor target : BlockColor.values()) {
        if (target != block) {
          tasks.add(Task.stack(block, target).instruction());
        }
      }
    }
    return tasks;
  }

  /** The word vocabulary: specials, the sorted words of every instruction, padded to {@link #TEXT_SLOTS}. */
  public static List<String> textVocabulary() {
    List<String> vocab = new ArrayList<>(List.of("<pad>", "<bos>", "<eos>", "<unk>"));
    TreeSet<String> words = new TreeSet<>();
    for (String instruction : allInstructions()) {
      words.addAll(List.of(instruction.toLowerCase().split(" ")));
    }
    vocab.addAll(words);
    for (int i = vocab.size(); i < TEXT_SLOTS; i++) {
      vocab.add("<unused_" + i + ">");
    }
    return vocab;
  }

  private record Row(byte[] image, double[] proprio, double[] action, double[][] plan, double[] target,
      int instruction, int task, int subgoal, int step) {}

  /**
   * Generates {@code config.episodes()} successful episodes into {@code directory} (created if
   * needed), reporting progress after each episode.
   */
  public Summary generate(Path directory, String command, Consumer<String> progress) throws IOException {
    Files.createDirectories(directory);
    List<String> instructions = allInstructions();
    List<String> tasks = allTasks();
    List<double[]> actions = new ArrayList<>();
    List<double[]> proprios = new ArrayList<>();
    List<double[][]> plans = new ArrayList<>();
    SplittableRandom root = new SplittableRandom(config.seed());
    int dropped = 0;
    int episode = 0;
    try (NpyWriter images = new NpyWriter(directory.resolve("images.npy"), NpyWriter.Dtype.UINT8,
            camera.height(), camera.width(), 3);
        NpyWriter proprio = new NpyWriter(directory.resolve("proprio.npy"), NpyWriter.Dtype.FLOAT32, 8);
        NpyWriter labels = new NpyWriter(directory.resolve("actions.npy"), NpyWriter.Dtype.FLOAT64, 7);
        NpyWriter instructionIds = new NpyWriter(directory.resolve("instruction_ids.npy"), NpyWriter.Dtype.INT32);
        NpyWriter taskIds = new NpyWriter(directory.resolve("task_ids.npy"), NpyWriter.Dtype.INT32);
        NpyWriter episodeIds = new NpyWriter(directory.resolve("episode_ids.npy"), NpyWriter.Dtype.INT32);
        NpyWriter subgoalIndex = new NpyWriter(directory.resolve("subgoal_index.npy"), NpyWriter.Dtype.INT32);
        NpyWriter stepInSubgoal = new NpyWriter(directory.resolve("step_in_subgoal.npy"), NpyWriter.Dtype.INT32);
        NpyWriter targets = new NpyWriter(directory.resolve("target_position.npy"), NpyWriter.Dtype.FLOAT32, 3)) {
      while (episode < config.episodes()) {
        // One independent stream per attempt: dropping an episode never shifts the others.
        SplittableRandom attempt = root.split();
        List<Row> rows = record(attempt, instructions, tasks);
        if (rows == null) {
          dropped++;
          continue;
        }
        for (Row row : rows) {
          images.writeRow(row.image());
          proprio.writeRow(row.proprio());
          labels.writeRow(row.action());
          instructionIds.writeRow(row.instruction());
          taskIds.writeRow(row.task());
          episodeIds.writeRow(episode);
          subgoalIndex.writeRow(row.subgoal());
          stepInSubgoal.writeRow(row.step());
          targets.writeRow(row.target());
          actions.add(row.action());
          proprios.add(row.proprio());
          plans.add(row.plan());
        }
        episode++;
        if (episode % 100 == 0 || episode == config.episodes()) {
          progress.accept(episode + "/" + config.episodes() + " episodes, " + actions.size() + " steps");
        }
      }
    }

    ObjectNode statistics = statistics(actions, proprios, episode);
    Path statisticsFile = directory.resolve("dataset_statistics.json");
    Files.writeString(statisticsFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(statistics));
    ActionProfile profile = DatasetStatistics.read(statisticsFile).action(UNNORM_KEY)
        .toOpenVlaProfile("tiny-sim", BINS, TEXT_SLOTS + BINS, "stats:dataset_statistics.json#" + UNNORM_KEY);
    writeTokens(directory.resolve("action_tokens.npy"), profile.tokenizer(), actions);
    writePlans(directory, profile.tokenizer(), plans);
    writeMeta(directory, command, actions.size(), episode, instructions, tasks, profile);
    return new Summary(episode, actions.size(), dropped, directory);
  }

  /** One episode's rows, or null when the expert failed a subgoal within its budget. */
  private List<Row> record(SplittableRandom random, List<String> instructions, List<String> taskTable) {
    int blocks = config.minBlocks() + random.nextInt(config.maxBlocks() - config.minBlocks() + 1);
    TabletopWorld world = new TabletopWorld(random.nextLong(), new WorldConfig(blocks, true));
    List<TaskKind> kinds = new ArrayList<>(config.tasks());
    if (blocks < 2) {
      kinds.remove(TaskKind.STACK);
      if (kinds.isEmpty()) {
        return null;
      }
    }
    Task task = TaskSampler.sample(world.snapshot(), kinds, random.split());
    ScriptedExpert expert = new ScriptedExpert(expertConfig, random.split());
    SplittableRandom perturb = random.split();
    int taskId = taskTable.indexOf(task.instruction());
    List<Row> rows = new ArrayList<>();
    List<Subgoal> plan = task.subgoals();
    WorldState now = world.snapshot();
    double[] executed = new double[ActionSpace.DIMENSIONS];
    for (int g = 0; g < plan.size(); g++) {
      Subgoal subgoal = plan.get(g);
      int instructionId = instructions.indexOf(subgoal.instruction());
      WorldState start = now;
      int used = 0;
      boolean done = SuccessPredicates.isSatisfied(subgoal, start, now);
      while (!done && used < subgoal.skill().stepBudget()) {
        byte[] image = renderer.newFrame();
        renderer.render(world, image);
        double[] label = expert.act(now, subgoal);
        System.arraycopy(label, 0, executed, 0, executed.length);
        if (config.perturbProbability() > 0 && perturb.nextDouble() < config.perturbProbability()) {
          for (int d = 0; d < 3; d++) {
            executed[d] += gaussian(perturb) * PERTURB_TRANSLATION * config.perturbScale();
            executed[d + 3] += gaussian(perturb) * PERTURB_ROTATION * config.perturbScale();
          }
          ActionSpace.clampInPlace(executed);
        }
        rows.add(new Row(image, now.proprio(), label, plan(now, subgoal), targetOf(now, task, subgoal),
            instructionId, taskId, g, used));
        world.step(executed);
        now = world.snapshot();
        used++;
        done = SuccessPredicates.isSatisfied(subgoal, start, now);
      }
      if (!done) {
        return null;
      }
    }
    return rows;
  }

  /**
   * The expert's plan from {@code state}: {@link #PLAN_HORIZON} noiseless actions for {@code subgoal},
   * each from the state the previous one leads to on a copy of the world. It goes on past the
   * subgoal's success (the expert then holds its target), because a robot executing a chunk late
   * runs those steps too. Unlike the next rows' labels, a plan depends on this row's state alone,
   * not on the perturbations and noise that come after it, so every step of a chunk has a label a
   * model can predict from the row's observation.
   */
  double[][] plan(WorldState state, Subgoal subgoal) {
    TabletopWorld copy = new TabletopWorld(state);
    double[][] plan = new double[PLAN_HORIZON][];
    for (int k = 0; k < PLAN_HORIZON; k++) {
      plan[k] = planner.act(copy.snapshot(), subgoal);
      copy.step(plan[k]);
    }
    return plan;
  }

  /**
   * Where the subgoal is headed, for auxiliary training signals (never a model input): the named
   * block for move/grasp/move-above, the plate for move-above-plate, where the held block will be
   * put for release (plate or target block), and the held block itself for lift.
   */
  static double[] targetOf(WorldState state, Task task, Subgoal subgoal) {
    BlockColor colour = switch (subgoal.skill()) {
      case MOVE_TO, GRASP, MOVE_ABOVE -> subgoal.color();
      case RELEASE -> task.target();
      case LIFT -> task.block();
      case MOVE_ABOVE_PLATE -> null;
    };
    if (colour != null) {
      var block = state.block(colour).orElseThrow();
      return new double[] {block.center().x(), block.center().y(), block.center().z()};
    }
    return new double[] {state.plateCenter().x(), state.plateCenter().y(),
        io.vlaserve.sim.TabletopGeometry.PLATE_THICKNESS};
  }

  private static double gaussian(SplittableRandom random) {
    // Box-Muller: specified arithmetic, so datasets are identical on every JVM.
    double u = 1.0 - random.nextDouble();
    double v = random.nextDouble();
    return StrictMath.sqrt(-2 * StrictMath.log(u)) * StrictMath.cos(2 * StrictMath.PI * v);
  }

  /** OpenVLA's dataset_statistics.json for {@code actions} and {@code proprios}, under {@link #UNNORM_KEY}. */
  static ObjectNode statistics(List<double[]> actions, List<double[]> proprios, int episodes) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode entry = root.putObject(UNNORM_KEY);
    boolean[] actionMask = {true, true, true, true, true, true, false};
    putColumns(entry.putObject("action"), actions, 7, actionMask);
    boolean[] proprioMask = new boolean[8];
    java.util.Arrays.fill(proprioMask, true);
    putColumns(entry.putObject("proprio"), proprios, 8, proprioMask);
    entry.put("num_transitions", actions.size());
    entry.put("num_trajectories", episodes);
    return root;
  }

  private static void putColumns(ObjectNode node, List<double[]> rows, int dims, boolean[] mask) {
    double[][] summaries = new double[dims][];
    double[] column = new double[rows.size()];
    for (int d = 0; d < dims; d++) {
      for (int r = 0; r < rows.size(); r++) {
        column[r] = rows.get(r)[d];
      }
      summaries[d] = Quantiles.summarize(column);
    }
    String[] names = {"mean", "std", "min", "max", "q01", "q99"};
    for (int s = 0; s < names.length; s++) {
      ArrayNode values = node.putArray(names[s]);
      for (int d = 0; d < dims; d++) {
        values.add(summaries[d][s]);
      }
    }
    ArrayNode maskNode = node.putArray("mask");
    for (boolean m : mask) {
      maskNode.add(m);
    }
  }

  static void writeTokens(Path path, ActionTokenizer tokenizer, List<double[]> actions) throws IOException {
    int[] tokens = new int[7];
    try (NpyWriter out = new NpyWriter(path, NpyWriter.Dtype.INT32, 7)) {
      for (double[] action : actions) {
        tokenizer.encode(action, 0, tokens, 0, 1);
        out.writeRow(tokens);
      }
    }
  }

  private static void writePlans(Path directory, ActionTokenizer tokenizer, List<double[][]> plans) throws IOException {
    int[] tokens = new int[ActionSpace.DIMENSIONS];
    try (NpyWriter actions = new NpyWriter(directory.resolve("plan_actions.npy"), NpyWriter.Dtype.FLOAT64,
            PLAN_HORIZON, ActionSpace.DIMENSIONS);
        NpyWriter planTokens = new NpyWriter(directory.resolve("plan_tokens.npy"), NpyWriter.Dtype.INT32,
            PLAN_HORIZON, ActionSpace.DIMENSIONS)) {
      int[] row = new int[PLAN_HORIZON * ActionSpace.DIMENSIONS];
      double[] flat = new double[PLAN_HORIZON * ActionSpace.DIMENSIONS];
      for (double[][] plan : plans) {
        for (int k = 0; k < PLAN_HORIZON; k++) {
          tokenizer.encode(plan[k], 0, tokens, 0, 1);
          System.arraycopy(tokens, 0, row, k * ActionSpace.DIMENSIONS, ActionSpace.DIMENSIONS);
          System.arraycopy(plan[k], 0, flat, k * ActionSpace.DIMENSIONS, ActionSpace.DIMENSIONS);
        }
        actions.writeRow(flat);
        planTokens.writeRow(row);
      }
    }
  }

  private void writeMeta(Path directory, String command, int steps, int episodes, List<String> instructions,
      List<String> tasks, ActionProfile profile) throws IOException {
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("format", FORMAT);
    meta.put("steps", steps);
    meta.put("episodes", episodes);
    meta.put("seed", config.seed());
    meta.put("command", command);
    meta.put("image", Map.of("height", camera.height(), "width", camera.width(), "channels", 3, "camera", "third_person"));
    meta.put("step_period_s", ActionSpace.CONTROL_PERIOD_SECONDS);
    meta.put("action_names", ActionSpace.DIMENSION_NAMES);
    meta.put("proprio_names", ActionSpace.PROPRIO_NAMES);
    meta.put("instructions", instructions);
    meta.put("tasks", tasks);
    meta.put("text_vocab", textVocabulary());
    meta.put("tokenizer_profile", JSON.readTree(ProfileFiles.toJson(profile)));
    meta.put("unnorm_key", UNNORM_KEY);
    meta.put("plan_horizon", PLAN_HORIZON);
    meta.put("expert", Map.of("noise_multiplier", config.expertNoise(), "perturb_probability", config.perturbProbability(),
        "perturb_scale", config.perturbScale(), "tasks", config.tasks().stream().map(Enum::name).toList(),
        "blocks", List.of(config.minBlocks(), config.maxBlocks())));
    Files.writeString(directory.resolve("meta.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(meta));
  }
}
