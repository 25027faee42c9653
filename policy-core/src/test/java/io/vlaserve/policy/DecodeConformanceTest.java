package io.vlaserve.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.ForwardingVlaEngine;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.model.PackageCopies;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole chunks through the real engine under the details serving stacks get silently wrong
 * (vllm-omni#6271): a logits width padded past the vocabulary, and a prompt built by a tokenizer
 * library instead of the word list. The third, the normalisation mask, is the tokenizer's
 * (tokenizer-core GoldenVectorsTest: unmasked dimensions pass through raw, bit-exact with OpenVLA).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DecodeConformanceTest {
  private final LoadedModel loaded = LoadedModel.load(ShippedModel.DIRECTORY);
  private final ModelPackage model = loaded.model();
  private final OnnxRuntimeEngine engine = loaded.engine();
  private final VlaPolicy policy = loaded.policy();

  @AfterAll
  void close() {
    loaded.close();
  }

  private PolicyRequest request(long seed, String instruction, SamplingParams sampling) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] image = new byte[model.imageWidth() * model.imageHeight() * 3];
    for (int i = 0; i < image.length; i++) {
      image[i] = (byte) (80 + random.nextInt(60));
    }
    float[] proprio = {0.45f, 0.05f, 0.18f, 0, 0, 0, 1, 1};
    return new PolicyRequest(image, instruction, proprio, model.chunkLength(), sampling);
  }

  @Test
  void logitsPaddedPastTheVocabularyWithHugeValuesDecodeTheSameChunk(@TempDir Path directory) {
    int padded = 384; // 320 rounded up to a multiple of 128, as OpenVLA pads 32000 + <PAD> to 32064
    ModelPackage wide = ModelPackage.load(PackageCopies.copy(directory, root -> root.put("vocab_size", padded)));
    int width = model.vocabSize();
    // The graph's 320 logits per row, then 64 padding logits far above every real one: a server that
    // chose among all logits, or counted action tokens from the padded width, would pick them.
    VlaPolicy paddedPolicy = new VlaPolicy(wide, new ForwardingVlaEngine(engine) {
      @Override
      public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
        float[] narrow = new float[logits.length / padded * width];
        KvCache cache = super.prefill(batch, narrow, maxNewTokens);
        widen(narrow, logits);
        return cache;
      }

      @Override
      public void decode(KvCache cache, long[] tokenIds, long[] positionIds, float[] mask, float[] logits) {
        float[] narrow = new float[logits.length / padded * width];
        super.decode(cache, tokenIds, positionIds, mask, narrow);
        widen(narrow, logits);
      }

      private void widen(float[] narrow, float[] wideLogits) {
        for (int row = 0; row < narrow.length / width; row++) {
          System.arraycopy(narrow, row * width, wideLogits, row * padded, width);
          Arrays.fill(wideLogits, row * padded + width, (row + 1) * padded, 1e4f);
        }
      }

      @Override
      public void close() {}
    });
    for (long seed = 1; seed <= 3; seed++) {
      for (SamplingParams sampling : new SamplingParams[] {SamplingParams.GREEDY,
          new SamplingParams(0.8, 0, 0.95, seed)}) {
        PolicyRequest request = request(seed, model.skills().get((int) seed), sampling);
        PolicyResult clean = policy.infer(request);
        PolicyResult wideResult = paddedPolicy.infer(request);
        assertArrayEquals(clean.tokens(), wideResult.tokens(), "seed " + seed + ", " + sampling);
        assertEquals(Arrays.deepToString(clean.actions()), Arrays.deepToString(wideResult.actions()));
      }
    }
  }

  @Test
  void aTokenizerJsonPackageServesTheSameChunksAsItsWordList(@TempDir Path directory) {
    ModelPackage viaTokenizer = ModelPackage.load(PackageCopies.shippedAsWordLevelTokenizer(directory));
    VlaPolicy tokenizerPolicy = new VlaPolicy(viaTokenizer, engine);
    for (String skill : model.skills()) {
      PolicyRequest request = request(skill.length(), skill, SamplingParams.GREEDY);
      assertArrayEquals(policy.infer(request).tokens(), tokenizerPolicy.infer(request).tokens(), skill);
    }
    viaTokenizer.text().close();
  }
}
