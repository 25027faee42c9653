/**
 * policy-service: VLA inference behind {@code vla.policy.v1.PolicyService}.
 *
 * <p>Skeleton. The contract is final in {@code proto/src/main/proto/vla/policy/v1/policy.proto};
 * the engines (ONNX Runtime, TensorRT), masked KV-cache decoding and the Spring Boot app arrive
 * with the policy-service core issue, continuous batching with the policy-at-scale issue.
 */
package io.vlaserve.policy.server;
