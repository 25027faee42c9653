package io.vlaserve.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.skills.TaskKind;
import io.vlaserve.tokenizer.ActionTokenizer;
import io.vlaserve.tokenizer.DatasetStatistics;
import io.vlaserve.tokenizer.ProfileFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DemonstrationGeneratorTest {
  @TempDir static Path dir;
  private DemonstrationGenerator.Summary summary;
  private JsonNode meta;

  @BeforeAll
  void generate() throws Exception {
    GeneratorConfig config = new GeneratorConfig(12, 5, 32, List.of(TaskKind.values()), 2, 4, 1.0, 0.3, 1.0);
    List<String> progress = new ArrayList<>();
    summary = new DemonstrationGenerator(config).generate(dir, "test", progress::add);
    meta = JsonMapper.builder().build().readTree(dir.resolve("meta.json").toFile());
  }

  @Test
  void everyArrayHasOneRowPerStepAndTheDocumentedShape() throws Exception {
    long steps = summary.steps();
    assertEquals(12, summary.episodes());
    assertTrue(steps > 12 * 5, "several steps per episode");
    assertArrayEquals(new int[] {(int) steps, 32, 32, 3}, NpyArray.read(dir.resolve("images.npy")).shape());
    assertArrayEquals(new int[] {(int) steps, 8}, NpyArray.read(dir.resolve("proprio.npy")).shape());
    assertArrayEquals(new int[] {(int) steps, 7}, NpyArray.read(dir.resolve("actions.npy")).shape());
    assertArrayEquals(new int[] {(int) steps, 7}, NpyArray.read(dir.resolve("action_tokens.npy")).shape());
    for (String file : List.of("instruction_ids", "task_ids", "episode_ids", "subgoal_index", "step_in_subgoal")) {
      NpyArray array = NpyArray.read(dir.resolve(file + ".npy"));
      assertArrayEquals(new int[] {(int) steps}, array.shape(), file);
      assertEquals("<i4", array.descr(), file);
    }
    assertEquals("|u1", NpyArray.read(dir.resolve("images.npy")).descr());
    assertArrayEquals(new int[] {(int) steps, 3}, NpyArray.read(dir.resolve("target_position.npy")).shape());
    assertEquals(steps, meta.get("steps").asLong());
  }

  @Test
  void tokensAreTheProjectTokenizersEncodingOfTheLabels() throws Exception {
    ActionTokenizer tokenizer = ProfileFiles.parse(meta.get("tokenizer_profile").toString(), "meta").tokenizer();
    assertEquals(64, tokenizer.allowedTokens(0).first(), "action tokens follow the 64 text slots");
    assertEquals(319, tokenizer.allowedTokens(6).last());
    NpyArray actions = NpyArray.read(dir.resolve("actions.npy"));
    NpyArray tokens = NpyArray.read(dir.resolve("action_tokens.npy"));
    double[] action = new double[7];
    for (int row = 0; row < summary.steps(); row++) {
      for (int d = 0; d < 7; d++) {
        action[d] = actions.getDouble(row * 7L + d);
      }
      int[] expected = tokenizer.encode(action);
      for (int d = 0; d < 7; d++) {
        assertEquals(expected[d], tokens.getInt(row * 7L + d), "row " + row + " dim " + d);
      }
    }
  }

  @Test
  void everyRowCarriesTheExpertsPlanAndItsTokens() throws Exception {
    int horizon = DemonstrationGenerator.PLAN_HORIZON;
    assertEquals(horizon, meta.get("plan_horizon").asInt());
    NpyArray plans = NpyArray.read(dir.resolve("plan_actions.npy"));
    NpyArray tokens = NpyArray.read(dir.resolve("plan_tokens.npy"));
    assertArrayEquals(new int[] {(int) summary.steps(), horizon, 7}, plans.shape());
    assertArrayEquals(new int[] {(int) summary.steps(), horizon, 7}, tokens.shape());
    assertEquals("<i4", tokens.descr());
    ActionTokenizer tokenizer = ProfileFiles.parse(meta.get("tokenizer_profile").toString(), "meta").tokenizer();
    double[] action = new double[7];
    for (long step = 0; step < summary.steps() * horizon; step++) {
      for (int d = 0; d < 7; d++) {
        action[d] = plans.getDouble(step * 7 + d);
      }
      int[] expected = tokenizer.encode(action);
      for (int d = 0; d < 7; d++) {
        assertEquals(expected[d], tokens.getInt(step * 7 + d), "plan step " + step + " dim " + d);
      }
    }
  }

  @Test
  void withoutNoiseOrPerturbationThePlanIsWhatTheExpertThenDoes(@TempDir Path clean) throws Exception {
    GeneratorConfig noiseless = new GeneratorConfig(4, 9, 16, List.of(TaskKind.values()), 2, 4, 0.0, 0.0, 1.0);
    long steps = new DemonstrationGenerator(noiseless).generate(clean, "test", line -> { }).steps();
    NpyArray actions = NpyArray.read(clean.resolve("actions.npy"));
    NpyArray plans = NpyArray.read(clean.resolve("plan_actions.npy"));
    NpyArray episodes = NpyArray.read(clean.resolve("episode_ids.npy"));
    NpyArray subgoals = NpyArray.read(clean.resolve("subgoal_index.npy"));
    int horizon = DemonstrationGenerator.PLAN_HORIZON;
    int compared = 0;
    for (int row = 0; row < steps; row++) {
      for (int k = 0; k < horizon && row + k < steps; k++) {
        int later = row + k;
        if (episodes.getInt(later) != episodes.getInt(row) || subgoals.getInt(later) != subgoals.getInt(row)) {
          break;
        }
        for (int d = 0; d < 7; d++) {
          assertEquals(actions.getDouble(later * 7L + d), plans.getDouble(((long) row * horizon + k) * 7 + d), 1e-12,
              "row " + row + " plan step " + k + " dim " + d);
        }
        compared++;
      }
    }
    assertTrue(compared > steps * 2, "most plans overlap several later rows: " + compared);
  }

  @Test
  void statisticsAreOpenVlaFormatWithTheGripperUnmasked() throws Exception {
    DatasetStatistics statistics = DatasetStatistics.read(dir.resolve("dataset_statistics.json"));
    var action = statistics.action("tiny_sim");
    assertFalse(action.mask()[6]);
    assertTrue(action.mask()[0]);
    NpyArray actions = NpyArray.read(dir.resolve("actions.npy"));
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (int row = 0; row < summary.steps(); row++) {
      min = Math.min(min, actions.getDouble(row * 7L));
      max = Math.max(max, actions.getDouble(row * 7L));
    }
    assertEquals(min, action.min()[0]);
    assertEquals(max, action.max()[0]);
    assertTrue(action.q01()[0] >= min && action.q01()[0] <= action.q99()[0] && action.q99()[0] <= max);
    JsonNode raw = JsonMapper.builder().build().readTree(dir.resolve("dataset_statistics.json").toFile());
    assertEquals(summary.steps(), raw.at("/tiny_sim/num_transitions").asLong());
    assertEquals(12, raw.at("/tiny_sim/num_trajectories").asInt());
  }

  @Test
  void episodesAreContiguousAndSegmentsRestartTheirStepCounter() throws Exception {
    NpyArray episodes = NpyArray.read(dir.resolve("episode_ids.npy"));
    NpyArray subgoals = NpyArray.read(dir.resolve("subgoal_index.npy"));
    NpyArray stepInSubgoal = NpyArray.read(dir.resolve("step_in_subgoal.npy"));
    NpyArray instructions = NpyArray.read(dir.resolve("instruction_ids.npy"));
    int instructionCount = meta.get("instructions").size();
    for (int row = 1; row < summary.steps(); row++) {
      int episode = episodes.getInt(row);
      int previous = episodes.getInt(row - 1);
      assertTrue(episode == previous || episode == previous + 1, "contiguous episodes");
      boolean newSegment = episode != previous || subgoals.getInt(row) != subgoals.getInt(row - 1);
      assertEquals(newSegment ? 0 : stepInSubgoal.getInt(row - 1) + 1, stepInSubgoal.getInt(row), "row " + row);
      assertTrue(instructions.getInt(row) >= 0 && instructions.getInt(row) < instructionCount);
    }
  }

  @Test
  void theTextVocabularyCoversEveryInstructionInSixtyFourSlots() {
    List<String> vocab = DemonstrationGenerator.textVocabulary();
    assertEquals(64, vocab.size());
    assertEquals(List.of("<pad>", "<bos>", "<eos>", "<unk>"), vocab.subList(0, 4));
    for (String instruction : DemonstrationGenerator.allInstructions()) {
      for (String word : instruction.split(" ")) {
        assertTrue(vocab.contains(word), word);
      }
    }
  }

  @Test
  void theSameSeedGivesTheSameBytes(@TempDir Path other) throws Exception {
    GeneratorConfig config = new GeneratorConfig(12, 5, 32, List.of(TaskKind.values()), 2, 4, 1.0, 0.3, 1.0);
    new DemonstrationGenerator(config).generate(other, "test", line -> {});
    for (String file : List.of("images.npy", "actions.npy", "action_tokens.npy", "dataset_statistics.json")) {
      assertArrayEquals(Files.readAllBytes(dir.resolve(file)), Files.readAllBytes(other.resolve(file)), file);
    }
  }

  @Test
  void targetsLieOnTheTableInsideTheWorkspace() throws Exception {
    NpyArray targets = NpyArray.read(dir.resolve("target_position.npy"));
    for (int row = 0; row < summary.steps(); row++) {
      double x = targets.getDouble(row * 3L);
      double y = targets.getDouble(row * 3L + 1);
      double z = targets.getDouble(row * 3L + 2);
      assertTrue(x > 0.2 && x < 0.8 && Math.abs(y) < 0.35 && z >= 0 && z < 0.4, "row " + row + ": " + x + ", " + y + ", " + z);
    }
  }

  @Test
  void aLearnerThatStaysStillIsRecordedWithTheExpertsLabelsAndTheExpertThenRecovers(@TempDir Path onPolicy)
      throws Exception {
    GeneratorConfig noiseless = new GeneratorConfig(3, 9, 16, List.of(TaskKind.PUT_ON_PLATE), 2, 2, 0.0, 0.0, 1.0);
    DemonstrationGenerator.Learner stayStill = DemonstrationGenerator.Learner.stepwise((image, state, subgoal) -> {
      double[] hold = new double[7];
      hold[6] = state.proprio()[7]; // the gripper as it is
      return new double[][] {hold, hold.clone(), hold.clone(), hold.clone()};
    });
    Path statistics = dir.resolve("dataset_statistics.json");
    DemonstrationGenerator.Summary result = new DemonstrationGenerator(noiseless,
        new DemonstrationGenerator.OnPolicy(stayStill, 1.0, statistics)).generate(onPolicy, "test", line -> { });

    var counts = result.onPolicy();
    assertEquals(3, result.episodes(), "the expert finishes every subgoal the learner could not");
    assertTrue(counts.subgoalsDriven() >= 3 * 4, "every subgoal is driven by the learner: " + counts);
    assertTrue(counts.subgoalsCompleted() < counts.subgoalsDriven(), "standing still completes no motion: " + counts);
    assertTrue(counts.rows() > 0 && counts.rows() < result.steps(), counts + " of " + result.steps());
    // Labels are the noiseless expert's action from each row's own state, which is its plan's first step.
    NpyArray actions = NpyArray.read(onPolicy.resolve("actions.npy"));
    NpyArray plans = NpyArray.read(onPolicy.resolve("plan_actions.npy"));
    NpyArray proprio = NpyArray.read(onPolicy.resolve("proprio.npy"));
    int horizon = DemonstrationGenerator.PLAN_HORIZON;
    int stillRows = 0;
    for (int row = 0; row < result.steps(); row++) {
      for (int d = 0; d < 7; d++) {
        assertEquals(plans.getDouble((long) row * horizon * 7 + d), actions.getDouble(row * 7L + d), 1e-12, "row " + row);
      }
      if (row > 0 && proprio.getDouble(row * 8L) == proprio.getDouble((row - 1) * 8L)
          && proprio.getDouble(row * 8L + 1) == proprio.getDouble((row - 1) * 8L + 1)
          && Math.abs(actions.getDouble(row * 7L)) + Math.abs(actions.getDouble(row * 7L + 1)) > 1e-3) {
        stillRows++; // the robot did not move although the expert says it should
      }
    }
    assertTrue(stillRows > 10, "rows of the learner standing still beside its target: " + stillRows);
    // Tokenized with the learner's statistics, which are copied, not recomputed from these rows.
    assertArrayEquals(Files.readAllBytes(statistics), Files.readAllBytes(onPolicy.resolve("dataset_statistics.json")));
    JsonNode onPolicyMeta = JsonMapper.builder().build().readTree(onPolicy.resolve("meta.json").toFile());
    assertEquals(meta.get("tokenizer_profile"), onPolicyMeta.get("tokenizer_profile"));
    assertEquals(counts.rows(), onPolicyMeta.at("/on_policy/rows").asLong());
  }

  @Test
  void aLearnerThatFollowsTheExpertCompletesWhatItDrives(@TempDir Path onPolicy) throws Exception {
    GeneratorConfig config = new GeneratorConfig(4, 3, 16, List.of(TaskKind.values()), 2, 4, 1.0, 0.0, 1.0);
    var expert = new io.vlaserve.sim.expert.ScriptedExpert(io.vlaserve.sim.expert.ExpertConfig.NOISELESS,
        new java.util.SplittableRandom(0));
    DemonstrationGenerator.Learner followTheExpert = DemonstrationGenerator.Learner.stepwise((image, state, subgoal) -> {
      var copy = new io.vlaserve.sim.TabletopWorld(state);
      double[][] chunk = new double[4][];
      for (int k = 0; k < chunk.length; k++) {
        chunk[k] = expert.act(copy.snapshot(), subgoal);
        copy.step(chunk[k]);
      }
      return chunk;
    });
    var result = new DemonstrationGenerator(config, new DemonstrationGenerator.OnPolicy(followTheExpert, 0.5,
        dir.resolve("dataset_statistics.json"))).generate(onPolicy, "test", line -> { });
    var counts = result.onPolicy();
    assertTrue(counts.subgoalsDriven() > 0 && counts.subgoalsDriven() < result.episodes() * 8L, counts.toString());
    assertEquals(counts.subgoalsDriven(), counts.subgoalsCompleted(), "the expert's own plan completes its subgoal");
  }

  @Test
  void aCommittedPrefixLeadsItsRowsPlanAndTheExpertContinuesFromWhereTheRobotIsWhenItHasRun(@TempDir Path onPolicy)
      throws Exception {
    GeneratorConfig config = new GeneratorConfig(3, 7, 16, List.of(TaskKind.PUT_ON_PLATE), 2, 2, 0.0, 0.0, 1.0);
    double[][] prefix = {{0.01, 0, 0, 0, 0, 0, 1}, {0.01, -0.005, 0, 0, 0, 0, 1}};
    // Every third frame sends a request carrying two committed steps; the robot moves 4 mm per
    // frame whatever they say (it lags them, as a robot under limits does).
    DemonstrationGenerator.Learner committing = (world, random) -> new DemonstrationGenerator.Driver() {
      private int frames;

      @Override
      public double[][] advance(byte[] image, io.vlaserve.sim.WorldState state,
          io.vlaserve.skills.Subgoal subgoal) {
        world.step(new double[] {0.004, 0, 0, 0, 0, 0, 1});
        return frames++ % 3 == 0 ? prefix : DemonstrationGenerator.NO_PREFIX;
      }
    };
    var result = new DemonstrationGenerator(config, new DemonstrationGenerator.OnPolicy(committing, 0.5,
        dir.resolve("dataset_statistics.json"))).generate(onPolicy, "test", line -> { });

    NpyArray committed = NpyArray.read(onPolicy.resolve("committed_steps.npy"));
    assertArrayEquals(new int[] {(int) result.steps()}, committed.shape());
    assertEquals("<i4", committed.descr());
    NpyArray plans = NpyArray.read(onPolicy.resolve("plan_actions.npy"));
    NpyArray subgoals = NpyArray.read(onPolicy.resolve("subgoal_index.npy"));
    NpyArray episodes = NpyArray.read(onPolicy.resolve("episode_ids.npy"));
    NpyArray steps = NpyArray.read(onPolicy.resolve("step_in_subgoal.npy"));
    int horizon = DemonstrationGenerator.PLAN_HORIZON;
    int checked = 0;
    for (int row = 0; row < result.steps(); row++) {
      int d = committed.getInt(row);
      assertTrue(d == 0 || d == 2, "row " + row + ": " + d);
      if (d == 0) {
        continue;
      }
      for (int k = 0; k < 2; k++) {
        for (int a = 0; a < 7; a++) {
          assertEquals(prefix[k][a], plans.getDouble(((long) row * horizon + k) * 7 + a), 1e-12, "row " + row);
        }
      }
      // Two frames later the robot is where the prefix has run; that row sent nothing, so its plan
      // is the expert's from there, and this row's plan goes on with it. (Where the subgoal was met
      // in between, the next row is the next subgoal's.)
      int later = row + 2;
      if (later >= result.steps() || episodes.getInt(later) != episodes.getInt(row)
          || subgoals.getInt(later) != subgoals.getInt(row)) {
        continue;
      }
      assertEquals(steps.getInt(row) + 2, steps.getInt(later));
      assertEquals(0, committed.getInt(later));
      for (int k = 2; k < horizon; k++) {
        for (int a = 0; a < 7; a++) {
          assertEquals(plans.getDouble(((long) later * horizon + k - 2) * 7 + a),
              plans.getDouble(((long) row * horizon + k) * 7 + a), 1e-12, "row " + row + " step " + k);
        }
      }
      checked++;
    }
    assertTrue(checked > 3, checked + " rows with a prefix");
    // An expert-only dataset has the array too, all zero.
    NpyArray none = NpyArray.read(dir.resolve("committed_steps.npy"));
    for (int row = 0; row < summary.steps(); row++) {
      assertEquals(0, none.getInt(row));
    }
  }

  @Test
  void aContinuedPlanIsThePrefixThenTheExpertsPlanFromTheEnd() {
    GeneratorConfig config = new GeneratorConfig(1, 7, 16, List.of(TaskKind.PUT_ON_PLATE), 2, 2, 0.0, 0.0, 1.0);
    var generator = new DemonstrationGenerator(config);
    var world = new io.vlaserve.sim.TabletopWorld(3, new io.vlaserve.sim.WorldConfig(2, true));
    var subgoal = new io.vlaserve.skills.Subgoal(io.vlaserve.skills.Skill.MOVE_TO,
        world.snapshot().blocks().get(0).color());
    double[][] prefix = {{0.02, 0.01, 0, 0, 0, 0, 1}, {0.02, 0.01, 0, 0, 0, 0, 1}, {0.09, 0.01, 0, 0, 0, 0, 1}};
    var end = new io.vlaserve.sim.TabletopWorld(world.snapshot());
    end.step(new double[] {0.03, 0.01, 0, 0, 0, 0, 1}); // the robot lags its committed 10 cm
    double[][] plan = generator.continuedPlan(prefix, end.snapshot(), subgoal);
    double[][] fromEnd = generator.plan(end.snapshot(), subgoal);
    assertArrayEquals(prefix[0], plan[0], 1e-12);
    assertArrayEquals(prefix[1], plan[1], 1e-12);
    assertEquals(0.05, plan[2][0], 1e-12, "a committed step is clamped to the action space, as executed");
    for (int k = 3; k < DemonstrationGenerator.PLAN_HORIZON; k++) {
      assertArrayEquals(fromEnd[k - 3], plan[k], 1e-12, "continuation step " + k);
    }
  }

  @Test
  void aLearnerThatReturnsNonFiniteActionsIsRefused(@TempDir Path onPolicy) {
    GeneratorConfig config = new GeneratorConfig(1, 3, 16, List.of(TaskKind.PICK_UP), 2, 2, 1.0, 0.0, 1.0);
    DemonstrationGenerator.Learner broken = DemonstrationGenerator.Learner.stepwise((image, state, subgoal) ->
        new double[][] {{Double.NaN, 0, 0, 0, 0, 0, 0}});
    var generator = new DemonstrationGenerator(config,
        new DemonstrationGenerator.OnPolicy(broken, 1.0, dir.resolve("dataset_statistics.json")));
    var error = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
        () -> generator.generate(onPolicy, "test", line -> { }));
    assertTrue(error.getMessage().contains("non-finite"), error.getMessage());
  }

  @Test
  void quantilesFollowNumpysLinearMethod() {
    double[] sorted = {1, 2, 3, 4, 10};
    // np.quantile([1,2,3,4,10], [0.01, 0.5, 0.99]) == [1.04, 3.0, 9.76]
    assertEquals(1.04, Quantiles.quantile(sorted, 0.01), 1e-12);
    assertEquals(3.0, Quantiles.quantile(sorted, 0.5));
    assertEquals(9.76, Quantiles.quantile(sorted, 0.99), 1e-12);
  }
}
