package io.vlaserve.policy.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ShippedModel;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.node.ObjectNode;

/**
 * The prompt side of format /3 (docs/model-package.md): a tokenizer.json through the tokenizers
 * library, the model's template, special and suffix tokens, padding; and the action-token layout
 * checked against the tokenizer's vocabulary and the logits width.
 */
class PromptEncoderTest {
  @TempDir Path directory;

  @Test
  void theWordListWrittenAsATokenizerJsonGivesTheSameIdsAsTheWordList() {
    ModelPackage words = ShippedModel.load();
    ModelPackage tokenizer = ModelPackage.load(PackageCopies.shippedAsWordLevelTokenizer(directory));
    assertInstanceOf(TextVocabulary.class, words.text());
    assertInstanceOf(HuggingFacePrompt.class, tokenizer.text());
    int length = words.text().maxTokens();
    assertEquals(length, tokenizer.text().maxTokens());
    for (String skill : words.skills()) {
      long[] expected = new long[length];
      long[] actual = new long[length];
      words.text().encode(skill, expected, 0);
      tokenizer.text().encode("  " + skill.toUpperCase(java.util.Locale.ROOT) + " ", actual, 0);
      assertArrayEquals(expected, actual, skill);
    }
    assertTrue(tokenizer.text().problem("juggle the red block").orElseThrow().contains("unknown token"));
    assertTrue(words.text().problem("juggle the red block").orElseThrow().contains("juggle"));
    tokenizer.text().close();
  }

  @Test
  void openVlaStylePromptStartsWithBosEndsWithOneLoneSpaceTokenAndRoundTrips() {
    ModelPackage model = ModelPackage.load(PackageCopies.llamaStyle(directory, 620, root -> {}));
    HuggingFacePrompt prompt = assertInstanceOf(HuggingFacePrompt.class, model.text());
    long space = prompt.tokenId("\u2581").orElseThrow();
    long[] ids = prompt.promptIds("Grasp the red block");
    assertEquals(1, ids[0], "<s> from the tokenizer's post-processor");
    assertEquals(space, ids[ids.length - 1], "the lone \u2581 OpenVLA appends (its id 29871)");
    assertTrue(ids[ids.length - 2] != space, "appended once: " + Arrays.toString(ids));
    assertEquals("In: What action should the robot take to grasp the red block?\nOut:",
        prompt.promptText("Grasp the red block"), "the instruction lower-cased, as OpenVLA's predict_action does");
    assertEquals(prompt.promptText("grasp the red block"), prompt.decode(ids).strip());
    long newline = prompt.tokenId("<0x0A>").orElseThrow();
    assertTrue(Arrays.stream(ids).anyMatch(id -> id == newline), "the newline is a byte-fallback token, as in Llama");

    long[] padded = new long[24];
    model.text().encode("grasp the red block", padded, 0);
    assertArrayEquals(ids, Arrays.copyOf(padded, ids.length), "right-padded by default");
    long pad = prompt.tokenId("<PAD>").orElseThrow();
    assertEquals(620, pad);
    assertTrue(Arrays.stream(padded, ids.length, 24).allMatch(id -> id == pad));
    prompt.close();
  }

  @Test
  void aTemplateThatAlreadyEndsWithTheSuffixGetsItOnceAndLeftPaddingPutsPadsFirst() {
    ModelPackage model = ModelPackage.load(PackageCopies.llamaStyle(directory, 620, root -> {
      ObjectNode text = (ObjectNode) root.path("text");
      text.put("prompt", PackageCopies.OPENVLA_PROMPT + " ");
      text.put("padding", "left");
    }));
    HuggingFacePrompt prompt = (HuggingFacePrompt) model.text();
    long space = prompt.tokenId("\u2581").orElseThrow();
    long[] ids = prompt.promptIds("lift the block");
    assertEquals(space, ids[ids.length - 1]);
    assertTrue(ids[ids.length - 2] != space, Arrays.toString(ids));
    long[] padded = new long[24];
    model.text().encode("lift the block", padded, 0);
    assertArrayEquals(ids, Arrays.copyOfRange(padded, 24 - ids.length, 24));
    assertEquals(620, padded[0]);
    prompt.close();
  }

  @Test
  void aPromptLongerThanTheGraphTakesIsRefusedWithItsLength() {
    ModelPackage model = ModelPackage.load(PackageCopies.llamaStyle(directory, 620, root -> {}));
    String problem = model.text().problem("move to the red block and then move to the blue block please").orElseThrow();
    assertTrue(problem.contains("tokens (expected: at most 24, the model's max_prompt_tokens)"), problem);
    assertThrows(IllegalArgumentException.class, () -> model.text().encode("move ".repeat(30), new long[24], 0));
    model.text().close();
  }

  @Test
  void actionTokensCountedFromThePaddedLogitsWidthAreRefusedAtLoad() {
    // vllm-omni#6271: OpenVLA's logits are 32064 wide, its tokenizer has 32000 tokens; counting the
    // action tokens from 32064 shifts every bin by 64. Here: 640 wide, 620 tokens, a shift of 20.
    InvalidModelPackageException e = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.llamaStyle(directory, 640, root -> {})));
    assertTrue(e.getMessage().contains("action tokens 384..639 overlap the text vocabulary (620 tokens, 621 with"
        + " added tokens)"), e.getMessage());
    assertTrue(e.getMessage().contains("shifted by 20") && e.getMessage().contains("vllm-omni#6271"), e.getMessage());
  }

  @Test
  void actionTokensBeyondTheLogitsAreRefusedAtLoad() {
    InvalidModelPackageException e = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.llamaStyle(directory, 620, root -> root.put("vocab_size", 600))));
    assertTrue(e.getMessage().contains("action tokens reach 619 (expected: < vocab_size 600"), e.getMessage());
  }

  @Test
  void aSuffixOrPadTokenTheTokenizerLacksIsNamed() {
    InvalidModelPackageException e = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.llamaStyle(directory, 620,
            root -> ((ObjectNode) root.path("text")).putArray("suffix_tokens").add("<eot>"))));
    assertTrue(e.getMessage().contains("text.suffix_tokens: \"<eot>\" is not a token of"), e.getMessage());
  }

  @Test
  void aTemplateWithoutThePlaceholderIsRefused() {
    InvalidModelPackageException e = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.llamaStyle(directory, 620,
            root -> ((ObjectNode) root.path("text")).put("prompt", "In: What action should the robot take?"))));
    assertTrue(e.getMessage().contains("has 0 \"{instruction}\" (expected exactly one"), e.getMessage());
  }

  @Test
  void positionsFewerThanAPromptAndAWholeChunkAreRefusedAtLoad() {
    InvalidModelPackageException e = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.copy(directory,
            root -> ((ObjectNode) root.path("architecture")).put("max_positions", 60))));
    assertTrue(e.getMessage().contains("architecture.max_positions 60 is fewer than a whole chunk needs: prompt_length"
        + " 35 + 4 x 7 action tokens = 63"), e.getMessage());
  }

  @Test
  void aTokenizerNeedsFormatThree() {
    PackageCopies.shippedAsWordLevelTokenizer(directory);
    InvalidModelPackageException e = assertThrows(InvalidModelPackageException.class,
        () -> ModelPackage.load(PackageCopies.edit(directory, root -> root.put("format", ModelPackage.FORMAT_WORD_LIST))));
    assertTrue(e.getMessage().contains("text.tokenizer needs format \"vla-serve-model/3\""), e.getMessage());
  }
}
