package io.vlaserve.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.model.HuggingFacePrompt;
import io.vlaserve.policy.model.ModelPackage;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tools.jackson.databind.JsonNode;

/**
 * A package in OpenVLA's conventions, end to end through the real engine
 * (models/test-fixtures/openvla-conventions: random weights, written by two_camera_fixture.py
 * --openvla): a Llama-style BPE tokenizer.json and OpenVLA's prompt with its lone "▁", left padding,
 * action tokens as the last 256 ids of the 620-token vocabulary, logits padded to 640, two cameras.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenVlaConventionsTest {
  static final Path FIXTURE = Path.of("..", "models", "test-fixtures", "openvla-conventions").toAbsolutePath()
      .normalize();

  private final LoadedModel loaded = LoadedModel.load(FIXTURE);
  private final ModelPackage model = loaded.model();

  @AfterAll
  void close() {
    loaded.close();
    model.text().close();
  }

  @Test
  void everyCheckPassesParityIncluded() {
    for (ModelCheck.Finding finding : ModelCheck.run(FIXTURE)) {
      assertEquals(ModelCheck.Status.OK, finding.status(), finding.toString());
    }
  }

  @Test
  void theTokenizersLibraryBuildsThePromptIdsTheExportUsed() {
    // parity.json's prompts came from a small BPE encoder in Python; the server runs Hugging Face's.
    HuggingFacePrompt prompt = assertInstanceOf(HuggingFacePrompt.class, model.text());
    JsonNode recorded = model.manifest().path("training").path("parity_prompts");
    assertEquals(2, recorded.size());
    for (var entry : recorded.properties()) {
      long[] expected = new long[entry.getValue().size()];
      for (int i = 0; i < expected.length; i++) {
        expected[i] = entry.getValue().get(i).asLong();
      }
      long[] actual = new long[model.text().maxTokens()];
      model.text().encode(entry.getKey(), actual, 0);
      assertArrayEquals(expected, actual, entry.getKey());
    }
    assertEquals(620, prompt.tokenId("<PAD>").orElseThrow(), "<PAD> after the 620-token vocabulary");
  }

  @Test
  void chunksUseOnlyTheLastTwoHundredFiftySixIdsNeverThePaddedLogits() {
    SplittableRandom random = new SplittableRandom(3);
    byte[] frames = new byte[model.imageBytes()];
    for (int i = 0; i < frames.length; i++) {
      frames[i] = (byte) random.nextInt(256);
    }
    for (SamplingParams sampling : new SamplingParams[] {SamplingParams.GREEDY, new SamplingParams(1.5, 0, 1, 4)}) {
      PolicyResult result = loaded.policy().infer(new PolicyRequest(frames, "Move above the PLATE",
          new float[] {0.5f, 0, 0.2f, 0, 0, 0, 1, 1}, model.chunkLength(), sampling));
      for (int token : result.tokens()) {
        assertTrue(token >= 364 && token <= 619, "action token " + token + " (expected 620 - bin, bins 1..256)");
      }
    }
  }
}
