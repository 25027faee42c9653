package io.vlaserve.policy.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A prompt built the way the model was trained: the instruction inside the package's template (e.g.
 * OpenVLA's {@code "In: What action should the robot take to {instruction}?\nOut:"}), tokenized by
 * the package's Hugging Face {@code tokenizer.json} (the Rust {@code tokenizers} library through
 * DJL), special tokens added by the tokenizer's post-processor, then the suffix tokens the model
 * expects after the prompt when the tokenizer did not already end with them (OpenVLA's
 * {@code 29871}, a lone {@code "▁"}, which serving stacks that skip it silently degrade on), then
 * padding to L on the declared side.
 *
 * <p>Prompts are cached per instruction (robots repeat their subgoals), so the native tokenizer
 * runs once per distinct instruction. Thread-safe.
 */
public final class HuggingFacePrompt implements PromptEncoder {
  /** Distinct instructions kept; the cache is emptied when it would grow past this. */
  private static final int CACHE_LIMIT = 4096;
  private static final String PLACEHOLDER = "{instruction}";
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** Where padding goes when a prompt is shorter than L. */
  public enum Padding {
    RIGHT,
    LEFT
  }

  private final HuggingFaceTokenizer tokenizer;
  private final String template;
  private final boolean lowercaseInstruction;
  private final boolean addSpecialTokens;
  private final long[] suffixIds;
  private final int maxTokens;
  private final long padId;
  private final Padding padding;
  private final Map<String, Integer> tokenIds;
  private final long unknownId;
  private final int baseVocabularySize;
  private final int totalVocabularySize;
  private final Map<String, Object> cache = new ConcurrentHashMap<>();

  private HuggingFacePrompt(HuggingFaceTokenizer tokenizer, String template, boolean lowercaseInstruction,
      boolean addSpecialTokens, long[] suffixIds, int maxTokens, long padId, Padding padding,
      Map<String, Integer> tokenIds, long unknownId, int baseVocabularySize, int totalVocabularySize) {
    this.tokenizer = tokenizer;
    this.template = template;
    this.lowercaseInstruction = lowercaseInstruction;
    this.addSpecialTokens = addSpecialTokens;
    this.suffixIds = suffixIds;
    this.maxTokens = maxTokens;
    this.padId = padId;
    this.padding = padding;
    this.tokenIds = tokenIds;
    this.unknownId = unknownId;
    this.baseVocabularySize = baseVocabularySize;
    this.totalVocabularySize = totalVocabularySize;
  }

  /**
   * Reads a /3 manifest's {@code text} object (docs/model-package.md) and the tokenizer file it names.
   *
   * @param tokenizerFile the package's {@code tokenizer.json}, already resolved inside the package
   */
  static HuggingFacePrompt fromManifest(JsonNode text, Path tokenizerFile, String source) {
    String template = requiredText(text, "prompt", source);
    int placeholders = template.split(java.util.regex.Pattern.quote(PLACEHOLDER), -1).length - 1;
    if (placeholders != 1) {
      throw new InvalidModelPackageException(source + ": text.prompt: \"" + template + "\" has " + placeholders
          + " \"" + PLACEHOLDER + "\" (expected exactly one, where the instruction goes)");
    }
    JsonNode max = text.get("max_prompt_tokens");
    if (max == null || !max.isIntegralNumber() || max.intValue() < 1) {
      throw new InvalidModelPackageException(source + ": text.max_prompt_tokens: " + max
          + " (expected: a positive integer, the graph's instruction_ids length L)");
    }
    Padding padding;
    try {
      padding = Padding.valueOf(text.path("padding").asString("right").toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new InvalidModelPackageException(source + ": text.padding: " + text.get("padding")
          + " (expected: \"right\" or \"left\")", e);
    }
    TokenTable table = TokenTable.read(tokenizerFile, source);
    long padId = table.id(requiredText(text, "pad_token", source), "text.pad_token", tokenizerFile, source);
    List<Long> suffix = new ArrayList<>();
    JsonNode suffixTokens = text.path("suffix_tokens");
    if (!suffixTokens.isMissingNode() && !suffixTokens.isArray()) {
      throw new InvalidModelPackageException(source + ": text.suffix_tokens: " + suffixTokens
          + " (expected: an array of token strings, e.g. [\"\u2581\"])");
    }
    for (JsonNode token : suffixTokens) {
      suffix.add(table.id(token.asString(), "text.suffix_tokens", tokenizerFile, source));
    }
    HuggingFaceTokenizer tokenizer;
    try {
      // Everything the prompt needs is explicit here: no truncation or padding by the library.
      tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile,
          Map.of("truncation", "false", "padding", "false", "addSpecialTokens",
              String.valueOf(text.path("add_special_tokens").asBoolean(true))));
    } catch (IOException | RuntimeException e) {
      throw new InvalidModelPackageException(source + ": " + tokenizerFile + ": the tokenizers library cannot load it ("
          + e.getMessage() + ")", e);
    }
    return new HuggingFacePrompt(tokenizer, template, text.path("lowercase_instruction").asBoolean(false),
        text.path("add_special_tokens").asBoolean(true), suffix.stream().mapToLong(Long::longValue).toArray(),
        max.intValue(), padId, padding, table.ids(), table.unknownId(), table.baseSize(), table.totalSize());
  }

