package io.vlaserve.policy.model;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * The model's word vocabulary: instructions are lower-cased, split on whitespace and mapped to ids
 * after {@code <bos>}, right-padded with {@code <pad>} to a fixed length. Immutable, thread-safe.
 */
public final class TextVocabulary {
  private final List<String> words;
  private final Map<String, Integer> ids = new HashMap<>();
  private final int maxTokens;
  private final int padId;
  private final int bosId;
  private final int unkId;

  public TextVocabulary(List<String> words, int maxTokens, int padId, int bosId, int unkId) {
    this.words = List.copyOf(words);
    for (int i = 0; i < words.size(); i++) {
      ids.putIfAbsent(words.get(i), i);
    }
    this.maxTokens = maxTokens;
    this.padId = padId;
    this.bosId = bosId;
    this.unkId = unkId;
  }

  static TextVocabulary fromManifest(JsonNode text, String source) {
    JsonNode vocab = text.get("vocab");
    JsonNode max = text.get("max_instruction_tokens");
    if (vocab == null || !vocab.isArray() || vocab.isEmpty() || max == null || !max.isIntegralNumber()) {
      throw new InvalidModelPackageException(source + ": text: expected {\"vocab\": [...], \"max_instruction_tokens\": L, ...}");
    }
    List<String> words = new java.util.ArrayList<>();
    vocab.forEach(w -> words.add(w.asString()));
    return new TextVocabulary(words, max.intValue(), text.path("pad_id").asInt(0), text.path("bos_id").asInt(1),
        text.path("unk_id").asInt(3));
  }

  /** Token slots per instruction (L), including {@code <bos>}. */
  public int maxTokens() {
    return maxTokens;
  }

  public int size() {
    return words.size();
  }

  /**
   * Writes the ids of {@code instruction} into {@code out[offset .. offset + L)}.
   *
   * @return the number of words that were not in the vocabulary (mapped to {@code <unk>})
   * @throws IllegalArgumentException if the instruction has more than L - 1 words
   */
  public int encode(String instruction, long[] out, int offset) {
    String[] parts = words(instruction);
    int unknown = 0;
    out[offset] = bosId;
    for (int i = 0; i < maxTokens - 1; i++) {
      if (i < parts.length && !parts[i].isEmpty()) {
        Integer id = ids.get(parts[i]);
        if (id == null) {
          unknown++;
        }
        out[offset + 1 + i] = id == null ? unkId : id;
      } else {
        out[offset + 1 + i] = padId;
      }
    }
    return unknown;
  }

  /**
   * Returns how many words of {@code instruction} are not in the vocabulary, writing nothing.
   *
   * @throws IllegalArgumentException if the instruction has more than L - 1 words
   */
  public int unknownWords(String instruction) {
    int unknown = 0;
    for (String word : words(instruction)) {
      if (!word.isEmpty() && !ids.containsKey(word)) {
        unknown++;
      }
    }
    return unknown;
  }

  private String[] words(String instruction) {
    String[] parts = instruction.strip().toLowerCase(Locale.ROOT).split("\\s+");
    if (parts.length > maxTokens - 1) {
      throw new IllegalArgumentException("instruction \"" + instruction + "\": " + parts.length
          + " words (expected: at most " + (maxTokens - 1) + ")");
    }
    return parts;
  }
}
