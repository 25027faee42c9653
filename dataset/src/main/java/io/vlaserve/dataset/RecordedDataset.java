package io.vlaserve.dataset;

import io.vlaserve.sim.ActionSpace;
import io.vlaserve.tokenizer.ActionProfile;
import io.vlaserve.tokenizer.DatasetStatistics;
import io.vlaserve.tokenizer.ProfileFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import tools.jackson.databind.json.JsonMapper;

/**
 * Fleet recordings as a training dataset in the format {@code vla dataset generate} writes
 * ({@code vla-serve-dataset/1}, docs/dataset.md), so that what robots did in service can fine-tune
 * the model: one row per recorded inference, with the camera frame and proprioception the model saw,
 * the instruction it acted on and, as the label, the action it commanded for the step after the
 * observation. Episodes are the recorded sessions; a subgoal segment is a run of one instruction.
 * What only the simulator knows (the task's wording, the subgoal's target position) is left out:
 * task id 0 ("unknown") and NaN targets.
 */
public final class RecordedDataset {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  /** The one task-table entry: recordings do not say which task a session served. */
  public static final String UNKNOWN_TASK = "unknown";

  /**
   * One recorded step.
   *
   * @param image RGB8, row-major, {@code height x width x 3}
   * @param proprio as the model read it ({@link ActionSpace#PROPRIO_NAMES})
   * @param action the label: the commanded action for the step after the observation ({@link ActionSpace#DIMENSION_NAMES})
   */
  public record Step(String instruction, byte[] image, float[] proprio, double[] action) {
    public Step {
      Objects.requireNonNull(instruction, "instruction");
      if (proprio.length != ActionSpace.PROPRIO_NAMES.size() || action.length != ActionSpace.DIMENSIONS) {
        throw new IllegalArgumentException("a step needs " + ActionSpace.PROPRIO_NAMES.size() + " proprio values and "
            + ActionSpace.DIMENSIONS + " action values, not " + proprio.length + " and " + action.length);
      }
      for (double value : action) {
        if (!Double.isFinite(value)) {
          throw new IllegalArgumentException("a step's action is not finite: " + java.util.Arrays.toString(action));
        }
      }
    }
  }

  /** One session's steps, in order; {@code name} says where it came from (robot and session). */
  public record Episode(String name, List<Step> steps) {}

  /** What was written. */
  public record Summary(int episodes, int steps, List<String> instructions, Path directory) {}

  private RecordedDataset() {}