  @Override
  public int maxTokens() {
    return maxTokens;
  }

  @Override
  public int baseVocabularySize() {
    return baseVocabularySize;
  }

  @Override
  public int totalVocabularySize() {
    return totalVocabularySize;
  }

  /** The token's id in the tokenizer's vocabulary, added tokens included; empty when it has none. */
  public Optional<Integer> tokenId(String token) {
    return Optional.ofNullable(tokenIds.get(token));
  }

  /** The prompt text the tokenizer sees for this instruction (the template filled in). */
  public String promptText(String instruction) {
    String stripped = instruction.strip();
    return template.replace(PLACEHOLDER, lowercaseInstruction ? stripped.toLowerCase(Locale.ROOT) : stripped);
  }

  /** The tokenizer's text for these ids, special tokens skipped: the round trip of {@link #promptIds}. */
  public String decode(long[] ids) {
    return tokenizer.decode(ids, true);
  }

  @Override
  public Optional<String> problem(String instruction) {
    Object cached = prompt(instruction);
    return cached instanceof String problem ? Optional.of(problem) : Optional.empty();
  }

  @Override
  public long[] promptIds(String instruction) {
    Object cached = prompt(instruction);
    if (cached instanceof String problem) {
      throw new IllegalArgumentException(problem);
    }
    return ((long[]) cached).clone();
  }

  @Override
  public void encode(String instruction, long[] out, int offset) {
    Object cached = prompt(instruction);
    if (cached instanceof String problem) {
      throw new IllegalArgumentException(problem);
    }
    long[] ids = (long[]) cached;
    int pad = maxTokens - ids.length;
    if (padding == Padding.RIGHT) {
      System.arraycopy(ids, 0, out, offset, ids.length);
      Arrays.fill(out, offset + ids.length, offset + maxTokens, padId);
    } else {
      Arrays.fill(out, offset, offset + pad, padId);
      System.arraycopy(ids, 0, out, offset + pad, ids.length);
    }
  }

  @Override
  public void close() {
    tokenizer.close();
  }

  /** The prompt's ids ({@code long[]}) or why there are none ({@code String}), cached. */
  private Object prompt(String instruction) {
    Object cached = cache.get(instruction);
    if (cached != null) {
      return cached;
    }
    Object computed = tokenize(instruction);
    if (cache.size() >= CACHE_LIMIT) {
      cache.clear(); // a flood of distinct instructions costs tokenizer calls, never memory
    }
    cache.put(instruction, computed);
    return computed;
  }

