package io.vlaserve.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.batching.BatchingListener;
import io.vlaserve.policy.batching.ContinuousBatchScheduler;
import io.vlaserve.policy.batching.ScheduledResult;
import io.vlaserve.policy.batching.SchedulerConfig;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.model.InvalidModelPackageException;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.model.PackageCopies;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.node.ObjectNode;

/**
 * Parallel decoding (format /3 {@code "decoding": "parallel"}): the shipped tiny VLA's variant
 * trained to produce every action token of a chunk in one pass (models/tiny-vla-parallel).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ParallelDecodingTest {
  static final Path PACKAGE = Path.of("..", "models", "tiny-vla-parallel").toAbsolutePath().normalize();

  private final LoadedModel loaded = LoadedModel.load(PACKAGE);
  private final ModelPackage model = loaded.model();
  private final OnnxRuntimeEngine engine = loaded.engine();
  private final VlaPolicy policy = loaded.policy();

  @AfterAll
  void close() {
    loaded.close();
  }

  private PolicyRequest request(long seed, SamplingParams sampling, int chunkLength) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] image = new byte[model.imageBytes()];
    for (int i = 0; i < image.length; i++) {
      image[i] = (byte) (90 + random.nextInt(40));
    }
    float[] proprio = {0.5f, 0.0f, 0.2f, 0, 0, 0, 1, 1};
    return new PolicyRequest(image, model.skills().get((int) (seed % model.skills().size())), proprio, chunkLength,
        sampling);
  }

  @Test
  void thePackageDeclaresParallelDecodingWithOneGraphAndPassesEveryCheck() {
    assertEquals(ModelPackage.Decoding.PARALLEL, model.decoding());
    assertNull(model.decodeGraph());
    assertEquals(List.of(model.prefillGraph()), model.graphFiles());
    for (ModelCheck.Finding finding : ModelCheck.run(PACKAGE)) {
      assertEquals(ModelCheck.Status.OK, finding.status(), finding.toString());
    }
  }

  @Test
  void aChunkHasOneTokenPerDimensionAndStepInItsSliceAndShorterChunksArePrefixes() {
    PolicyResult whole = policy.infer(request(1, SamplingParams.GREEDY, model.chunkLength()));
    assertEquals(model.chunkLength(), whole.actions().length);
    for (int t = 0; t < whole.tokens().length; t++) {
      assertTrue(model.actionProfile().tokenizer().allowedTokens(t % model.actionDimensions())
          .contains(whole.tokens()[t]), "token " + t);
    }
    PolicyResult two = policy.infer(request(1, SamplingParams.GREEDY, 2));
    assertArrayEquals(java.util.Arrays.copyOf(whole.tokens(), 2 * model.actionDimensions()), two.tokens(),
        "one pass predicts the whole chunk; fewer steps keep the first ones");
  }

  @Test
  void aBatchAndTheSchedulerGiveEachRequestTheTokensItGetsAlone() throws Exception {
    List<PolicyRequest> requests = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      requests.add(request(20 + i, i % 2 == 0 ? SamplingParams.GREEDY : new SamplingParams(0.8, 0, 0.95, i),
          i == 3 ? 2 : model.chunkLength()));
    }
    List<PolicyResult> batched = policy.infer(requests);
    try (var scheduler = new ContinuousBatchScheduler(policy,
        new SchedulerConfig(8, 8, Duration.ZERO, 64, 64, Duration.ofMillis(25)), System::nanoTime,
        BatchingListener.NONE)) {
      List<CompletableFuture<ScheduledResult>> futures = new ArrayList<>();
      for (int i = 0; i < requests.size(); i++) {
        futures.add(scheduler.submit("robot-" + i, null, requests.get(i), Long.MAX_VALUE));
      }
      for (int i = 0; i < requests.size(); i++) {
        int[] alone = policy.infer(requests.get(i)).tokens();
        assertArrayEquals(alone, batched.get(i).tokens(), "request " + i + " batched");
        assertArrayEquals(alone, futures.get(i).get(60, TimeUnit.SECONDS).result().tokens(), "request " + i
            + " scheduled");
      }
    }
  }

  @Test
  void aCommittedPrefixIsRefusedBecauseOnePassCannotContinueIt() {
    PolicyRequest plain = request(5, SamplingParams.GREEDY, model.chunkLength());
    double[][] prefix = {policy.infer(plain).actions()[0]};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> policy.check(
        new PolicyRequest(plain.image(), plain.instruction(), plain.proprio(), plain.chunkLength(), plain.sampling(),
            prefix)));
    assertTrue(e.getMessage().contains("decodes every action token in one pass and cannot continue a prefix"),
        e.getMessage());
  }

  @Test
  void theCachePathsAreRefusedClearly() {
    EngineException e = assertThrows(EngineException.class,
        () -> engine.prefill(new PromptBatch(1, new byte[model.imageBytes()], new long[model.text().maxTokens()],
            new float[model.proprioNames().size()]), new float[model.vocabSize()], 1));
    assertTrue(e.getMessage().contains("decodes in parallel"), e.getMessage());
  }

  @Test
  void parallelDecodingNeedsFormatThreeAndNoDecodeGraph(@TempDir Path directory) {
    InvalidModelPackageException formatTwo = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.copy(directory, root -> root.put("decoding", "parallel"))));
    assertTrue(formatTwo.getMessage().contains("decoding \"parallel\" needs format \"vla-serve-model/3\""),
        formatTwo.getMessage());
    InvalidModelPackageException withDecode = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.copy(directory, root -> root.put("format", ModelPackage.FORMAT)
            .put("decoding", "parallel"))));
    assertTrue(withDecode.getMessage().contains("graphs.decode with decoding \"parallel\""), withDecode.getMessage());
    InvalidModelPackageException unknown = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.copy(directory, root -> root.put("decoding", "diffusion"))));
    assertTrue(unknown.getMessage().contains("(expected: \"autoregressive\" or \"parallel\")"), unknown.getMessage());
    // The shipped autoregressive graphs declared parallel: the engine names what the graph lacks.
    ModelPackage mislabelled = ModelPackage.load(PackageCopies.copy(directory, root -> {
      root.put("format", ModelPackage.FORMAT).put("decoding", "parallel");
      ((ObjectNode) root.path("graphs")).remove("decode");
    }));
    EngineException engineRefusal = assertThrows(EngineException.class, () -> new OnnxRuntimeEngine(mislabelled, 1));
    assertTrue(engineRefusal.getMessage().contains("expected only logits"), engineRefusal.getMessage());
  }

  @Test
  void theShippedPackageReadsEveryDimensionButTheGripperAsAMean() {
    assertEquals(List.of(0, 1, 2, 3, 4, 5), model.meanReadout());
  }

  @Test
  void aGreedyChunkReadsTheContinuousDimensionsAsTheirDistributionsMeanAndTheGripperAsItsToken() {
    PolicyRequest request = request(31, SamplingParams.GREEDY, model.chunkLength());
    PolicyResult result = policy.infer(request);

    // The expected means, from the graph's own logits for this prompt.
    byte[] images = request.image().clone();
    long[] instructions = new long[model.text().maxTokens()];
    model.text().encode(request.instruction(), instructions, 0);
    float[] logits = new float[model.actionTokens() * model.vocabSize()];
    engine.predictAll(new PromptBatch(1, images, instructions, request.proprio().clone()), logits);
    var tokenizer = model.actionProfile().tokenizer();
    int dims = model.actionDimensions();
    boolean anyMeanOffItsToken = false;
    for (int step = 0; step < model.chunkLength(); step++) {
      for (int d = 0; d < dims; d++) {
        int token = result.tokens()[step * dims + d];
        double tokenValue = tokenizer.decodeToken(d, token);
        if (!model.meanReadout().contains(d)) {
          assertEquals(tokenValue, result.actions()[step][d], "step " + step + " dimension " + d + ": its token");
          continue;
        }
        var slice = tokenizer.allowedTokens(d);
        int base = (step * dims + d) * model.vocabSize();
        double max = Double.NEGATIVE_INFINITY;
        for (int t = slice.first(); t <= slice.last(); t++) {
          max = Math.max(max, logits[base + t]);
        }
        double weights = 0;
        double sum = 0;
        for (int t = slice.first(); t <= slice.last(); t++) {
          double weight = Math.exp(logits[base + t] - max);
          weights += weight;
          sum += weight * tokenizer.decodeToken(d, t);
        }
        assertEquals(sum / weights, result.actions()[step][d], 1e-9, "step " + step + " dimension " + d + ": the mean");
        anyMeanOffItsToken |= Math.abs(sum / weights - tokenValue) > 1e-6;
      }
    }
    assertTrue(anyMeanOffItsToken, "the mean differs from the most likely token's value somewhere in the chunk");
  }

  @Test
  void aSampledChunkIsReadTokenByToken() {
    PolicyResult result = policy.infer(request(32, new SamplingParams(0.8, 0, 0.95, 7), model.chunkLength()));
    assertArrayEquals(policy.decoder().actions(result.tokens(), model.chunkLength()), result.actions());
  }

  @Test
  void aMeanReadoutMustNameDimensionsOfAParallelModel(@TempDir Path autoregressive, @TempDir Path parallel)
      throws java.io.IOException {
    InvalidModelPackageException notParallel = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.copy(autoregressive, root -> ((ObjectNode) root.path("action"))
            .putArray("mean_readout").add("dx"))));
    assertTrue(notParallel.getMessage().contains("action.mean_readout needs decoding \"parallel\""),
        notParallel.getMessage());
    try (var files = java.nio.file.Files.list(PACKAGE)) {
      for (Path file : files.filter(java.nio.file.Files::isRegularFile).toList()) {
        java.nio.file.Files.copy(file, parallel.resolve(file.getFileName()));
      }
    }
    InvalidModelPackageException unknown = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.edit(parallel, root -> ((ObjectNode) root.path("action"))
            .putArray("mean_readout").add("dx").add("elbow"))));
    assertTrue(unknown.getMessage().contains("\"elbow\" is not a dimension of action profile tiny-sim"),
        unknown.getMessage());
    InvalidModelPackageException twice = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.edit(parallel, root -> ((ObjectNode) root.path("action"))
            .putArray("mean_readout").add("dx").add("dx"))));
    assertTrue(twice.getMessage().contains("is listed twice"), twice.getMessage());
  }
}
