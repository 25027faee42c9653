package io.vlaserve.policy.engine;

/**
 * The prompts of a batch, each array holding its sequences back to back.
 *
 * @param size sequences in the batch (B)
 * @param images {@code B * H * W * 3} RGB bytes at the model's input size
 * @param instructionIds {@code B * L} word ids ({@code <bos>} first, right-padded)
 * @param proprio {@code B * P} raw proprioception
 */
public record PromptBatch(int size, byte[] images, long[] instructionIds, float[] proprio) {}
