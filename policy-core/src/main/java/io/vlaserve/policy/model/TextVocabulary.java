package io.vlaserve.policy.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * The model's word vocabulary: instructions are lower-cased, split on whitespace and mapped to ids
 * after {@code <bos>}, right-padded with {@code <pad>} to a fixed length. Immutable, thread-safe.
 */
public final class TextVocabulary implements PromptEncoder {
  private final List<String> words;
  private final Map<String, Integer> ids = new HashMap<>();
  private final int maxTokens;
  private final int padId;
  private final int bosId;

  public TextVocabulary(List<String> words, int maxTokens, int padId, int bosId) {
    this.words = List.copyOf(words);
    for (int i = 0; i < words.size(); i++) {
      ids.putIfAbsent(words.get(i), i);
    }
    this.maxTokens = maxTokens;
    this.padId = padId;
    this.bosId = bosId;
  }

  static TextVocabulary fromManifest(JsonNode text, String source) {
    JsonNode vocab = text.get("vocab");
    JsonNode max = text.get("max_instruction_tokens");
    if (vocab == null || !vocab.isArray() || vocab.isEmpty() || max == null || !max.isIntegralNumber()) {
      throw new InvalidModelPackageException(source + ": text: expected {\"vocab\": [...], \"max_instruction_tokens\": L, ...}");
    }
    List<String> words = new java.util.ArrayList<>();
    vocab.forEach(w -> words.add(w.asString()));
    return new TextVocabulary(words, max.intValue(), text.path("pad_id").asInt(0), text.path("bos_id").asInt(1));
  }

  /** Token slots per instruction (L), including {@code <bos>}. */
  @Override
  public int maxTokens() {
    return maxTokens;
  }

  public int size() {
    return words.size();
  }

  @Override
  public int baseVocabularySize() {
    return words.size();
  }

  @Override
  public int totalVocabularySize() {
    return words.size();
  }

  @Override
  public Optional<String> problem(String instruction) {
    String[] parts = split(instruction);
    if (parts.length > maxTokens - 1) {
      return Optional.of("instruction \"" + instruction + "\": " + parts.length + " words (expected: at most "
          + (maxTokens - 1) + ")");
    }
    List<String> unknown = new ArrayList<>();
    for (String word : parts) {
      if (!word.isEmpty() && !ids.containsKey(word)) {
        unknown.add(word);
      }
    }
    if (!unknown.isEmpty()) {
      return Optional.of("instruction \"" + instruction + "\" has " + unknown.size()
          + " word(s) the model does not know: " + String.join(", ", unknown));
    }
    return Optional.empty();
  }

  @Override
  public long[] promptIds(String instruction) {
    requireReadable(instruction);
    String[] parts = split(instruction);
    long[] out = new long[1 + parts.length];
    out[0] = bosId;
    for (int i = 0; i < parts.length; i++) {
      out[1 + i] = ids.get(parts[i]);
    }
    return out;
  }

  /** Writes {@code <bos>}, the words' ids and {@code <pad>}s into {@code out[offset .. offset + L)}. */
  @Override
  public void encode(String instruction, long[] out, int offset) {
    long[] prompt = promptIds(instruction);
    System.arraycopy(prompt, 0, out, offset, prompt.length);
    Arrays.fill(out, offset + prompt.length, offset + maxTokens, padId);
  }

  private void requireReadable(String instruction) {
    problem(instruction).ifPresent(problem -> {
      throw new IllegalArgumentException(problem);
    });
  }

  private static String[] split(String instruction) {
    String stripped = instruction.strip().toLowerCase(Locale.ROOT);
    return stripped.isEmpty() ? new String[0] : stripped.split("\\s+");
  }
}
