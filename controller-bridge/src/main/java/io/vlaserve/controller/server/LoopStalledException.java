package io.vlaserve.controller.server;

/**
 * A command (Halt, Resume) that the robot's control loop did not apply in time: the loop is stalled
 * or stopped. Becomes UNAVAILABLE, so a caller is never told a halt is in force when it is not.
 */
final class LoopStalledException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  LoopStalledException(String message) {
    super(message);
  }
}
