package io.vlaserve.policy.decode;

/**
 * The model produced logits from which no valid action token can be chosen: NaN or +Inf in the
 * allowed slice, or every allowed token at -Inf. Never answered with a made-up action.
 */
public class DecodingException extends RuntimeException {
  public DecodingException(String message) {
    super(message);
  }
}
