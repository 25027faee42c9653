package io.vlaserve.planner;

/**
 * Turns a task into subgoals the policy knows, and replans after a failure. Implementations are
 * thread-safe; a call may block (an LLM planner makes HTTP requests), so callers keep it off
 * latency-critical threads.
 */
public interface Planner {
  /** The planner's name as reported in plans, e.g. "embedded" or "openai:gpt-4o-mini". */
  String name();

  /**
   * Plans the subgoals still to run.
   *
   * @throws PlanningException if no valid plan could be made; its kind says whether to retry
   */
  PlannedTask plan(PlanningRequest request) throws PlanningException;
}
