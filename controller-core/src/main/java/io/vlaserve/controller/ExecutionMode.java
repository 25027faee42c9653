package io.vlaserve.controller;

/** What a robot's controller is doing; mirrors {@code vla.controller.v1.ExecutionMode}. */
public enum ExecutionMode {
  /** No chunk received yet (or since Resume); holding the current pose. */
  IDLE,
  /** Following a chunk, or bridging the gap after one within the watchdog timeout. */
  EXECUTING,
  /** The chunk ran out and the watchdog brought the robot to a hold; a fresh chunk resumes. */
  HOLDING,
  /** Halted by a request, a safety limit in halt mode, a non-finite value or link loss; Resume required. */
  HALTED,
  /** Emergency stop: no setpoints are sent and the robot holds on its own; Resume with confirmation required. */
  ESTOPPED
}
