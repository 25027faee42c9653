package io.vlaserve.policy.engine;

/**
 * The prompts of a batch, each array holding its sequences back to back.
 *
 * @param size sequences in the batch (B)
 * @param images each sequence's frames back to back: every camera's {@code H * W * 3} RGB bytes at its input
 *     size, in the model's camera order ({@link io.vlaserve.policy.model.ModelPackage#imageBytes} per sequence)
 * @param instructionIds {@code B * L} prompt ids, padded
 * @param proprio {@code B * P} raw proprioception
 */
public record PromptBatch(int size, byte[] images, long[] instructionIds, float[] proprio) {}
