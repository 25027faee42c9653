package io.vlaserve.policy.batching;

import io.vlaserve.policy.PolicyResult;

/**
 * A request's result and how the scheduler ran it.
 *
 * @param result the action chunk (its prefill time is the whole batched prefill; its decode time runs from
 *     the end of prefill to the last token, including steps shared with other sequences)
 * @param queueNanos from submission to admission into a batch
 * @param engineNanos time inside graph runs (prefill and every decode step) this request took part in
 * @param largestBatch the most sequences it shared a graph run with, itself included
 */
public record ScheduledResult(PolicyResult result, long queueNanos, long engineNanos, int largestBatch) {}
