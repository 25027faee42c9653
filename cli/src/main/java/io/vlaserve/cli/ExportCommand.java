package io.vlaserve.cli;

import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.dataset.RecordedDataset;
import io.vlaserve.recorder.v1.PolicyInference;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vla export}: policy-service recordings to the dataset format the model is trained from
 * (docs/dataset.md), closing the loop from the fleet back to training. Episodes are the recorded
 * policy sessions, in the order they appear; inferences that failed when recorded are left out.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Export policy-service flight recordings (MCAP) as a training dataset (docs/dataset.md): frames,"
        + " proprioception, instructions, the commanded actions as labels, OpenVLA statistics and action tokens.")
final class ExportCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "FILE", description = "MCAP recordings written by policy-service.")
  private List<Path> files;

  @Option(names = "--out", required = true, description = "Dataset folder to write (created if needed).")
  private Path out;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    List<PolicyInference> inferences = new ArrayList<>();
    for (Path file : files) {
      inferences.addAll(ReplayCommand.read(file));
    }
    Map<String, List<PolicyInference>> sessions = new LinkedHashMap<>();
    TreeSet<String> models = new TreeSet<>();
    for (PolicyInference inference : inferences) {
      if (inference.getError().isEmpty() && inference.hasChunk()) {
        sessions.computeIfAbsent(inference.getRobotId() + "/session-" + inference.getSession(), k -> new ArrayList<>())
            .add(inference);
        models.add(inference.getModel().getName() + " " + inference.getModel().getVersion() + " sha256 "
            + inference.getModel().getSha256());
      }
    }
    if (sessions.isEmpty()) {
      throw new IllegalArgumentException("no successful " + ReplayCommand.INFERENCES + " messages in " + files
          + " (expected recordings written by policy-service)");
    }
    PolicyInference first = sessions.values().iterator().next().get(0);
    List<RecordedDataset.Episode> episodes = new ArrayList<>();
    for (Map.Entry<String, List<PolicyInference>> session : sessions.entrySet()) {
      List<PolicyInference> ordered = new ArrayList<>(session.getValue());
      ordered.sort(Comparator.comparingLong(PolicyInference::getObservationSequence));
      List<RecordedDataset.Step> steps = new ArrayList<>();
      for (PolicyInference inference : ordered) {
        if (inference.getCamerasCount() > 0) {
          throw new IllegalArgumentException(session.getKey() + ": frames of " + inference.getCamerasCount()
              + " cameras; the dataset format holds one camera, so export recordings of single-camera models");
        }
        if (inference.getImageWidth() != first.getImageWidth() || inference.getImageHeight() != first.getImageHeight()) {
          throw new IllegalArgumentException(session.getKey() + ": frames of " + inference.getImageWidth() + "x"
              + inference.getImageHeight() + " among " + first.getImageWidth() + "x" + first.getImageHeight()
              + " ones; export recordings of one model input size at a time");
        }
        float[] proprio = new float[inference.getProprioCount()];
        for (int i = 0; i < proprio.length; i++) {
          proprio[i] = inference.getProprio(i);
        }
        steps.add(new RecordedDataset.Step(inference.getInstruction(), inference.getImageRgb8().toByteArray(), proprio,
            label(inference)));
      }
      episodes.add(new RecordedDataset.Episode(session.getKey(), steps));
    }
    double stepPeriod = first.getChunk().hasStepPeriod()
        ? first.getChunk().getStepPeriod().getSeconds() + first.getChunk().getStepPeriod().getNanos() * 1e-9 : 0.1;
    Map<String, Object> source = new LinkedHashMap<>();
    source.put("recordings", files.stream().map(Path::toString).toList());
    source.put("models", List.copyOf(models));
    RecordedDataset.Summary summary = RecordedDataset.write(out, episodes, first.getImageWidth(),
        first.getImageHeight(), stepPeriod, "vla export " + String.join(" ", files.stream().map(Path::toString)
            .toList()) + " --out " + out, source);
    PrintWriter print = spec.commandLine().getOut();
    print.printf("exported %d step(s) of %d episode(s) (%d instruction(s)) to %s%n", summary.steps(),
        summary.episodes(), summary.instructions().size(), summary.directory().toAbsolutePath());
    print.flush();
    return 0;
  }

  /**
   * The action executed right after the observation: the committed prefix's first when the request
   * had one (the chunk then starts after it), else the chunk's first.
   */
  static double[] label(PolicyInference inference) {
    ActionVector first = inference.getCommittedPrefix().getStepsCount() > 0
        ? inference.getCommittedPrefix().getSteps(0) : inference.getChunk().getSteps(0);
    return first.getValuesList().stream().mapToDouble(Double::doubleValue).toArray();
  }
}
