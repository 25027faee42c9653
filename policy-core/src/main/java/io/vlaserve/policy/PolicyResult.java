package io.vlaserve.policy;

/**
 * An action chunk and how it was produced.
 *
 * @param actions {@code chunkLength} actions in the profile's units, step-major
 * @param tokens the action tokens, step-major
 * @param logProbabilities each token's log probability under the distribution it was drawn from
 * @param prefillNanos prompt forward pass (this request's share of a batched run is the whole run)
 * @param decodeNanos autoregressive decoding
 * @param postprocessNanos token to action conversion
 */
public record PolicyResult(
    double[][] actions, int[] tokens, float[] logProbabilities, long prefillNanos, long decodeNanos, long postprocessNanos) {}
