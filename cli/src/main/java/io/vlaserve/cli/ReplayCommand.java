package io.vlaserve.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.PolicyResult;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.recorder.mcap.McapReader;
import io.vlaserve.recorder.v1.ModelIdentity;
import io.vlaserve.recorder.v1.PolicyInference;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vla replay}: runs the inferences of policy-service recordings again, in process, and
 * compares. With the recorded model every token must come out the same (the same input, model and
 * seed decode the same tokens; anything else is a regression in the engine or the decoder); with
 * another model it reports, per chunk step, how far its actions are from the recorded ones.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
    description = "Run flight recordings again and compare: policy-service's inferences through the policy (token"
        + " agreement with the same model, per-step action differences with another), controller-bridge's chunks"
        + " through a simulated controller (verdicts and commanded positions against the recorded ones).")
final class ReplayCommand implements Callable<Integer> {
  static final String INFERENCES = "/policy/inferences";

  @Parameters(arity = "1..*", paramLabel = "FILE", description = "MCAP recordings written by policy-service.")
  private List<Path> files;

  @Option(names = "--model", defaultValue = ModelPackage.SHIPPED,
      description = "Model package folder to replay with (default: ${DEFAULT-VALUE}).")
  private Path model;

  @Option(names = "--threads", defaultValue = "1", description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE}).")
  private int threads;

  @Spec CommandSpec spec;

  /** What a replay found. */
  record Report(int inferences, int skipped, int identical, long tokens, long tokensIdentical, boolean sameModel,
      double[] meanAbsDifferenceByStep, double[] maxAbsDifferenceByStep) {}

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    List<PolicyInference> inferences = new ArrayList<>();
    int exit = 0;
    boolean bridge = false;
    for (Path file : files) {
      McapReader recording = McapReader.read(file);
      if (io.vlaserve.controller.messages.BridgeReplay.isBridgeRecording(recording)) {
        bridge = true;
        exit = Math.max(exit, printBridge(out, file, io.vlaserve.controller.messages.BridgeReplay.replay(file)));
      } else {
        inferences.addAll(read(recording, file));
      }
    }
    if (inferences.isEmpty()) {
      if (bridge) {
        return exit;
      }
      throw new IllegalArgumentException("no " + INFERENCES + " messages in " + files
          + " (expected recordings written by policy-service, or controller-bridge's)");
    }
    ModelPackage modelPackage = ModelPackage.load(model);
    Report report;
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(modelPackage, threads)) {
      report = replay(new VlaPolicy(modelPackage, engine), modelPackage.graphsSha256(), inferences);
    }
    print(out, modelPackage, inferences, report);
    return Math.max(exit, report.sameModel() && report.identical() < report.inferences() ? 1 : 0);
  }

  /** Prints a bridge replay's findings; 1 if a chunk's verdict came out differently. */
  private static int printBridge(PrintWriter out, Path file, io.vlaserve.controller.messages.BridgeReplay.Report report) {
    out.printf(Locale.ROOT, "bridge:   %s, robot %s: %d chunk(s) replayed through a simulated controller%n",
        file.getFileName(), report.robot(), report.chunks());
    out.printf(Locale.ROOT, "verdicts: %d of %d the same%n", report.sameVerdicts(), report.verdicts());
    out.printf(Locale.ROOT, "commanded position vs recorded, at %d state(s): mean %.2f mm, max %.2f mm; gripper"
        + " max %.3f%n", report.states(), report.meanPositionDifference() * 1000,
        report.maxPositionDifference() * 1000, report.maxGripperDifference());
    report.differences().forEach(d -> out.println("DIVERGED: " + d));
    out.flush();
    return report.differences().isEmpty() ? 0 : 1;
  }

  /** The inferences recorded in {@code file}, in the order they were logged. */
  static List<PolicyInference> read(Path file) throws IOException {
    return read(McapReader.read(file), file);
  }

  static List<PolicyInference> read(McapReader recording, Path file) {
    List<PolicyInference> inferences = new ArrayList<>();
    for (McapReader.Message message : recording.messages()) {
      McapReader.Channel channel = recording.channels().get(message.channelId());
      if (channel != null && INFERENCES.equals(channel.topic())) {
        try {
          inferences.add(PolicyInference.parseFrom(message.data()));
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalArgumentException(file + ": message " + message.sequence() + " on " + INFERENCES
              + " is not a vla.recorder.v1.PolicyInference: " + e.getMessage(), e);
        }
      }
    }
    return inferences;
  }

  /**
   * Runs every successful recorded inference through {@code policy} and compares.
   *
   * @param sha256 the replaying model's {@link ModelPackage#graphsSha256()}
   */
  static Report replay(VlaPolicy policy, String sha256, List<PolicyInference> inferences) {
    ModelPackage model = policy.model();
    boolean sameModel = inferences.stream().allMatch(i -> i.getModel().getSha256().equals(sha256));
    int steps = model.chunkLength();
    double[] sum = new double[steps];
    double[] max = new double[steps];
    long[] count = new long[steps];
    int replayed = 0;
    int skipped = 0;
    int identical = 0;
    long tokens = 0;
    long tokensIdentical = 0;
    for (PolicyInference recorded : inferences) {
      if (!recorded.getError().isEmpty() || !recorded.hasChunk()) {
        skipped++; // it failed when recorded: nothing to compare
        continue;
      }
      PolicyResult result = policy.infer(request(recorded, model));
      replayed++;
      List<Integer> before = recorded.getChunk().getTokensList();
      int[] after = result.tokens();
      boolean same = before.size() == after.length;
      for (int i = 0; i < Math.min(before.size(), after.length); i++) {
        boolean tokenSame = before.get(i) == after[i];
        same &= tokenSame;
        tokensIdentical += tokenSame ? 1 : 0;
      }
      tokens += before.size();
      identical += same ? 1 : 0;
      // Step k of both chunks is meant for the same time: both start at the committed prefix's end.
      List<ActionVector> recordedSteps = recorded.getChunk().getStepsList();
      double[][] actions = result.actions();
      for (int k = 0; k < Math.min(recordedSteps.size(), actions.length); k++) {
        double difference = 0;
        List<Double> values = recordedSteps.get(k).getValuesList();
        for (int d = 0; d < Math.min(values.size(), actions[k].length); d++) {
          difference = Math.max(difference, Math.abs(values.get(d) - actions[k][d]));
        }
        sum[k] += difference;
        max[k] = Math.max(max[k], difference);
        count[k]++;
      }
    }
    double[] mean = new double[steps];
    for (int k = 0; k < steps; k++) {
      mean[k] = count[k] == 0 ? Double.NaN : sum[k] / count[k];
      max[k] = count[k] == 0 ? Double.NaN : max[k];
    }
    return new Report(replayed, skipped, identical, tokens, tokensIdentical, sameModel, mean, max);
  }

  /**
   * The recorded frames in {@code model}'s layout (every camera's, in its camera order).
   *
   * @throws IllegalArgumentException when the recording's cameras or sizes are not the model's
   */
  static byte[] frames(PolicyInference recorded, ModelPackage model) {
    List<ModelPackage.CameraInput> cameras = model.cameras();
    String wanted = cameras.stream().map(c -> c.name() + " " + c.width() + "x" + c.height()).toList().toString();
    if (recorded.getCamerasCount() == 0) {
      if (cameras.size() != 1 || recorded.getImageWidth() != cameras.get(0).width()
          || recorded.getImageHeight() != cameras.get(0).height()) {
        throw new IllegalArgumentException("the recording's images are one camera's, " + recorded.getImageWidth() + "x"
            + recorded.getImageHeight() + " pixels; model " + model.name() + " takes " + wanted
            + ": replay with a model of the recorded input");
      }
      return recorded.getImageRgb8().toByteArray();
    }
    java.io.ByteArrayOutputStream frames = new java.io.ByteArrayOutputStream(model.imageBytes());
    List<String> recordedCameras = recorded.getCamerasList().stream()
        .map(c -> c.getCamera() + " " + c.getWidth() + "x" + c.getHeight()).toList();
    if (!recordedCameras.toString().equals(wanted)) {
      throw new IllegalArgumentException("the recording's cameras are " + recordedCameras + "; model " + model.name()
          + " takes " + wanted + ": replay with a model of the recorded input");
    }
    recorded.getCamerasList().forEach(camera -> frames.writeBytes(camera.getRgb8().toByteArray()));
    return frames.toByteArray();
  }

  /** The request as the recorded service queued it, for {@code model}. */
  static PolicyRequest request(PolicyInference recorded, ModelPackage model) {
    float[] proprio = new float[recorded.getProprioCount()];
    for (int i = 0; i < proprio.length; i++) {
      proprio[i] = recorded.getProprio(i);
    }
    double[][] prefix = new double[recorded.getCommittedPrefix().getStepsCount()][];
    for (int k = 0; k < prefix.length; k++) {
      prefix[k] = recorded.getCommittedPrefix().getSteps(k).getValuesList().stream().mapToDouble(Double::doubleValue)
          .toArray();
    }
    var sampling = recorded.getSampling();
    int chunkLength = Math.min(recorded.getChunkLength() == 0 ? model.chunkLength() : recorded.getChunkLength(),
        model.chunkLength());
    return new PolicyRequest(frames(recorded, model), recorded.getInstruction(), proprio, chunkLength,
        new SamplingParams(sampling.getTemperature(), sampling.getTopK(), sampling.getTopP(), sampling.getSeed()),
        prefix);
  }

  private void print(PrintWriter out, ModelPackage modelPackage, List<PolicyInference> inferences, Report report) {
    TreeSet<String> robots = new TreeSet<>();
    TreeSet<String> recordedModels = new TreeSet<>();
    for (PolicyInference inference : inferences) {
      robots.add(inference.getRobotId());
      recordedModels.add(describe(inference.getModel()));
    }
    out.printf(Locale.ROOT, "recorded: %d inference(s) of %s by %s%n", inferences.size(), robots,
        String.join(", ", recordedModels));
    out.printf(Locale.ROOT, "replayed: %d with %s %s (sha256 %s), %s%n", report.inferences(), modelPackage.name(),
        modelPackage.version(), modelPackage.graphsSha256().substring(0, 12),
        report.sameModel() ? "the recorded model" : "a different model");
    if (report.skipped() > 0) {
      out.printf(Locale.ROOT, "skipped:  %d that failed when recorded%n", report.skipped());
    }
    out.printf(Locale.ROOT, "tokens:   %d of %d inferences identical (%.1f%%), %d of %d tokens (%.1f%%)%n",
        report.identical(), report.inferences(), percent(report.identical(), report.inferences()),
        report.tokensIdentical(), report.tokens(), percent(report.tokensIdentical(), report.tokens()));
    out.println("actions:  largest |difference| over the dimensions, per chunk step (mean, max):");
    for (int k = 0; k < report.meanAbsDifferenceByStep().length; k++) {
      if (!Double.isNaN(report.meanAbsDifferenceByStep()[k])) {
        out.printf(Locale.ROOT, "  step %d: %.5f, %.5f%n", k, report.meanAbsDifferenceByStep()[k],
            report.maxAbsDifferenceByStep()[k]);
      }
    }
    if (report.sameModel() && report.identical() < report.inferences()) {
      out.println("DIVERGED: the recorded model decoded other tokens from the same input and seed");
    }
    out.flush();
  }

  private static String describe(ModelIdentity model) {
    return model.getName() + " " + model.getVersion() + " (sha256 "
        + model.getSha256().substring(0, Math.min(12, model.getSha256().length())) + ", " + model.getEngine() + ")";
  }

  private static double percent(long part, long whole) {
    return whole == 0 ? 100 : 100.0 * part / whole;
  }
}