  private Object tokenize(String instruction) {
    long[] ids = tokenizer.encode(promptText(instruction), addSpecialTokens, false).getIds();
    if (!endsWith(ids, suffixIds)) {
      long[] withSuffix = Arrays.copyOf(ids, ids.length + suffixIds.length);
      System.arraycopy(suffixIds, 0, withSuffix, ids.length, suffixIds.length);
      ids = withSuffix;
    }
    if (ids.length > maxTokens) {
      return "instruction \"" + instruction + "\": a prompt of " + ids.length + " tokens (expected: at most "
          + maxTokens + ", the model's max_prompt_tokens)";
    }
    if (unknownId >= 0) {
      for (long id : ids) {
        if (id == unknownId) {
          return "instruction \"" + instruction + "\" has text the model's tokenizer cannot represent (it maps to"
              + " the unknown token)";
        }
      }
    }
    return ids;
  }

  private static boolean endsWith(long[] ids, long[] suffix) {
    if (suffix.length > ids.length) {
      return false;
    }
    for (int i = 0; i < suffix.length; i++) {
      if (ids[ids.length - suffix.length + i] != suffix[i]) {
        return false;
      }
    }
    return true;
  }

  private static String requiredText(JsonNode node, String field, String source) {
    JsonNode value = node.get(field);
    if (value == null || !value.isString() || value.stringValue().isEmpty()) {
      throw new InvalidModelPackageException(source + ": text." + field + ": " + value + " (expected: a string)");
    }
    return value.stringValue();
  }

  /**
   * The token strings and ids of a {@code tokenizer.json}, read directly (the native library does not
   * expose them): the model's vocabulary (its size is Hugging Face's {@code tokenizer.vocab_size})
   * and the added tokens, which may extend it (OpenVLA's {@code <PAD>} is id 32000 of a 32000-token
   * Llama vocabulary).
   */
  record TokenTable(Map<String, Integer> ids, int baseSize, int totalSize, long unknownId) {

    static TokenTable read(Path file, String source) {
      JsonNode root;
      try {
        root = JSON.readTree(Files.readString(file));
      } catch (IOException | JacksonException e) {
        throw new InvalidModelPackageException(source + ": " + file + ": not readable JSON (" + e.getMessage() + ")", e);
      }
      JsonNode model = root.path("model");
      JsonNode vocab = model.path("vocab");
      Map<String, Integer> ids = new HashMap<>();
      int baseSize;
      if (vocab.isObject()) { // BPE, WordLevel, WordPiece: {"token": id}
        vocab.properties().forEach(entry -> ids.put(entry.getKey(), entry.getValue().asInt()));
        baseSize = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
      } else if (vocab.isArray()) { // Unigram: [["token", score], ...]
        for (int i = 0; i < vocab.size(); i++) {
          ids.putIfAbsent(vocab.get(i).path(0).asString(), i);
        }
        baseSize = vocab.size();
      } else {
        throw new InvalidModelPackageException(source + ": " + file + ": model.vocab missing (expected a Hugging Face"
            + " tokenizer.json with a BPE, WordLevel, WordPiece or Unigram model)");
      }
      int totalSize = baseSize;
      for (JsonNode added : root.path("added_tokens")) {
        ids.put(added.path("content").asString(), added.path("id").asInt());
        totalSize = Math.max(totalSize, added.path("id").asInt() + 1);
      }
      JsonNode unknown = model.get("unk_token");
      long unknownId = unknown != null && unknown.isString() && ids.containsKey(unknown.stringValue())
          ? ids.get(unknown.stringValue()) : model.path("unk_id").asLong(-1);
      return new TokenTable(Map.copyOf(ids), baseSize, totalSize, unknownId);
    }

    long id(String token, String field, Path file, String source) {
      Integer id = ids.get(token);
      if (id == null) {
        throw new InvalidModelPackageException(source + ": " + field + ": \"" + token + "\" is not a token of " + file);
      }
      return id;
    }
  }
}
