package io.vlaserve.policy.engine;

/** An inference engine failed to load or to run a graph. */
public class EngineException extends RuntimeException {
  public EngineException(String message, Throwable cause) {
    super(message, cause);
  }

  public EngineException(String message) {
    super(message);
  }
}
