package io.vlaserve.planner.session;

import io.vlaserve.planner.PlannedSubgoal;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a session needs to go on at another gateway replica: the task, the plan and the progress
 * through it, with no link to a service and no reading of a clock. Times are durations, never
 * {@code nanoTime} values, whose origin differs from one JVM to the next.
 *
 * <p>Made by {@link SessionMachine#snapshot}, turned back into a machine by {@link
 * SessionMachine#restore}, carried in bytes by {@link SessionSnapshotCodec}. Immutable.
 *
 * @param sessionId the gateway's id for the session, e.g. "sess-7f3a"
 * @param robotId the robot the session belongs to
 * @param connectionEpoch counts the robot's connections to the session: 0 for the first, one more
 *     at every resume; >= 0
 * @param phase {@link SessionMachine.Phase#RUNNING} or {@link SessionMachine.Phase#REPLANNING}
 * @param task the task in plain language
 * @param scene the scene description, "" if none
 * @param skills the policy's skills, for replans
 * @param stepPeriod the policy's step period; > 0
 * @param revision the plan's revision, from 0
 * @param plan the current plan's subgoals, at least one
 * @param subgoalIndex the running subgoal (the failed one while replanning) in {@code plan}
 * @param completed subgoals done so far, in order
 * @param replansUsed replans asked for so far; >= 0
 * @param lastSubgoalId the highest subgoal id given so far, so new plans keep ids unique
 * @param attempt the running subgoal's attempt, from 1
 * @param instructionEpoch the instruction epoch, see {@link SessionMachine}
 * @param halted whether the robot was halted at its request
 * @param lastGripper the robot's last gripper opening (0 closed .. 1 open), NaN if unknown
 * @param budgetLeft what was left of the running subgoal's time budget (halts not counted); >= 0,
 *     zero once it ran out
 * @param elapsed how long the session had run, for its final report; >= 0
 * @param failureReason while replanning, how the subgoal failed (e.g. "timed out: ..."); "" else
 * @param traceParent the session's trace as a W3C {@code traceparent}
 *     ({@code 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>}), so that a resumed session
 *     continues it; "" if the session has none
 * @param bridge the controller bridge that drove the robot (its gRPC target as the gateways are
 *     configured), so that the replica resuming the session opens execution there without asking
 *     every bridge first; "" if unknown. Only a hint: a replica that has no such bridge, or whose
 *     bridge does not know the robot, looks for it
 */
public record SessionSnapshot(
    String sessionId,
    String robotId,
    long connectionEpoch,
    SessionMachine.Phase phase,
    String task,
    String scene,
    List<String> skills,
    Duration stepPeriod,
    int revision,
    List<SessionSubgoal> plan,
    int subgoalIndex,
    List<PlannedSubgoal> completed,
    int replansUsed,
    int lastSubgoalId,
    int attempt,
    int instructionEpoch,
    boolean halted,
    double lastGripper,
    Duration budgetLeft,
    Duration elapsed,
    String failureReason,
    String traceParent,
    String bridge) {

  /** The longest bridge hint, in characters. */
  public static final int MAX_BRIDGE_CHARS = 512;

  private static final java.util.regex.Pattern TRACE_PARENT =
      java.util.regex.Pattern.compile("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");

  public SessionSnapshot {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(robotId, "robotId");
    Objects.requireNonNull(phase, "phase");
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(scene, "scene");
    skills = List.copyOf(skills);
    Objects.requireNonNull(stepPeriod, "stepPeriod");
    plan = List.copyOf(plan);
    completed = List.copyOf(completed);
    Objects.requireNonNull(budgetLeft, "budgetLeft");
    Objects.requireNonNull(elapsed, "elapsed");
    Objects.requireNonNull(failureReason, "failureReason");
    Objects.requireNonNull(traceParent, "traceParent");
    Objects.requireNonNull(bridge, "bridge");
    if (bridge.length() > MAX_BRIDGE_CHARS) {
      throw new IllegalArgumentException("bridge: " + bridge.length() + " characters (expected <= " + MAX_BRIDGE_CHARS
          + ")");
    }
    if (!traceParent.isEmpty() && !TRACE_PARENT.matcher(traceParent).matches()) {
      throw new IllegalArgumentException("traceParent: '" + traceParent + "' (expected \"\" or a W3C traceparent,"
          + " 00-<32 hex>-<16 hex>-<2 hex>)");
    }
    if (phase != SessionMachine.Phase.RUNNING && phase != SessionMachine.Phase.REPLANNING) {
      throw new IllegalArgumentException("phase: " + phase + " (expected RUNNING or REPLANNING)");
    }
    if (connectionEpoch < 0) {
      throw new IllegalArgumentException("connectionEpoch: " + connectionEpoch + " (expected >= 0)");
    }
    if (stepPeriod.isNegative() || stepPeriod.isZero()) {
      throw new IllegalArgumentException("stepPeriod: " + stepPeriod + " (expected > 0)");
    }
    if (revision < 0) {
      throw new IllegalArgumentException("revision: " + revision + " (expected >= 0)");
    }
    if (plan.isEmpty()) {
      throw new IllegalArgumentException("plan: no subgoal (expected at least one)");
    }
    if (subgoalIndex < 0 || subgoalIndex >= plan.size()) {
      throw new IllegalArgumentException("subgoalIndex: " + subgoalIndex + " (expected 0.." + (plan.size() - 1) + ")");
    }
    if (replansUsed < 0) {
      throw new IllegalArgumentException("replansUsed: " + replansUsed + " (expected >= 0)");
    }
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt: " + attempt + " (expected >= 1)");
    }
    if (budgetLeft.isNegative()) {
      throw new IllegalArgumentException("budgetLeft: " + budgetLeft + " (expected >= 0)");
    }
    if (elapsed.isNegative()) {
      throw new IllegalArgumentException("elapsed: " + elapsed + " (expected >= 0)");
    }
  }

  /** A snapshot without a bridge hint. */
  public SessionSnapshot(String sessionId, String robotId, long connectionEpoch, SessionMachine.Phase phase,
      String task, String scene, List<String> skills, Duration stepPeriod, int revision, List<SessionSubgoal> plan,
      int subgoalIndex, List<PlannedSubgoal> completed, int replansUsed, int lastSubgoalId, int attempt,
      int instructionEpoch, boolean halted, double lastGripper, Duration budgetLeft, Duration elapsed,
      String failureReason, String traceParent) {
    this(sessionId, robotId, connectionEpoch, phase, task, scene, skills, stepPeriod, revision, plan, subgoalIndex,
        completed, replansUsed, lastSubgoalId, attempt, instructionEpoch, halted, lastGripper, budgetLeft, elapsed,
        failureReason, traceParent, "");
  }

  /** This snapshot with {@code hint} as its bridge. */
  public SessionSnapshot withBridge(String hint) {
    return new SessionSnapshot(sessionId, robotId, connectionEpoch, phase, task, scene, skills, stepPeriod, revision,
        plan, subgoalIndex, completed, replansUsed, lastSubgoalId, attempt, instructionEpoch, halted, lastGripper,
        budgetLeft, elapsed, failureReason, traceParent, hint);
  }

  /** The running subgoal (the failed one while replanning). */
  public SessionSubgoal subgoal() {
    return plan.get(subgoalIndex);
  }
}