  /**
   * Writes {@code episodes} (those without steps are skipped) into {@code directory}.
   *
   * @param width the frames' width in pixels (every frame the same size)
   * @param height their height
   * @param stepPeriodSeconds time between consecutive steps
   * @param source where the steps came from, kept in meta.json (files, models)
   */
  public static Summary write(Path directory, List<Episode> episodes, int width, int height, double stepPeriodSeconds,
      String command, Map<String, Object> source) throws IOException {
    List<Episode> kept = episodes.stream().filter(e -> !e.steps().isEmpty()).toList();
    if (kept.isEmpty()) {
      throw new IllegalArgumentException("no recorded steps to export");
    }
    Files.createDirectories(directory);
    List<String> instructions = new ArrayList<>();
    List<double[]> actions = new ArrayList<>();
    List<double[]> proprios = new ArrayList<>();
    float[] noTarget = {Float.NaN, Float.NaN, Float.NaN};
    try (NpyWriter images = new NpyWriter(directory.resolve("images.npy"), NpyWriter.Dtype.UINT8, height, width, 3);
        NpyWriter proprio = new NpyWriter(directory.resolve("proprio.npy"), NpyWriter.Dtype.FLOAT32, 8);
        NpyWriter labels = new NpyWriter(directory.resolve("actions.npy"), NpyWriter.Dtype.FLOAT64, 7);
        NpyWriter instructionIds = new NpyWriter(directory.resolve("instruction_ids.npy"), NpyWriter.Dtype.INT32);
        NpyWriter taskIds = new NpyWriter(directory.resolve("task_ids.npy"), NpyWriter.Dtype.INT32);
        NpyWriter episodeIds = new NpyWriter(directory.resolve("episode_ids.npy"), NpyWriter.Dtype.INT32);
        NpyWriter subgoalIndex = new NpyWriter(directory.resolve("subgoal_index.npy"), NpyWriter.Dtype.INT32);
        NpyWriter stepInSubgoal = new NpyWriter(directory.resolve("step_in_subgoal.npy"), NpyWriter.Dtype.INT32);
        NpyWriter targets = new NpyWriter(directory.resolve("target_position.npy"), NpyWriter.Dtype.FLOAT32, 3)) {
      for (int e = 0; e < kept.size(); e++) {
        int subgoal = -1;
        int step = 0;
        String current = null;
        for (Step row : kept.get(e).steps()) {
          if (row.image().length != 3 * width * height) {
            throw new IllegalArgumentException(kept.get(e).name() + ": a frame of " + row.image().length
                + " bytes among " + width + "x" + height + " RGB frames");
          }
          if (!row.instruction().equals(current)) {
            current = row.instruction();
            subgoal++;
            step = 0;
          }
          int instruction = instructions.indexOf(current);
          if (instruction < 0) {
            instructions.add(current);
            instruction = instructions.size() - 1;
          }
          images.writeRow(row.image());
          proprio.writeRow(row.proprio());
          labels.writeRow(row.action());
          instructionIds.writeRow(instruction);
          taskIds.writeRow(0);
          episodeIds.writeRow(e);
          subgoalIndex.writeRow(subgoal);
          stepInSubgoal.writeRow(step++);
          targets.writeRow(noTarget);
          actions.add(row.action());
          double[] state = new double[row.proprio().length];
          for (int i = 0; i < state.length; i++) {
            state[i] = row.proprio()[i];
          }
          proprios.add(state);
        }
      }
    }
    Path statisticsFile = directory.resolve("dataset_statistics.json");
    Files.writeString(statisticsFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(
        DemonstrationGenerator.statistics(actions, proprios, kept.size())));
    ActionProfile profile = DatasetStatistics.read(statisticsFile).action(DemonstrationGenerator.UNNORM_KEY)
        .toOpenVlaProfile("tiny-sim", DemonstrationGenerator.BINS,
            DemonstrationGenerator.TEXT_SLOTS + DemonstrationGenerator.BINS,
            "stats:dataset_statistics.json#" + DemonstrationGenerator.UNNORM_KEY);
    DemonstrationGenerator.writeTokens(directory.resolve("action_tokens.npy"), profile.tokenizer(), actions);

    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("format", DemonstrationGenerator.FORMAT);
    meta.put("steps", actions.size());
    meta.put("episodes", kept.size());
    meta.put("seed", 0);
    meta.put("command", command);
    meta.put("image", Map.of("height", height, "width", width, "channels", 3, "camera", "third_person"));
    meta.put("step_period_s", stepPeriodSeconds);
    meta.put("action_names", ActionSpace.DIMENSION_NAMES);
    meta.put("proprio_names", ActionSpace.PROPRIO_NAMES);
    meta.put("instructions", instructions);
    meta.put("tasks", List.of(UNKNOWN_TASK));
    meta.put("text_vocab", vocabulary(instructions));
    meta.put("tokenizer_profile", JSON.readTree(ProfileFiles.toJson(profile)));
    meta.put("unnorm_key", DemonstrationGenerator.UNNORM_KEY);
    meta.put("source", source);
    meta.put("episode_names", kept.stream().map(Episode::name).toList());
    meta.put("labels", "the action the policy commanded for the step after each observation (its chunk's first"
        + " step, or the committed prefix's first when it had one); target_position is NaN (not recorded)");
    Files.writeString(directory.resolve("meta.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(meta));
    return new Summary(kept.size(), actions.size(), List.copyOf(instructions), directory);
  }

  /**
   * The generator's word vocabulary, with any word of {@code instructions} it lacks in its unused
   * slots, so a model trained on the simulator's data reads the same ids.
   */
  static List<String> vocabulary(List<String> instructions) {
    List<String> vocab = new ArrayList<>(DemonstrationGenerator.textVocabulary());
    for (String instruction : instructions) {
      for (String word : instruction.toLowerCase(java.util.Locale.ROOT).split(" ")) {
        if (word.isEmpty() || vocab.contains(word)) {
          continue;
        }
        int unused = -1;
        for (int i = 0; i < vocab.size() && unused < 0; i++) {
          unused = vocab.get(i).startsWith("<unused_") ? i : -1;
        }
        if (unused < 0) {
          throw new IllegalArgumentException("the instructions need more than " + DemonstrationGenerator.TEXT_SLOTS
              + " words; '" + word + "' has no slot left");
        }
        vocab.set(unused, word);
      }
    }
    return vocab;
  }
}
