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
  private final OnPolicy onPolicy;

  /**
   * A policy that drives the robot in place of the expert for some subgoals ("on-policy" rows, as in
   * DAgger, Ross et al. 2011): the rows record the states the policy itself reaches, and every row
   * is still labelled by the expert from that state. A model trained on them learns to recover from
   * its own mistakes (for instance to go on from where it stops short of a target), which
   * demonstrations alone never show it.
   */
  @FunctionalInterface
  public interface Learner {
    /**
     * Takes over the robot of {@code world} where it is now. The driver is used for the following
     * subgoals the learner drives, until the expert moves the robot again; {@code random} is the
     * episode's own stream for anything the driver draws (e.g. its latency).
     */
    Driver start(TabletopWorld world, SplittableRandom random);

    /**
     * A learner that executes its chunks directly on the world, one action per step: from each frame
     * the first 1..H actions of its chunk, drawn at random, before it looks again (as a robot does
     * while its next chunk is computed).
     */
    static Learner stepwise(ChunkPolicy policy) {
      return (world, random) -> new Driver() {
        private double[][] chunk;
        private int next;
        private int runFor;

        @Override
        public double[][] advance(byte[] image, WorldState state, Subgoal subgoal) {
          if (chunk == null || next >= runFor) {
            chunk = checked(policy.chunk(image, state, subgoal), subgoal);
            next = 0;
            runFor = 1 + random.nextInt(chunk.length);
          }
          double[] action = chunk[next++].clone();
          ActionSpace.clampInPlace(action);
          world.step(action);
          return NO_PREFIX;
        }
      };
    }

    /** {@code chunk} if every action has the action space's dimensions and finite values; else an error. */
    static double[][] checked(double[][] chunk, Subgoal subgoal) {
      if (chunk == null || chunk.length == 0) {
        throw new IllegalStateException("the learner returned no actions for \"" + subgoal.instruction() + "\"");
      }
      for (double[] action : chunk) {
        if (action.length != ActionSpace.DIMENSIONS) {
          throw new IllegalStateException("the learner's action has " + action.length + " dimensions (expected: "
              + ActionSpace.DIMENSIONS + ")");
        }
        for (double value : action) {
          if (!Double.isFinite(value)) {
            throw new IllegalStateException("the learner returned a non-finite action for \"" + subgoal.instruction() + "\"");
          }
        }
      }
      return chunk;
    }
  }

  /** An empty committed prefix. */
  public static final double[][] NO_PREFIX = new double[0][];

  /** Moves the world on by one step period ({@link ActionSpace#CONTROL_PERIOD_SECONDS}) as the learner drives it. */
  @FunctionalInterface
  public interface Driver {
    /**
     * The learner sees {@code image} (the frame of {@code state}, the world now) and drives for one
     * step period.
     *
     * @return the committed prefix this frame's request carried (real-time chunking): the actions,
     *     one per step period from the frame's capture, that the robot was already committed to
     *     then, which it executes whatever the answer; empty when the frame sent no request, sent
     *     one without a prefix, or the learner sends none. The row's label is then those steps
     *     followed by the expert's plan from where the robot really is when they end.
     */
    double[][] advance(byte[] image, WorldState state, Subgoal subgoal);
  }

  /** A policy's chunk (raw actions, first step first) for {@code image} at {@code state}. */
  @FunctionalInterface
  public interface ChunkPolicy {
    double[][] chunk(byte[] image, WorldState state, Subgoal subgoal);

    /**
     * The chunk's steps after a committed prefix of {@code prefix.length} steps, decoded as their
     * continuation (real-time chunking). This default takes no prefix.
     */
    default double[][] continuation(byte[] image, WorldState state, Subgoal subgoal, double[][] prefix) {
      if (prefix.length > 0) {
        throw new UnsupportedOperationException("this policy cannot continue a committed prefix");
      }
      return chunk(image, state, subgoal);
    }
  }

  /**
   * How on-policy rows are recorded.
   *
   * @param learner the policy that drives
   * @param probability per subgoal, the chance that the learner drives it (else the expert does)
   * @param statistics the dataset_statistics.json the rows are tokenized with: the statistics of the
   *     dataset the learner was trained on, so that both datasets' tokens mean the same actions
   */
  public record OnPolicy(Learner learner, double probability, Path statistics) {
    public OnPolicy {
      if (learner == null || statistics == null) {
        throw new IllegalArgumentException("on-policy rows need a learner and the statistics it was trained with");
      }
      if (!(probability > 0 && probability <= 1)) {
        throw new IllegalArgumentException("learner probability: " + probability + " (expected: > 0 and <= 1)");
      }
    }
  }

  public DemonstrationGenerator(GeneratorConfig config) {
    this(config, null);
  }

  /** {@code onPolicy} null: the expert drives every subgoal. */
  public DemonstrationGenerator(GeneratorConfig config, OnPolicy onPolicy) {
    this.config = config;
    this.onPolicy = onPolicy;
    this.expertConfig = new ExpertConfig(ExpertConfig.DEFAULT.gain(),
        ExpertConfig.DEFAULT.translationNoise() * config.expertNoise(),
        ExpertConfig.DEFAULT.rotationNoise() * config.expertNoise());
    // Noiseless, so it never draws from a random stream: plans do not shift the recorded episodes.
    this.planner = new ScriptedExpert(ExpertConfig.NOISELESS, new SplittableRandom(0));
    this.camera = CameraConfig.of(config.imageSize(), config.imageSize());
    this.renderer = new TabletopRenderer(camera);
  }

  /** What was written. */
  public record Summary(int episodes, long steps, int droppedEpisodes, Path directory, OnPolicyCounts onPolicy) {
    public Summary(int episodes, long steps, int droppedEpisodes, Path directory) {
      this(episodes, steps, droppedEpisodes, directory, new OnPolicyCounts(0, 0, 0));
    }
  }

  /**
   * What the learner did: subgoals it drove, how many of them were met where it left the robot
   * (within the subgoal's step budget; the rest the expert finished from there), and rows recorded
   * while it drove.
   */
  public record OnPolicyCounts(long subgoalsDriven, long subgoalsCompleted, long rows) {}

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

  /** committed: steps of {@code plan} that are the frame's committed prefix, not the expert's. */
  private record Row(byte[] image, double[] proprio, double[] action, double[][] plan, int committed, double[] target,
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
    long[] learnerCounts = new long[3]; // subgoals driven, subgoals met, rows: of written episodes only
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
        NpyWriter targets = new NpyWriter(directory.resolve("target_position.npy"), NpyWriter.Dtype.FLOAT32, 3);
        NpyWriter committedSteps = new NpyWriter(directory.resolve("committed_steps.npy"), NpyWriter.Dtype.INT32)) {
      while (episode < config.episodes()) {
        // One independent stream per attempt: dropping an episode never shifts the others.
        SplittableRandom attempt = root.split();
        long[] episodeCounts = new long[3];
        List<Row> rows = record(attempt, instructions, tasks, episodeCounts);
        if (rows == null) {
          dropped++;
          continue;
        }
        for (int i = 0; i < learnerCounts.length; i++) {
          learnerCounts[i] += episodeCounts[i];
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
          committedSteps.writeRow(row.committed());
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

    Path statisticsFile = directory.resolve("dataset_statistics.json");
    if (onPolicy == null) {
      ObjectNode statistics = statistics(actions, proprios, episode);
      Files.writeString(statisticsFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(statistics));
    } else {
      // The learner's statistics, not these rows' own: the rows are to be trained on together with
      // the learner's dataset, whose tokens and normalisation they must share.
      Files.copy(onPolicy.statistics(), statisticsFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    ActionProfile profile = DatasetStatistics.read(statisticsFile).action(UNNORM_KEY)
        .toOpenVlaProfile("tiny-sim", BINS, TEXT_SLOTS + BINS, "stats:dataset_statistics.json#" + UNNORM_KEY);
    writeTokens(directory.resolve("action_tokens.npy"), profile.tokenizer(), actions);
    writePlans(directory, profile.tokenizer(), plans);
    OnPolicyCounts onPolicyCounts = new OnPolicyCounts(learnerCounts[0], learnerCounts[1], learnerCounts[2]);
    writeMeta(directory, command, actions.size(), episode, instructions, tasks, profile, onPolicyCounts);
    return new Summary(episode, actions.size(), dropped, directory, onPolicyCounts);
  }

  /**
   * One episode's rows, or null when the expert failed a subgoal within its budget; {@code counts}
   * gets the learner's subgoals driven, subgoals met and rows.
   */
  private List<Row> record(SplittableRandom random, List<String> instructions, List<String> taskTable, long[] counts) {
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
    // Split off last, and only when used, so that expert-only datasets stay as they were.
    SplittableRandom drive = onPolicy == null ? null : random.split();
    int taskId = taskTable.indexOf(task.instruction());
    List<Row> rows = new ArrayList<>();
    List<Subgoal> plan = task.subgoals();
    double[] executed = new double[ActionSpace.DIMENSIONS];
    Driver driver = null; // the learner's, kept across the subgoals it drives in a row
    for (int g = 0; g < plan.size(); g++) {
      Subgoal subgoal = plan.get(g);
      int instructionId = instructions.indexOf(subgoal.instruction());
      WorldState start = world.snapshot();
      int used = 0;
      boolean done = SuccessPredicates.isSatisfied(subgoal, start, start);
      if (!done && drive != null && drive.nextDouble() < onPolicy.probability()) {
        counts[0]++;
        int before = rows.size();
        if (driver == null) {
          driver = onPolicy.learner().start(world, drive);
        }
        driveByLearner(driver, world, subgoal, start, drive, rows, instructionId, taskId, g, task);
        counts[2] += rows.size() - before;
        done = SuccessPredicates.isSatisfied(subgoal, start, world.snapshot());
        if (done) {
          counts[1]++;
        }
        // Where the learner ran out of budget, the expert gets a whole budget of its own to recover
        // from where it left the robot: those rows are the recoveries the learner has to learn.
      }
      WorldState now = world.snapshot();
      while (!done && used < subgoal.skill().stepBudget()) {
        byte[] image = renderer.newFrame();
        renderer.render(world, image);
        double[] label = expert.act(now, subgoal);
        System.arraycopy(label, 0, executed, 0, executed.length);
        perturb(executed, perturb);
        rows.add(new Row(image, now.proprio(), label, plan(now, subgoal), 0, targetOf(now, task, subgoal),
            instructionId, taskId, g, rows.size() - firstRowOf(rows, g)));
        world.step(executed);
        driver = null; // the expert moved the robot: the learner takes over afresh next time
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
   * The learner drives {@code subgoal} for up to its step budget, one step period per frame, and
   * every state it passes through becomes a row labelled by the noiseless expert. Once the subgoal
   * is met it drives on for 0..{@link #PLAN_HORIZON} more steps: a robot goes on with its chunk
   * until the next one arrives, and demonstrations, which end on success, never show the frames of
   * a robot at its target (the gripper over the block it hides), where a model that has not seen
   * them can drift off to a place it mistakes for the target.
   */
  private void driveByLearner(Driver driver, TabletopWorld world, Subgoal subgoal, WorldState start,
      SplittableRandom drive, List<Row> rows, int instructionId, int taskId, int g, Task task) {
    int budget = subgoal.skill().stepBudget();
    int holdSteps = drive.nextInt(PLAN_HORIZON + 1);
    int afterSuccess = -1;
    List<Committed> executing = new ArrayList<>();
    int frame = 0;
    for (int used = 0; used < budget && afterSuccess < holdSteps; used++, frame++) {
      WorldState now = world.snapshot();
      labelEnded(executing, frame, now, subgoal, rows);
      byte[] image = renderer.newFrame();
      renderer.render(world, image);
      double[][] prefix = driver.advance(image.clone(), now, subgoal);
      if (prefix.length > 0) {
        Learner.checked(prefix, subgoal);
      }
      // Labelled as a frame without a prefix until the prefix has run (see labelEnded).
      rows.add(new Row(image, now.proprio(), planner.act(now, subgoal), plan(now, subgoal), 0,
          targetOf(now, task, subgoal), instructionId, taskId, g, rows.size() - firstRowOf(rows, g)));
      if (prefix.length > 0 && prefix.length < PLAN_HORIZON) {
        executing.add(new Committed(rows.size() - 1, prefix, frame + prefix.length));
      }
      if (afterSuccess >= 0 || SuccessPredicates.isSatisfied(subgoal, start, world.snapshot())) {
        afterSuccess++;
      }
    }
    // A prefix that had not run out when the learner stopped leaves its row labelled as one without.
    labelEnded(executing, frame, world.snapshot(), subgoal, rows);
  }

  /** A row whose request carried {@code prefix}, which the robot has run out by frame {@code endsAtFrame}. */
  private record Committed(int row, double[][] prefix, int endsAtFrame) {}

  /**
   * The rows whose committed prefix ends at {@code frame}, where the robot is at {@code now}: each
   * gets the prefix as its plan's first steps and the expert's plan from {@code now} after them.
   * Where the robot really is, not where the prefix's actions would take it on their own: the
   * bridge interpolates and limits them, so the robot lags a fast committed motion, and a
   * continuation learned from the ideal end would be off by that lag.
   */
  private void labelEnded(List<Committed> executing, int frame, WorldState now, Subgoal subgoal, List<Row> rows) {
    for (var it = executing.iterator(); it.hasNext(); ) {
      Committed committed = it.next();
      if (committed.endsAtFrame() == frame) {
        Row row = rows.get(committed.row());
        rows.set(committed.row(), new Row(row.image(), row.proprio(), row.action(),
            continuedPlan(committed.prefix(), now, subgoal), committed.prefix().length, row.target(),
            row.instruction(), row.task(), row.subgoal(), row.step()));
        it.remove();
      }
    }
  }

  /** With the configured probability, adds the configured perturbation to {@code executed} in place. */
  private void perturb(double[] executed, SplittableRandom perturb) {
    if (config.perturbProbability() > 0 && perturb.nextDouble() < config.perturbProbability()) {
      for (int d = 0; d < 3; d++) {
        executed[d] += gaussian(perturb) * PERTURB_TRANSLATION * config.perturbScale();
        executed[d + 3] += gaussian(perturb) * PERTURB_ROTATION * config.perturbScale();
      }
      ActionSpace.clampInPlace(executed);
    }
  }

  /** Index of the first row of subgoal {@code g} in {@code rows} (rows.size() if it has none yet). */
  private static int firstRowOf(List<Row> rows, int g) {
    int first = rows.size();
    while (first > 0 && rows.get(first - 1).subgoal() == g) {
      first--;
    }
    return first;
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
   * The plan of a frame whose request carried {@code prefix} (fewer than {@link #PLAN_HORIZON}
   * steps): the prefix's steps (which the robot executes whatever the policy answers), then the
   * expert's plan from {@code end}, where the robot is when they have run. A model trained with
   * those first steps forced learns the continuation: where the committed motion overshoots or
   * stops short, the rest of the chunk corrects it.
   */
  double[][] continuedPlan(double[][] prefix, WorldState end, Subgoal subgoal) {
    double[][] fromEnd = plan(end, subgoal);
    double[][] plan = new double[PLAN_HORIZON][];
    for (int k = 0; k < PLAN_HORIZON; k++) {
      if (k < prefix.length) {
        plan[k] = prefix[k].clone();
        ActionSpace.clampInPlace(plan[k]);
      } else {
        plan[k] = fromEnd[k - prefix.length];
      }
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
      List<String> tasks, ActionProfile profile, OnPolicyCounts onPolicyCounts) throws IOException {
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
    if (onPolicy != null) {
      meta.put("on_policy", Map.of("learner_probability", onPolicy.probability(),
          "statistics", onPolicy.statistics().toString(), "subgoals_driven", onPolicyCounts.subgoalsDriven(),
          "subgoals_completed", onPolicyCounts.subgoalsCompleted(), "rows", onPolicyCounts.rows()));
    }
    Files.writeString(directory.resolve("meta.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(meta));
  }
}
