package io.vlaserve.policy.model;

import java.util.Optional;

/**
 * Turns an instruction into the {@code L} prompt ids the prefill graph reads as
 * {@code instruction_ids}: either the word list of the simple format ({@link TextVocabulary}) or a
 * Hugging Face tokenizer with the model's prompt template ({@link HuggingFacePrompt}). Thread-safe.
 */
public sealed interface PromptEncoder extends AutoCloseable permits TextVocabulary, HuggingFacePrompt {

  /** Token slots per prompt (L), special tokens included. */
  int maxTokens();

  /**
   * Ids {@code [0, baseVocabularySize)} are the text vocabulary proper (Hugging Face's
   * {@code tokenizer.vocab_size}); OpenVLA's action tokens are its last 256 ids.
   */
  int baseVocabularySize();

  /** One past the largest id the encoder can write, added tokens (such as a pad token) included. */
  int totalVocabularySize();

  /** Why the model cannot read this instruction, in words a person can act on; empty when it can. */
  Optional<String> problem(String instruction);

  /**
   * The prompt's ids before padding, special tokens included.
   *
   * @throws IllegalArgumentException with {@link #problem}'s words when the instruction has one
   */
  long[] promptIds(String instruction);

  /**
   * Writes the prompt's ids, padded to {@link #maxTokens}, into {@code out[offset .. offset + L)}.
   *
   * @throws IllegalArgumentException with {@link #problem}'s words when the instruction has one
   */
  void encode(String instruction, long[] out, int offset);

  /** Releases native resources; the encoder must not be used afterwards. */
  @Override
  default void close() {}
}
