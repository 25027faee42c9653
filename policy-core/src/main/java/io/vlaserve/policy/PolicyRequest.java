package io.vlaserve.policy;

import io.vlaserve.policy.decode.SamplingParams;

/**
 * One observation to act on, already at the model's input format.
 *
 * @param image RGB bytes, {@code height * width * 3}, at the model's input size
 * @param instruction the subgoal, in the model's skill language
 * @param proprio raw proprioception in the model's order
 * @param chunkLength steps wanted, 1..the model's chunk length
 * @param sampling how tokens are chosen
 */
public record PolicyRequest(byte[] image, String instruction, float[] proprio, int chunkLength, SamplingParams sampling) {}
