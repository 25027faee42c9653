package io.vlaserve.planner.session;

import io.vlaserve.planner.PlannedSubgoal;
import io.vlaserve.planner.PlannedTask;
import io.vlaserve.planner.PlanningRequest;
import io.vlaserve.planner.SubgoalFailure;
import io.vlaserve.planner.session.SessionEffect.Ended;
import io.vlaserve.planner.session.SessionEffect.Hold;
import io.vlaserve.planner.session.SessionEffect.Instruct;
import io.vlaserve.planner.session.SessionEffect.ExecutionRestored;
import io.vlaserve.planner.session.SessionEffect.OpenExecution;
import io.vlaserve.planner.session.SessionEffect.OpenPolicy;
import io.vlaserve.planner.session.SessionEffect.PolicyLost;
import io.vlaserve.planner.session.SessionEffect.PolicyRestored;
import io.vlaserve.planner.session.SessionEffect.Replan;
import io.vlaserve.planner.session.SessionEffect.ReportSubgoal;
import io.vlaserve.planner.session.SessionEffect.SendPlan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * One robot session's progress through its task, without transport: the plan, the subgoal
 * running, its time budget, replans, halts, whether policy-service is there, and how the session
 * ended. Each event (a robot's signal, a plan, a lost stream, a timer tick) is a method that
 * returns the {@link SessionEffect}s its adapter carries out, in order; queries tell the adapter
 * what to do with observations and chunks.
 *
 * <p>Life of a session: {@code OPENING} until {@link #started} gives it its first plan, then
 * {@code RUNNING} a subgoal at a time. A failed or timed-out subgoal is replanned ({@code
 * REPLANNING}) while replans are left, else the session fails. {@code ENDED} is final: every event
 * after it is ignored (it returns no effect).
 *
 * <p><b>Instruction epochs.</b> The epoch counts instruction changes (a subgoal starting, a
 * failed subgoal's chunks being abandoned). An adapter tags each observation it sends to the
 * policy with the epoch then; a chunk answered for an older epoch belongs to a subgoal that is
 * over and is not executed ({@link #executes}).
 *
 * <p><b>Time</b> comes from the injected clock (monotonic nanoseconds, like {@link System#nanoTime})
 * and is read once per event. Nothing here waits or schedules: the adapter calls {@link #tick}
 * every few tens of milliseconds, and budgets and failover run out at the first tick past them.
 *
 * <p><b>Resuming elsewhere.</b> A running or replanning session can be {@linkplain #snapshot
 * snapshotted} and {@linkplain #restore restored} on another gateway replica, whose clock has
 * another origin: the snapshot keeps what is left of the budget, not when it runs out.
 *
 * <p>Not thread-safe: the adapter calls it under its session's lock.
 */
public final class SessionMachine {
  /**
   * A reconnect to policy-service waits this long after a failed attempt; a failover that has not
   * got ready this long after the loss tells the robot to hold.
   */
  static final Duration POLICY_RECONNECT_DELAY = Duration.ofMillis(200);

  /** Where a session is in its life. */
  public enum Phase {
    /** Admitting the robot, asking policy-service for its skills and planning the task. */
    OPENING,
    /** Running a subgoal of the current plan. */
    RUNNING,
    /** A subgoal failed; a new plan is being made. */
    REPLANNING,
    /** Over; see {@link #ending()}. */
    ENDED
  }

  /** Whether the bridge held the robot when the session started, which then waits for the robot's resume. */
  public enum BridgeHold {
    NONE,
    HALTED,
    E_STOPPED
  }

  private final SessionSettings settings;
  private final LongSupplier nanoTime;
  private final long startedNanos;

  // What a resumed session would need: the task, the plan and the progress through it.
  private Phase phase = Phase.OPENING;
  private String robotId = "?";
  private String task = "";
  private String scene = "";
  private List<String> skills = List.of();
  private Duration stepPeriod;
  private int revision = -1;
  private List<SessionSubgoal> plan = List.of();
  private int subgoalIndex = -1;
  private final List<PlannedSubgoal> completed = new ArrayList<>();
  private int replans;
  private int lastSubgoalId;
  private int attempt;
  private int instructionEpoch;
  /** When the running subgoal's budget runs out; a halt moves it on by the halt's length at the resume. */
  private long budgetDeadlineNanos;
  private boolean halted;
  private long haltedSinceNanos;
  private double lastGripper = Double.NaN;
  private SessionEnding ending;

  // The links to the services, which a resumed session opens anew.
  private boolean executionOpen;
  private boolean policyOpen;
  private boolean policyLost;
  private long policyLostSinceNanos;
  private String policyLostCause = "";
  private long nextPolicyAttemptNanos;
  /** Whether the robot was told to hold for the current loss (only once a failover did not come at once). */
  private boolean policyHoldNotified;
  // The robot's bridge went away: the session holds and opens execution again, there or elsewhere.
  private boolean bridgeLost;
  private long bridgeLostSinceNanos;
  private String bridgeLostCause = "";
  private long nextExecutionAttemptNanos;
  /** Why the replan under way was asked for: the next plan's reason. */
  private String replanReason = "";
  /** How the subgoal being replanned failed, which a snapshot keeps to ask for the replan again. */
  private String failureReason = "";

  /**
   * @param nanoTime monotonic time in nanoseconds, arbitrary origin; the session starts now
   */
  public SessionMachine(SessionSettings settings, LongSupplier nanoTime) {
    this(settings, nanoTime, Duration.ZERO);
  }

  private SessionMachine(SessionSettings settings, LongSupplier nanoTime, Duration elapsed) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.startedNanos = nanoTime.getAsLong() - elapsed.toNanos();
  }

  // ------------------------------------------------------------------ resuming

  /**
   * A restored session and what its adapter does to link it to the services again.
   *
   * @param effects in order: open execution (unless the robot was halted: then it waits for the
   *     robot's resume, as at a start), tell a halted robot how to go on, open the policy session
   *     with the running instruction, and for a session that was replanning, ask for the replan again
   */
  public record Restored(SessionMachine machine, List<SessionEffect> effects) {
    public Restored {
      Objects.requireNonNull(machine, "machine");
      effects = List.copyOf(effects);
    }
  }

  /**
   * What another replica needs to go on with this session, or empty while it cannot go on
   * elsewhere: before its first plan (there is nothing to resume; the robot opens anew) or once it
   * has ended.
   *
   * @param sessionId the gateway's id for the session
   * @param connectionEpoch the robot's connection to the session this snapshot is for, from 0
   */
  public Optional<SessionSnapshot> snapshot(String sessionId, long connectionEpoch, String traceParent) {
    if (phase != Phase.RUNNING && phase != Phase.REPLANNING) {
      return Optional.empty();
    }
    long now = nanoTime.getAsLong();
    // A halted robot's budget stands still since its halt.
    long budgetLeft = budgetDeadlineNanos - (halted ? haltedSinceNanos : now);
    return Optional.of(new SessionSnapshot(sessionId, robotId, connectionEpoch, phase, task, scene, skills, stepPeriod,
        revision, plan, subgoalIndex, completed, replans, lastSubgoalId, attempt, instructionEpoch, halted, lastGripper,
        Duration.ofNanos(Math.max(0, budgetLeft)), Duration.ofNanos(now - startedNanos),
        phase == Phase.REPLANNING ? failureReason : "", traceParent));
  }

  /**
   * The session {@code snapshot} was taken of, going on now on {@code nanoTime}: the same subgoal
   * with what was left of its budget, or the same replan asked for again. No plan is made and no
   * subgoal restarts; only the links to the services are opened anew (see {@link Restored}).
   *
   * @param nanoTime this replica's monotonic clock; the snapshot's durations count from now
   */
  public static Restored restore(SessionSnapshot snapshot, SessionSettings settings, LongSupplier nanoTime) {
    Objects.requireNonNull(snapshot, "snapshot");
    SessionMachine machine = new SessionMachine(settings, nanoTime, snapshot.elapsed());
    long now = nanoTime.getAsLong();
    machine.robotId = snapshot.robotId();
    machine.task = snapshot.task();
    machine.scene = snapshot.scene();
    machine.skills = snapshot.skills();
    machine.stepPeriod = snapshot.stepPeriod();
    machine.revision = snapshot.revision();
    machine.plan = snapshot.plan();
    machine.subgoalIndex = snapshot.subgoalIndex();
    machine.completed.addAll(snapshot.completed());
    machine.replans = snapshot.replansUsed();
    machine.lastSubgoalId = snapshot.lastSubgoalId();
    machine.attempt = snapshot.attempt();
    machine.instructionEpoch = snapshot.instructionEpoch();
    machine.lastGripper = snapshot.lastGripper();
    machine.budgetDeadlineNanos = now + snapshot.budgetLeft().toNanos();
    machine.phase = snapshot.phase();

    List<SessionEffect> effects = new ArrayList<>(3);
    if (snapshot.halted()) {
      machine.halted = true;
      machine.haltedSinceNanos = now;
      effects.add(new Hold("robot " + machine.robotId + " was halted when its session was resumed; once the cell is"
          + " safe, send `resume` and the task goes on"));
    } else {
      machine.executionOpen = true;
      effects.add(new OpenExecution());
    }
    machine.policyOpen = true;
    effects.add(new OpenPolicy(machine.instruction()));
    if (machine.phase == Phase.REPLANNING) {
      SessionSubgoal failed = machine.current();
      machine.failureReason = snapshot.failureReason();
      machine.replanReason = replanReason(failed, machine.failureReason);
      effects.add(machine.replanRequest(failed, machine.failureReason));
    }
    return new Restored(machine, effects);
  }

  // ------------------------------------------------------------------ opening

  /** The robot was admitted with its task; planning starts. */
  public void admitted(String robotId, String task, String scene) {
    this.robotId = Objects.requireNonNull(robotId, "robotId");
    this.task = Objects.requireNonNull(task, "task");
    this.scene = scene == null ? "" : scene;
  }

  /**
   * The first plan is made: the session runs its first subgoal.
   *
   * @param skills the policy's skills, for replans
   * @param stepPeriod the policy's step period; budgets count in it
   * @param bridge whether the bridge holds the robot; then nothing executes until the robot resumes
   */
  public List<SessionEffect> started(PlannedTask firstPlan, List<String> skills, Duration stepPeriod,
      BridgeHold bridge) {
    if (phase != Phase.OPENING) {
      return List.of();
    }
    if (stepPeriod.isNegative() || stepPeriod.isZero()) {
      throw new IllegalArgumentException("stepPeriod: " + stepPeriod + " (expected > 0)");
    }
    long now = nanoTime.getAsLong();
    this.skills = List.copyOf(skills);
    this.stepPeriod = stepPeriod;
    List<SessionEffect> effects = new ArrayList<>();
    if (bridge == BridgeHold.NONE) {
      executionOpen = true;
      effects.add(new OpenExecution());
    } else {
      halted = true;
      haltedSinceNanos = now;
    }
    adopt(firstPlan, "task start", now, effects);
    if (bridge != BridgeHold.NONE) {
      effects.add(new Hold("robot " + robotId + " is " + (bridge == BridgeHold.E_STOPPED ? "e-stopped" : "halted")
          + " at the controller bridge (see its safety events or log); once the cell is safe, send `resume` and the"
          + " task starts"));
    }
    policyOpen = true;
    effects.add(new OpenPolicy(instruction()));
    return effects;
  }

  /** The session was refused (a bad open, no policy, an unplannable task, a second open). */
  public void reject(String reason) {
    if (phase != Phase.ENDED) {
      phase = Phase.ENDED;
      ending = new SessionEnding(SessionEnding.Outcome.REJECTED, SessionEnding.Cause.UNSPECIFIED, reason);
    }
  }

  /**
   * The gateway is stopping.
   *
   * @return false if the session had ended already
   */
  public boolean shutDown() {
    if (phase == Phase.ENDED) {
      return false;
    }
    phase = Phase.ENDED;
    ending = new SessionEnding(SessionEnding.Outcome.SHUTDOWN, SessionEnding.Cause.UNSPECIFIED,
        "the gateway is shutting down");
    return true;
  }

  // ------------------------------------------------------------------ the robot

  /** The robot's gripper opening (0 closed .. 1 open), for the next replan. */
  public void gripperObserved(double opening) {
    lastGripper = opening;
  }

  /**
   * The robot reports success or failure of a subgoal; a signal for a subgoal that is not the
   * running one (an old one, an unknown id) is ignored.
   */
  public List<SessionEffect> signalled(String subgoalId, boolean succeeded, String detail) {
    if (phase != Phase.RUNNING || !current().id().equals(subgoalId)) {
      return List.of();
    }
    long now = nanoTime.getAsLong();
    List<SessionEffect> effects = new ArrayList<>();
    if (succeeded) {
      complete(detail, now, effects);
    } else {
      fail(ReportSubgoal.Status.FAILED, "the robot reported failure" + (detail.isEmpty() ? "" : ": " + detail), now,
          effects);
    }
    return effects;
  }

  /**
   * The robot asks for a halt; the adapter has the bridge halt it.
   *
   * @return whether the robot was running until now (observations waiting for the policy are stale then)
   */
  public boolean halt() {
    if (phase == Phase.ENDED || halted) {
      return false;
    }
    halted = true;
    haltedSinceNanos = nanoTime.getAsLong();
    return true;
  }

  /**
   * The bridge resumed the robot at its request: budgets run again, and execution starts if the
   * session waited for this resume to start it. Before the first plan only the halt is cleared:
   * {@link #started} opens execution.
   */
  public List<SessionEffect> resumed() {
    if (phase == Phase.ENDED) {
      return List.of();
    }
    long now = nanoTime.getAsLong();
    if (halted) {
      halted = false;
      budgetDeadlineNanos += now - haltedSinceNanos;
    }
    if (executionOpen || phase == Phase.OPENING) {
      return List.of();
    }
    executionOpen = true;
    return List.of(new OpenExecution());
  }

  /** The robot cancels the task; it is told its outcome. */
  public List<SessionEffect> cancelled(String detail) {
    return end(SessionEnding.Outcome.CANCELLED, SessionEnding.Cause.ROBOT_CANCELLED, "cancelled by the robot: " + detail,
        true, nanoTime.getAsLong());
  }

  /** The robot's stream ended (closed, cancelled, failed): nobody is left to tell. */
  public List<SessionEffect> robotLeft(String reason) {
    return end(SessionEnding.Outcome.CANCELLED, SessionEnding.Cause.ROBOT_CANCELLED, reason, false,
        nanoTime.getAsLong());
  }

  // ------------------------------------------------------------------ planner

  /** The replan asked for with {@link Replan} is made: the session runs its first subgoal. */
  public List<SessionEffect> replanned(PlannedTask newPlan) {
    if (phase != Phase.REPLANNING) {
      return List.of();
    }
    List<SessionEffect> effects = new ArrayList<>();
    adopt(newPlan, replanReason, nanoTime.getAsLong(), effects);
    return effects;
  }

  /** The replan asked for with {@link Replan} could not be made: the session fails. */
  public List<SessionEffect> replanFailed(String plannerMessage) {
    if (phase != Phase.REPLANNING) {
      return List.of();
    }
    return end(SessionEnding.Outcome.FAILED, SessionEnding.Cause.PLANNER_FAILED,
        replanReason + "; replanning failed: " + plannerMessage, true, nanoTime.getAsLong());
  }

  // ------------------------------------------------------------------ services

  /** The policy session is ready: it gets the running subgoal's instruction. */
  public List<SessionEffect> policyReady() {
    if (phase == Phase.ENDED) {
      return List.of();
    }
    long now = nanoTime.getAsLong();
    List<SessionEffect> effects = new ArrayList<>(2);
    if (policyLost) {
      policyLost = false;
      effects.add(new PolicyRestored(Duration.ofNanos(now - policyLostSinceNanos)));
    }
    if (subgoalIndex >= 0) {
      effects.add(new Instruct(current().instruction()));
    }
    return effects;
  }

  /**
   * The policy session failed or closed: no chunks come, so the bridge's watchdog holds the robot.
   * The first loss fails over at once (a new stream, which the channel gives to a live replica);
   * if that does not get ready within {@link #POLICY_RECONNECT_DELAY}, the robot is told to hold,
   * and ticks reconnect every {@link #POLICY_RECONNECT_DELAY} until policy-service is back or the
   * failover time runs out. Subgoal budgets do not run out meanwhile.
   *
   * @param cause what the stream ended with, e.g. "UNAVAILABLE: connection refused"
   */
  public List<SessionEffect> policyLost(String cause) {
    if (phase == Phase.ENDED) {
      return List.of();
    }
    long now = nanoTime.getAsLong();
    if (!policyLost) {
      policyLost = true;
      policyLostSinceNanos = now;
      policyLostCause = cause;
      policyHoldNotified = false;
      policyOpen = true;
      return List.of(new PolicyLost(cause), new OpenPolicy(instruction()));
    }
    policyOpen = false;
    nextPolicyAttemptNanos = now + POLICY_RECONNECT_DELAY.toNanos();
    return policyHold();
  }

  /** Tells the robot to hold, once per loss. */
  private List<SessionEffect> policyHold() {
    if (policyHoldNotified) {
      return List.of();
    }
    policyHoldNotified = true;
    return List.of(new Hold("policy-service unavailable (" + policyLostCause + "): no new chunks, the controller"
        + " bridge brings the robot to a hold; reconnecting for up to " + settings.policyFailoverTimeout().toMillis()
        + " ms"));
  }

  /**
   * The bridge ended the robot's execution stream: the session fails.
   *
   * @param cause what the stream ended with, e.g. "NOT_FOUND: unknown robot arm-1"
   */
  public List<SessionEffect> executionLost(String cause) {
    return executionLost(cause, false);
  }

  /**
   * The robot's execution stream ended. A bridge that refused or ended it fails the session; one
   * that went away ({@code bridgeGone}: shut down, drained, unreachable) does not: the robot holds
   * (the bridge's own stop, or the robot's watchdog), and ticks open execution again every
   * {@link #POLICY_RECONNECT_DELAY}, at the robot's bridge or whichever bridge now drives it, until
   * one answers ({@link #executionReady}) or the bridge failover time runs out. Budgets do not run
   * out meanwhile.
   *
   * @param cause what the stream ended with, e.g. "UNAVAILABLE: the bridge is shutting down"
   */
  public List<SessionEffect> executionLost(String cause, boolean bridgeGone) {
    executionOpen = false;
    long now = nanoTime.getAsLong();
    if (!bridgeGone || (phase != Phase.RUNNING && phase != Phase.REPLANNING)) {
      return end(SessionEnding.Outcome.FAILED, SessionEnding.Cause.CONTROLLER, "controller-bridge ended robot "
          + robotId + "'s execution stream (" + cause + ")", true, now);
    }
    nextExecutionAttemptNanos = now + POLICY_RECONNECT_DELAY.toNanos();
    if (bridgeLost) {
      return List.of();
    }
    bridgeLost = true;
    bridgeLostSinceNanos = now;
    bridgeLostCause = cause;
    return List.of(new Hold("controller-bridge went away (" + cause + "): the robot holds; opening its execution"
        + " again, at its bridge or another, for up to " + settings.bridgeFailoverTimeout().toMillis() + " ms"));
  }

  /**
   * A resumed session's execution was refused because the bridge holds the robot (halted or
   * e-stopped while the session moved between replicas): the session goes on halted, as if its
   * token had said so, and opens execution at the robot's {@code resume}. Nothing else changes, so
   * the resume opens execution at once and pays for no separate look at the bridge's mode first.
   *
   * @return the hold to tell the robot (after it is accepted), or nothing if execution was not open
   *     or the hold is NONE
   */
  public List<SessionEffect> executionRefusedHeld(BridgeHold bridge) {
    if (phase == Phase.ENDED || !executionOpen || bridge == BridgeHold.NONE) {
      return List.of();
    }
    executionOpen = false;
    if (!halted) {
      halted = true;
      haltedSinceNanos = nanoTime.getAsLong();
    }
    return List.of(new Hold("robot " + robotId + " is " + (bridge == BridgeHold.E_STOPPED ? "e-stopped" : "halted")
        + " at the controller bridge (see its safety events or log); once the cell is safe, send `resume` and the"
        + " task goes on"));
  }

  /** The bridge answered the robot's execution stream: after a loss, execution is restored. */
  public List<SessionEffect> executionReady() {
    if (!bridgeLost || phase == Phase.ENDED) {
      return List.of();
    }
    bridgeLost = false;
    return List.of(new ExecutionRestored(Duration.ofNanos(nanoTime.getAsLong() - bridgeLostSinceNanos)));
  }

  /** Whether the robot's bridge went away and execution is being opened again. */
  public boolean bridgeLost() {
    return bridgeLost;
  }

  /**
   * Time passes: reconnects a lost policy-service or gives up on it, and times out a subgoal whose
   * budget ran out (unless the robot is halted or the policy lost, which stop it progressing).
   */
  public List<SessionEffect> tick() {
    if (phase == Phase.ENDED) {
      return List.of();
    }
    long now = nanoTime.getAsLong();
    List<SessionEffect> effects = new ArrayList<>(2);
    // Back means ready: a reconnect that is open but never answers counts as still away.
    if (policyLost && now - policyLostSinceNanos > settings.policyFailoverTimeout().toNanos()) {
      return end(SessionEnding.Outcome.FAILED, SessionEnding.Cause.POLICY_UNAVAILABLE, "policy-service unavailable for "
          + settings.policyFailoverTimeout().toMillis() + " ms (" + policyLostCause
          + "); the robot was brought to a hold", true, now);
    }
    if (policyLost && !policyHoldNotified && now - policyLostSinceNanos >= POLICY_RECONNECT_DELAY.toNanos()) {
      effects.addAll(policyHold()); // the failover did not come at once
    }
    if (bridgeLost && now - bridgeLostSinceNanos > settings.bridgeFailoverTimeout().toNanos()) {
      return end(SessionEnding.Outcome.FAILED, SessionEnding.Cause.CONTROLLER, "controller-bridge unavailable for "
          + settings.bridgeFailoverTimeout().toMillis() + " ms (" + bridgeLostCause + "); the robot was brought to a"
          + " hold", true, now);
    }
    if (bridgeLost && !executionOpen && now >= nextExecutionAttemptNanos) {
      executionOpen = true;
      effects.add(new OpenExecution());
    }
    if (policyLost && !policyOpen && now >= nextPolicyAttemptNanos) {
      policyOpen = true;
      effects.add(new OpenPolicy(instruction()));
    }
    if (phase == Phase.RUNNING && !halted && !policyLost && !bridgeLost && now > budgetDeadlineNanos) {
      SessionSubgoal subgoal = current();
      fail(ReportSubgoal.Status.TIMED_OUT, String.format(Locale.ROOT, "timed out: its budget of %.1f s (%d steps x"
          + " %.1f) ran out", subgoal.budget().toMillis() / 1e3, subgoal.maxSteps(), settings.subgoalTimeFactor()),
          now, effects);
    }
    return effects;
  }

  // ------------------------------------------------------------------ queries

  public Phase phase() {
    return phase;
  }

  public boolean ended() {
    return phase == Phase.ENDED;
  }

  /** How the session ended; null until it has. */
  public SessionEnding ending() {
    return ending;
  }

  public boolean halted() {
    return halted;
  }

  /** Whether an observation now may go to the policy: a subgoal runs and the robot is not halted. */
  public boolean acceptsObservations() {
    return phase == Phase.RUNNING && !halted;
  }

  public int instructionEpoch() {
    return instructionEpoch;
  }

  /**
   * Whether a chunk answered for an observation sent in {@code epoch} may be executed now: it is for
   * the running subgoal and the robot is not halted.
   */
  public boolean executes(int epoch) {
    return acceptsObservations() && epoch == instructionEpoch;
  }

  /** The current subgoal's instruction (the failed one's while replanning); "" before the first plan. */
  public String instruction() {
    return subgoalIndex < 0 ? "" : current().instruction();
  }

  /** The current plan's subgoals; empty before the first plan. */
  public List<SessionSubgoal> plan() {
    return plan;
  }

  /** The running subgoal (the failed one while replanning); null before the first plan. */
  public SessionSubgoal subgoal() {
    return subgoalIndex < 0 ? null : current();
  }

  public int revision() {
    return revision;
  }

  public int replans() {
    return replans;
  }

  public List<PlannedSubgoal> completed() {
    return List.copyOf(completed);
  }

  /** When the running subgoal times out, on the injected clock, unless a halt moves it on. */
  public long budgetDeadlineNanos() {
    return budgetDeadlineNanos;
  }

  // ------------------------------------------------------------------ transitions

  private SessionSubgoal current() {
    return plan.get(subgoalIndex);
  }

  /** Makes {@code next} the session's plan and starts its first subgoal. */
  private void adopt(PlannedTask next, String reason, long now, List<SessionEffect> effects) {
    revision++;
    plan = SessionSubgoal.numbered(next.subgoals(), lastSubgoalId + 1, stepPeriod, settings.subgoalTimeFactor());
    lastSubgoalId += plan.size();
    effects.add(new SendPlan(revision, next.planner(), reason + (next.rationale().isEmpty() ? "" : "; "
        + next.rationale()), plan));
    phase = Phase.RUNNING;
    start(0, now, effects);
  }

  private void start(int index, long now, List<SessionEffect> effects) {
    subgoalIndex = index;
    SessionSubgoal subgoal = current();
    budgetDeadlineNanos = now + subgoal.budget().toNanos();
    if (halted) {
      // This subgoal's pause starts now: the part of the halt before it is not its to take off.
      haltedSinceNanos = now;
    }
    // 1 + the instruction's completions so far: failed tries are not counted (as the gateway always reported it).
    attempt = 1 + (int) completed.stream().filter(done -> done.instruction().equals(subgoal.instruction())).count();
    instructionEpoch++;
    if (policyOpen) {
      effects.add(new Instruct(subgoal.instruction()));
    }
    effects.add(report(ReportSubgoal.Status.STARTED, "", now));
  }

  private void complete(String detail, long now, List<SessionEffect> effects) {
    effects.add(report(ReportSubgoal.Status.COMPLETED, detail, now));
    completed.add(current().planned());
    if (subgoalIndex + 1 < plan.size()) {
      start(subgoalIndex + 1, now, effects);
    } else {
      effects.addAll(end(SessionEnding.Outcome.SUCCEEDED, SessionEnding.Cause.TASK_COMPLETED,
          "every subgoal completed", true, now));
    }
  }

  private void fail(ReportSubgoal.Status status, String reason, long now, List<SessionEffect> effects) {
    effects.add(report(status, reason, now));
    SessionSubgoal failed = current();
    if (replans >= settings.maxReplans()) {
      effects.addAll(end(SessionEnding.Outcome.FAILED, SessionEnding.Cause.SUBGOAL_FAILED, "subgoal '"
          + failed.instruction() + "' " + reason + ", and the " + replans + " replan(s) allowed are used up", true, now));
      return;
    }
    replans++;
    phase = Phase.REPLANNING;
    // Chunks for the failed subgoal are dropped from now on; the bridge's watchdog holds the robot.
    instructionEpoch++;
    failureReason = reason;
    replanReason = replanReason(failed, reason);
    effects.add(replanRequest(failed, reason));
  }

  private static String replanReason(SessionSubgoal failed, String reason) {
    return "subgoal " + failed.id() + " '" + failed.instruction() + "' " + reason;
  }

  private Replan replanRequest(SessionSubgoal failed, String reason) {
    return new Replan(new PlanningRequest(task, scene, skills, completed, new SubgoalFailure(failed.planned(), reason),
        lastGripper));
  }

  private ReportSubgoal report(ReportSubgoal.Status status, String reason, long now) {
    long elapsed = elapsedNanos(now);
    return new ReportSubgoal(current().id(), status, attempt, (int) (elapsed / stepPeriod.toNanos()),
        Duration.ofNanos(elapsed), reason);
  }

  /** How long the running subgoal has run, halts not counted. */
  private long elapsedNanos(long now) {
    long budgetStart = budgetDeadlineNanos - current().budget().toNanos();
    return now - budgetStart - (halted ? now - haltedSinceNanos : 0);
  }

  private List<SessionEffect> end(SessionEnding.Outcome outcome, SessionEnding.Cause cause, String reason,
      boolean tellRobot, long now) {
    if (phase == Phase.ENDED) {
      return List.of();
    }
    phase = Phase.ENDED;
    ending = new SessionEnding(outcome, cause, reason);
    return List.of(new Ended(ending, tellRobot, completed.size(), replans, Duration.ofNanos(now - startedNanos)));
  }
}
