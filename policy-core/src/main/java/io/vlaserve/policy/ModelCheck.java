package io.vlaserve.policy;

import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.model.HuggingFacePrompt;
import io.vlaserve.policy.model.InvalidModelPackageException;
import io.vlaserve.policy.model.ModelPackage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Checks a model package end to end, as {@code vla model check} reports it: the manifest, the
 * graphs (they load, their inputs and outputs are named and shaped as the manifest says), the
 * instruction vocabulary against the skills, a whole chunk decoded, and the parity file (the
 * graphs' logits against those recorded from the training framework). Each finding says what is
 * wrong in words a person can act on.
 */
public final class ModelCheck {
  /** One check's verdict: {@code ok}, or what is wrong in {@code detail}; {@code skipped} checks say why. */
  public record Finding(String check, Status status, String detail) {}

  public enum Status { OK, FAILED, SKIPPED }

  private ModelCheck() {}

  /** Runs every check on the package in {@code directory}; later checks are skipped when an earlier one makes them moot. */
  public static List<Finding> run(Path directory) {
    List<Finding> findings = new ArrayList<>();
    ModelPackage model;
    try {
      model = ModelPackage.load(directory);
      findings.add(new Finding("manifest", Status.OK, model.name() + " " + model.version() + ", " + model.chunkLength()
          + "-step chunks of " + model.actionDimensions() + " dimensions, vocabulary " + model.vocabSize()));
    } catch (InvalidModelPackageException e) {
      findings.add(new Finding("manifest", Status.FAILED, e.getMessage()));
      return skipRest(findings, "the manifest does not load");
    }
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1)) {
      findings.add(new Finding("graphs", Status.OK, model.decoding() == ModelPackage.Decoding.PARALLEL
          ? "the parallel-decoding graph loads in ONNX Runtime, inputs and outputs named as expected"
          : "both load in ONNX Runtime, inputs and outputs named as expected"));
      List<String> shapes = engine.shapeProblems();
      findings.add(shapes.isEmpty()
          ? new Finding("shapes", Status.OK, "image, instruction, proprio and logits as the manifest says")
          : new Finding("shapes", Status.FAILED, String.join("; ", shapes)));
      findings.add(text(model));
      if (!shapes.isEmpty()) {
        findings.add(new Finding("chunk", Status.SKIPPED, "the graphs' shapes disagree with the manifest"));
        findings.add(new Finding("parity", Status.SKIPPED, "the graphs' shapes disagree with the manifest"));
        return findings;
      }
      VlaPolicy policy = new VlaPolicy(model, engine);
      findings.add(chunk(model, policy));
      findings.add(parity(model, engine));
    } catch (EngineException e) {
      findings.add(new Finding("graphs", Status.FAILED, e.getMessage()));
      return skipRest(findings, "the graphs do not load");
    }
    return findings;
  }

  private static List<Finding> skipRest(List<Finding> findings, String why) {
    for (String check : List.of("graphs", "shapes", "text", "chunk", "parity")) {
      if (findings.stream().noneMatch(f -> f.check().equals(check))) {
        findings.add(new Finding(check, Status.SKIPPED, why));
      }
    }
    return findings;
  }

  /**
   * Every skill the package declares must make a prompt the model can read: within L tokens, nothing
   * unknown, no action token among its ids; with a tokenizer, the prompt must also decode back to the
   * template's text (the round trip that catches a wrong tokenizer file or template).
   */
  private static Finding text(ModelPackage model) {
    if (model.skills().isEmpty()) {
      return new Finding("text", Status.FAILED, "the manifest lists no skills (expected: the instructions the model"
          + " was trained on, for planners to decompose tasks into)");
    }
    java.util.BitSet actionTokens = new java.util.BitSet();
    for (int d = 0; d < model.actionDimensions(); d++) {
      var range = model.actionProfile().tokenizer().allowedTokens(d);
      actionTokens.set(range.first(), range.last() + 1);
    }
    List<String> problems = new ArrayList<>();
    int longest = 0;
    for (String skill : model.skills()) {
      var problem = model.text().problem(skill);
      if (problem.isPresent()) {
        problems.add(problem.get());
        continue;
      }
      long[] ids = model.text().promptIds(skill);
      longest = Math.max(longest, ids.length);
      for (long id : ids) {
        if (actionTokens.get((int) id)) {
          problems.add("the prompt of \"" + skill + "\" contains token " + id + ", which is also an action token");
          break;
        }
      }
      if (model.text() instanceof HuggingFacePrompt prompt) {
        String decoded = prompt.decode(ids).strip();
        String expected = prompt.promptText(skill).strip();
        if (!decoded.equals(expected)) {
          problems.add("the prompt of \"" + skill + "\" decodes to \"" + decoded + "\" (expected: \"" + expected
              + "\"; does the tokenizer belong to this model?)");
        }
      }
    }
    String what = model.text() instanceof HuggingFacePrompt
        ? "tokenizer.json and prompt template round trip, prompts of up to " + longest + " of " + model.text().maxTokens()
            + " tokens"
        : "every word in the vocabulary";
    return problems.isEmpty()
        ? new Finding("text", Status.OK, model.skills().size() + " skills, " + what)
        : new Finding("text", Status.FAILED, String.join("; ", problems));
  }

  /** A whole chunk decoded from a grey frame: every action finite, as many steps as the manifest says. */
  private static Finding chunk(ModelPackage model, VlaPolicy policy) {
    byte[] grey = new byte[model.imageBytes()];
    java.util.Arrays.fill(grey, (byte) 128);
    float[] proprio = new float[model.proprioNames().size()];
    try {
      PolicyResult result = policy.infer(new PolicyRequest(grey, model.skills().get(0), proprio, model.chunkLength(),
          SamplingParams.GREEDY));
      for (double[] step : result.actions()) {
        for (double value : step) {
          if (!Double.isFinite(value)) {
            return new Finding("chunk", Status.FAILED, "an action came out " + value);
          }
        }
      }
      if (result.actions().length != model.chunkLength()) {
        return new Finding("chunk", Status.FAILED, result.actions().length + " steps (expected: the manifest's "
            + model.chunkLength() + ")");
      }
      return new Finding("chunk", Status.OK, model.chunkLength() + " steps x " + model.actionDimensions()
          + " tokens decoded with per-dimension masking, every action finite");
    } catch (RuntimeException e) {
      return new Finding("chunk", Status.FAILED, "decoding a chunk failed: " + e.getMessage());
    }
  }

  /**
   * The parity file's cases through ONNX Runtime: prefill and every decode step's logits within the
   * manifest's tolerance of those recorded from the training framework.
   */
  public static Finding parity(ModelPackage model, OnnxRuntimeEngine engine) {
    if (model.parityFile() == null) {
      return new Finding("parity", Status.SKIPPED, "the package has no parity file, so nothing shows that its"
          + " graphs compute what the trained model does (add parity.json: docs/model-package.md)");
    }
    JsonNode parity;
    try {
      parity = JsonMapper.builder().build().readTree(Files.readString(model.parityFile()));
    } catch (IOException | RuntimeException e) {
      return new Finding("parity", Status.FAILED, model.parityFile().getFileName() + " is not readable JSON: "
          + e.getMessage());
    }
    double tolerance = model.parityTolerance();
    double worst = 0;
    String where = "";
    int cases = 0;
    try {
      for (JsonNode c : parity.get("cases")) {
        int batch = c.get("image_shape").get(0).intValue();
        byte[] images = parityImages(model, c, batch);
        if (model.decoding() == ModelPackage.Decoding.PARALLEL) {
          float[] all = new float[batch * model.actionTokens() * model.vocabSize()];
          engine.predictAll(new PromptBatch(batch, images, longs(c.get("instruction_ids")), floats(c.get("proprio"))),
              all);
          double difference = largestDifference(floats(c.get("prefill_logits")), all);
          if (difference > worst) {
            worst = difference;
            where = "case " + cases + ", the parallel pass";
          }
          cases++;
          continue;
        }
        float[] logits = new float[batch * model.vocabSize()];
        JsonNode steps = c.get("decode_steps");
        try (KvCache cache = engine.prefill(new PromptBatch(batch, images, longs(c.get("instruction_ids")),
            floats(c.get("proprio"))), logits, steps.size())) {
          double difference = largestDifference(floats(c.get("prefill_logits")), logits);
          if (difference > worst) {
            worst = difference;
            where = "case " + cases + ", prefill";
          }
          int s = 0;
          for (JsonNode step : steps) {
            engine.decode(cache, longs(step.get("token_ids")), longs(step.get("position_ids")),
                floats(step.get("attention_mask")), logits);
            difference = largestDifference(floats(step.get("logits")), logits);
            if (difference > worst) {
              worst = difference;
              where = "case " + cases + ", decode step " + s;
            }
            s++;
          }
        }
        cases++;
      }
    } catch (RuntimeException e) {
      return new Finding("parity", Status.FAILED, "case " + cases + " of " + model.parityFile().getFileName()
          + " could not be run: " + e.getMessage());
    }
    if (cases == 0) {
      return new Finding("parity", Status.FAILED, model.parityFile().getFileName() + " holds no cases");
    }
    String summary = String.format(java.util.Locale.ROOT, "%d cases, largest logit difference %.3g (tolerance %.3g)",
        cases, worst, tolerance);
    return worst <= tolerance ? new Finding("parity", Status.OK, summary)
        : new Finding("parity", Status.FAILED, summary + ", at " + where + ": the graphs do not compute what the"
            + " recorded model did (a wrong export, opset or quantisation)");
  }

  /**
   * A parity case's frames in the batch layout (each sequence's cameras back to back): {@code image}
   * for one camera, {@code images: {"<camera>": [...]}} for several, each {@code [B, H, W, 3]} flat.
   */
  private static byte[] parityImages(ModelPackage model, JsonNode c, int batch) {
    byte[] images = new byte[batch * model.imageBytes()];
    int offset = 0;
    for (ModelPackage.CameraInput camera : model.cameras()) {
      JsonNode values = model.cameras().size() == 1 && c.has("image") ? c.get("image") : c.path("images").get(camera.name());
      if (values == null || values.size() != batch * camera.frameBytes()) {
        throw new IllegalArgumentException("camera " + camera.name() + ": " + (values == null ? "no frames" : values.size()
            + " values") + " (expected " + batch + " x " + camera.height() + " x " + camera.width() + " x 3)");
      }
      for (int r = 0; r < batch; r++) {
        for (int i = 0; i < camera.frameBytes(); i++) {
          images[r * model.imageBytes() + offset + i] = (byte) values.get(r * camera.frameBytes() + i).intValue();
        }
      }
      offset += camera.frameBytes();
    }
    return images;
  }

  private static double largestDifference(float[] expected, float[] actual) {
    if (expected.length != actual.length) {
      throw new IllegalArgumentException(expected.length + " recorded logits, " + actual.length + " computed");
    }
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
    }
    return worst;
  }

  private static long[] longs(JsonNode array) {
    long[] values = new long[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.get(i).longValue();
    }
    return values;
  }

  private static float[] floats(JsonNode array) {
    float[] values = new float[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.get(i).floatValue();
    }
    return values;
  }
}
