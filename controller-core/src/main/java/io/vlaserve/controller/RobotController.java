package io.vlaserve.controller;

import io.vlaserve.controller.driver.MeasuredState;
import io.vlaserve.controller.driver.MeasuredStateCheck;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.loop.Tickable;
import io.vlaserve.controller.safety.Axis;
import io.vlaserve.controller.safety.Cause;
import io.vlaserve.controller.safety.SafetyAction;
import io.vlaserve.controller.safety.SafetyEventLog;
import io.vlaserve.controller.safety.SafetyGate;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.EntryState;
import io.vlaserve.controller.trajectory.TrajectoryBlender;
import java.lang.invoke.VarHandle;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * One robot's controller: accepts action chunks from any thread and, once per control tick, turns
 * them into one safe setpoint for the robot.
 *
 * <p><b>A tick</b> ({@link #tick}, control-loop thread only): read the robot's state; supervise
 * the link; apply pending commands (new limits, Resume, Halt); activate a chunk that has become
 * due; fire the watchdog if the executing chunk ran out long enough ago; evaluate the blended
 * reference; pass it through the {@link SafetyGate}; send the gate's output to the driver;
 * publish the state. The tick allocates nothing.
 *
 * <p><b>Latency compensation.</b> A chunk's step {@code i} is meant for
 * {@code observation + i * stepPeriod}. Steps whose time has passed when the chunk arrives are
 * skipped; the chunk waits until its first remaining step is due and then starts, its deltas
 * integrated from the commanded pose extrapolated to that tick (see
 * {@link io.vlaserve.controller.trajectory.ChunkTrajectory}). A newer chunk that arrives before
 * then supersedes it; a chunk answering an older observation than one already accepted is refused.
 *
 * <p><b>Modes</b> ({@link ExecutionMode}): IDLE until a chunk starts, EXECUTING while one runs (and
 * for up to the watchdog timeout after its last waypoint, extrapolating its final velocity), HOLDING
 * once the watchdog has decelerated the robot to a hold, until a fresh chunk starts. Halt, a limit
 * in halt mode or a non-finite reference make it HALTED: the executing and pending chunks are
 * dropped within the tick and the gate decelerates within the limits; Resume is required. An
 * e-stop makes it ESTOPPED: no setpoint is sent any more and the driver is told to hold at once;
 * Resume needs confirmation. Link loss and controller faults also stop setpoints and ask the robot
 * to hold on its own (HALTED). After the robot held on its own, Resume re-synchronises to its
 * measured pose.
 *
 * <p>Thread-safety: {@link #tick} on the loop thread only; everything else from any thread.
 * Commands are handed to the loop through atomics and take effect at the next tick; state is
 * published through a sequence lock, so readers never block the loop.
 */
public final class RobotController implements Tickable {
  private static final int NO_HALT = 0;
  private static final int HALT = 1;
  private static final int ESTOP = 2;

  /** A halt for a safety reason found off the loop thread, recorded as its own event by the loop. */
  private record SafetyHalt(Cause cause, Axis axis, double value, double limit, String note, boolean robotHolds) {}

  /** Limits to apply at the next tick, with the audit note their change event carries (null: none). */
  private record LimitsChange(SafetyLimits limits, String note) {}

  /**
   * A chunk accepted and waiting for its first step to come due, with the halt generation it was
   * accepted in (a chunk accepted while a halt was being applied belongs to the generation before it
   * and never starts). {@code onTime}: it continues a committed prefix and arrived before the prefix
   * ended, so it is spliced there rather than blended. Pending chunks form an immutable list ordered
   * by due time ({@code next}): the loop takes its head, submitters replace the whole list.
   */
  private record PendingChunk(ActionChunk chunk, ExecutionSettings settings, int skippedSteps, long dueNanos,
      long haltGeneration, boolean onTime, PendingChunk next) {
    PendingChunk followedBy(PendingChunk newNext) {
      return new PendingChunk(chunk, settings, skippedSteps, dueNanos, haltGeneration, onTime, newNext);
    }
  }

  /** Most chunks pending at once: continuations waiting for their prefixes, each conditioned on the ones before. */
  private static final int MAX_PENDING = 16;

  private final ControllerConfig config;
  private final RobotDriver driver;
  private final LongSupplier clock;
  private final SafetyEventLog events;
  private final SafetyGate gate;
  private final TrajectoryBlender blender;
  private final long periodNanos;
  private volatile TickListener listener = TickListener.NONE;

  // Commands from other threads, applied at the start of the next tick.
  private final AtomicReference<PendingChunk> pending = new AtomicReference<>();
  private final AtomicReference<LimitsChange> pendingLimits = new AtomicReference<>();
  private final AtomicReference<SafetyHalt> safetyHalt = new AtomicReference<>();
  private final AtomicInteger haltRequest = new AtomicInteger(NO_HALT);
  private volatile String haltReason = "";
  private volatile boolean resumeRequested;
  private volatile boolean holdRequested;
  private volatile SafetyLimits limits;
  /** Counts halts (and e-stops) the loop applied; written after the mode, so a submitter that sees it sees the mode. */
  private volatile long haltGeneration;
  /** The field of the robot's latest state that made it unusable, or VALID; and its value. */
  private volatile int invalidStateField = MeasuredStateCheck.VALID;
  private volatile double invalidStateValue;

  // Loop-thread state; mode and readiness are volatile so submitters see them.
  private volatile ExecutionMode mode = ExecutionMode.IDLE;
  private volatile boolean ready;
  private boolean stopping;
  private boolean robotHoldsItself;
  private boolean linkLost;
  private long tick;
  private long lastSlotNanos = Long.MIN_VALUE;
  private long timelineLagNanos;
  private long lastChunkId;
  private long chunksActivated;
  private long chunksDropped;
  private long chunksSpliced;
  private final EntryState entryState = new EntryState();
  /** The last usable state the robot reported; an unusable report never replaces it. */
  private final MeasuredState measured = new MeasuredState();
  private final MeasuredState incoming = new MeasuredState();
  private boolean hasValidState;
  private final CartesianPose measuredPose = new CartesianPose();
  private final CartesianPose reference = new CartesianPose();
  private final CartesianPose scratchPose = new CartesianPose();

  // Submission bookkeeping, guarded by this.
  private long lastAcceptedObservation = Long.MIN_VALUE;
  private long lastChunkIdAccepted;
  private final AtomicLong supersededChunks = new AtomicLong();
  /** Test seam: runs after a chunk passed every check and before it is published as pending. */
  volatile Runnable beforePendingPublished;

  // State publication: a sequence lock (odd while the loop writes).
  private final AtomicLong version = new AtomicLong();
  private final ExecutionSnapshot published = new ExecutionSnapshot();

  /**
   * Creates a controller; it takes control at the first tick at which the driver reports a state.
   *
   * @param config fixed parameters
   * @param limits the initial safety limits
   * @param driver the robot
   * @param clock the loop clock's time, for submissions and Resume made from other threads
   */
  public RobotController(ControllerConfig config, SafetyLimits limits, RobotDriver driver, LongSupplier clock) {
    this.config = Objects.requireNonNull(config, "config");
    this.driver = Objects.requireNonNull(driver, "driver");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.periodNanos = config.tickPeriodNanos();
    this.events = new SafetyEventLog(config.robotId(), config.eventCapacity());
    this.gate = new SafetyGate(config.tickSeconds(), limits, events);
    this.blender = new TrajectoryBlender(config.maxChunkSteps(), config.maxBlendLayers());
  }

  // ---------------------------------------------------------------- commands (any thread)

  /**
   * Offers a chunk for execution; the verdict is immediate, execution starts at the tick its first
   * remaining step is due.
   */
  public synchronized ChunkVerdict submit(ActionChunk chunk, ExecutionSettings settings) {
    long now = clock.getAsLong();
    long id = chunk.chunkId();
    long age = now - chunk.observationNanos();
    long generation = haltGeneration;
    int chunkLength = chunk.firstStep() + chunk.steps();
    if (chunkLength > config.maxChunkSteps()) {
      return ChunkVerdict.rejected(id, ChunkVerdict.Rejection.INVALID, age, "steps: " + chunkLength
          + (chunk.continuesPrefix() ? " counting the committed prefix's " + chunk.firstStep() : "")
          + " (expected: at most " + config.maxChunkSteps() + " per chunk)");
    }
    // A continuation runs blind from the observation too: its horizon counts the prefix's steps.
    long horizon = chunk.horizonNanos();
    if (horizon > config.maxOpenLoopNanos()) {
      return ChunkVerdict.rejected(id, ChunkVerdict.Rejection.INVALID, age, String.format(Locale.ROOT,
          "horizon: %d steps x %.3f s = %.3f s (expected: at most %.3f s, the bridge's max-open-loop: a chunk runs"
              + " blind to the world; send shorter chunks more often)", chunkLength, chunk.stepPeriodNanos() * 1e-9,
          horizon * 1e-9, config.maxOpenLoopNanos() * 1e-9));
    }
    try {
      config.checkSettings(settings);
    } catch (IllegalArgumentException e) {
      return ChunkVerdict.rejected(id, ChunkVerdict.Rejection.INVALID, age, e.getMessage());
    }
    if (!ready) {
      return ChunkVerdict.rejected(id, ChunkVerdict.Rejection.NOT_READY, age, "robot " + config.robotId()
          + " has not reported its state yet (its driver or agent is not connected); retry once it has");
    }
    ExecutionMode current = mode;
    int halt = haltRequest.get();
    if (current == ExecutionMode.HALTED || current == ExecutionMode.ESTOPPED || halt != NO_HALT) {
      boolean estop = current == ExecutionMode.ESTOPPED || halt == ESTOP;
      return ChunkVerdict.rejected(id, ChunkVerdict.Rejection.HALTED, age, "robot " + config.robotId() + " is "
          + (estop ? "e-stopped" : "halted") + "; call Resume" + (estop ? " with confirm_estop_reset" : "")
          + " before sending chunks");
    }
    if (-age > config.maxObservationLeadNanos()) {
      return ChunkVerdict.rejected(id, ChunkVerdict.Rejection.INVALID, age, String.format(Locale.ROOT,
          "observation_time: %.1f ms in the future (expected: at most %.1f ms ahead; are the robot's and the"
              + " bridge's clocks synchronised?)", -age * 1e-6, config.maxObservationLeadNanos() * 1e-6));
    }
    if (chunk.observationNanos() < lastAcceptedObservation) {
      return ChunkVerdict.rejected(id, ChunkVerdict.Rejection.OUT_OF_ORDER, age, String.format(Locale.ROOT,
          "chunk %d answers an observation %.1f ms older than chunk %d, already accepted; out-of-order chunks"
              + " are dropped", id, (lastAcceptedObservation - chunk.observationNanos()) * 1e-6, lastChunkIdAccepted));
    }
    long period = chunk.stepPeriodNanos();
    long sinceFirstStep = age - chunk.firstStep() * period;
    int skipped = (int) Math.min(chunk.steps(), stepsPast(sinceFirstStep, period));
    if (skipped >= chunk.steps()) {
      return ChunkVerdict.rejected(id, ChunkVerdict.Rejection.ALL_STEPS_PAST, age, String.format(Locale.ROOT,
          "all %d steps are in the past: the observation is %.1f ms old and the chunk covers %.1f ms"
              + " (reduce the policy's latency or send longer chunks)", chunk.steps(), age * 1e-6,
          horizon * 1e-6));
    }
    lastAcceptedObservation = chunk.observationNanos();
    lastChunkIdAccepted = id;
    Runnable hook = beforePendingPublished;
    if (hook != null) {
      hook.run();
    }
    boolean onTime = chunk.continuesPrefix() && sinceFirstStep <= 0;
    publishPending(new PendingChunk(chunk, settings, skipped, chunk.stepTimeNanos(skipped), generation, onTime, null));
    return ChunkVerdict.accepted(id, skipped, age);
  }

  /**
   * Adds {@code fresh} to the pending chunks. A continuation on time keeps the chunks due before it:
   * its policy was told they would run until its prefix ends, and it continues them. Any other chunk,
   * and a continuation's later-due predecessors, supersede what is pending: it answers a newer
   * observation. Called under this object's lock, so submitters never race each other; the loop
   * only ever removes the head.
   */
  private void publishPending(PendingChunk fresh) {
    PendingChunk current;
    PendingChunk updated;
    int superseded;
    do {
      current = pending.get();
      PendingChunk[] kept = new PendingChunk[MAX_PENDING - 1];
      int keptCount = 0;
      superseded = 0;
      for (PendingChunk p = current; p != null; p = p.next()) {
        if (fresh.onTime() && p.dueNanos() < fresh.dueNanos() && keptCount < kept.length) {
          kept[keptCount++] = p;
        } else {
          superseded++;
        }
      }
      updated = fresh;
      for (int i = keptCount - 1; i >= 0; i--) {
        updated = kept[i].followedBy(updated);
      }
    } while (!pending.compareAndSet(current, updated));
    supersededChunks.addAndGet(superseded);
  }

  /** Removes the pending head if it is still {@code chunk}'s; false if a submitter has dropped it meanwhile. */
  private boolean removePendingHead(ActionChunk chunk) {
    while (true) {
      PendingChunk head = pending.get();
      if (head == null || head.chunk() != chunk) {
        return false;
      }
      if (pending.compareAndSet(head, head.next())) {
        return true;
      }
    }
  }

  /**
   * Requests a halt, effective at the next tick: the executing and pending chunks are dropped; the
   * robot decelerates to a hold within its limits, or for an emergency stop, stops receiving
   * setpoints and is told to hold at once.
   */
  public void requestHalt(boolean emergency, String reason) {
    haltReason = reason == null ? "" : reason;
    int wanted = emergency ? ESTOP : HALT;
    haltRequest.accumulateAndGet(wanted, Math::max);
  }

  /**
   * Requests a normal stop at the next tick, e.g. because the stream driving the robot closed:
   * pending and executing chunks are dropped and the robot decelerates to a hold within its limits
   * (mode HOLDING, like the watchdog, but without an event). A fresh chunk resumes; no Resume needed.
   */
  public void requestHold() {
    holdRequested = true;
  }

  /**
   * Requests that a halt be cleared at the next tick. A no-op unless halted or e-stopped.
   *
   * @throws ControllerStateException if an e-stop is latched and {@code confirmEstopReset} is
   *     false, or the robot's link is still down
   */
  public void resume(boolean confirmEstopReset) {
    ExecutionMode current = mode;
    if (current == ExecutionMode.ESTOPPED && !confirmEstopReset) {
      throw new ControllerStateException("robot " + config.robotId() + " is e-stopped: Resume with"
          + " confirm_estop_reset=true once a person has confirmed the cell is safe");
    }
    long now = clock.getAsLong();
    if (!driver.linkAlive(now)) {
      throw new ControllerStateException(String.format(Locale.ROOT, "robot %s has not reported its state for"
          + " %.0f ms; Resume once its link is back", config.robotId(), driver.stateAgeNanos(now) * 1e-6));
    }
    int invalid = invalidStateField;
    if (invalid != MeasuredStateCheck.VALID) {
      throw new ControllerStateException(String.format(Locale.ROOT, "robot %s reports an unusable state (%s = %s;"
          + " expected: finite numbers, a unit quaternion, a gripper opening in 0..1); Resume once it reports a valid"
          + " one", config.robotId(), MeasuredStateCheck.field(invalid), invalidStateValue));
    }
    if (current == ExecutionMode.HALTED || current == ExecutionMode.ESTOPPED || haltRequest.get() != NO_HALT) {
      resumeRequested = true;
    }
  }

  /** Replaces the safety limits from the next tick on (already validated by construction). */
  public void setLimits(SafetyLimits newLimits) {
    setLimits(newLimits, null);
  }

  /**
   * Replaces the safety limits from the next tick on, recording a {@link Cause#LIMITS_CHANGED}
   * event with {@code auditNote} (old -> new, who) when it is not null.
   */
  public void setLimits(SafetyLimits newLimits, String auditNote) {
    limits = Objects.requireNonNull(newLimits, "limits");
    pendingLimits.set(new LimitsChange(newLimits, auditNote));
  }

  /**
   * Halts the robot at the next tick for a safety reason found outside the loop (e.g. its agent
   * refused a setpoint), recorded as an event of {@code cause} with the field and value at fault.
   * With {@code robotHolds} the robot is taken to hold on its own (no setpoints until Resume, which
   * re-synchronises to its measured pose); otherwise the gate decelerates it within the limits.
   */
  public void requestSafetyHalt(Cause cause, Axis axis, double value, double limit, String note, boolean robotHolds) {
    safetyHalt.set(new SafetyHalt(Objects.requireNonNull(cause, "cause"), axis == null ? Axis.NONE : axis, value,
        limit, note, robotHolds));
  }

  /** Returns the limits in force (or about to be, from the next tick). */
  public SafetyLimits limits() {
    return limits;
  }

  /** Sets the listener called at the end of every tick. */
  public void setTickListener(TickListener tickListener) {
    this.listener = tickListener == null ? TickListener.NONE : tickListener;
  }

  /** Returns the mode as of the last tick. */
  public ExecutionMode mode() {
    return mode;
  }

  /** Returns the robot's id. */
  public String robotId() {
    return config.robotId();
  }

  /** Returns the config. */
  public ControllerConfig config() {
    return config;
  }

  /** Returns this robot's safety events. */
  public SafetyEventLog events() {
    return events;
  }

  /** Returns the robot's driver. */
  public RobotDriver driver() {
    return driver;
  }

  /** Copies the state published by the last tick into {@code out}; never blocks the loop. */
  public void readState(ExecutionSnapshot out) {
    while (true) {
      long before = version.get();
      if ((before & 1) == 0) {
        out.set(published);
        VarHandle.loadLoadFence();
        if (version.get() == before) {
          return;
        }
      }
      Thread.onSpinWait();
    }
  }

  /** Returns the number of the last tick published. */
  public long tickCount() {
    return published.tick;
  }

  // ---------------------------------------------------------------- the tick (loop thread)

  @Override
  public void tick(long slotNanos) {
    try {
      doTick(slotNanos);
    } catch (RuntimeException e) {
      fault(slotNanos, e);
    }
  }

  private void doTick(long slotNanos) {
    tick++;
    // Missed deadlines skip slots. The robot got no setpoint meanwhile, so the trajectory pauses
    // instead of jumping ahead (a jump would reach the gate as a velocity spike); the lag is
    // dropped again once the robot rests, when the reference does not depend on time.
    long elapsed = lastSlotNanos == Long.MIN_VALUE ? periodNanos : slotNanos - lastSlotNanos;
    lastSlotNanos = slotNanos;
    if (elapsed > periodNanos) {
      timelineLagNanos += elapsed - periodNanos;
    }
    long now = slotNanos - timelineLagNanos;
    boolean reported = driver.readState(incoming) && acceptState(slotNanos);
    boolean alive = driver.linkAlive(slotNanos);
    if (!ready) {
      if (!reported || !alive) {
        publish(slotNanos, now, false);
        return;
      }
      toPose(measured, measuredPose);
      gate.reset(measuredPose);
      blender.reset(measuredPose, now);
      driver.announceLimits(gate.limits());
      ready = true;
    }
    if (!alive && !linkLost) {
      linkLost = true;
      if (mode != ExecutionMode.ESTOPPED) {
        events.record(slotNanos, tick, Cause.LINK_LOSS, SafetyAction.HALT, Axis.NONE,
            driver.stateAgeNanos(slotNanos) * 1e-9, driver.linkTimeoutNanos() * 1e-9, lastChunkId, null);
        enterHalted();
      }
      robotHoldsItself = true;
      driver.hold("link lost");
    }
    applyCommands(now, slotNanos);

    boolean followed = false;
    boolean sent = false;
    if (!robotHoldsItself) {
      if (mode == ExecutionMode.HALTED) {
        gate.brake(slotNanos, tick);
      } else if (stopping) {
        gate.brake(slotNanos, tick);
        finishStoppingIfAtRest(now);
      } else {
        activateDueChunk(now, slotNanos);
        if (watchdogExpired(now, slotNanos)) {
          gate.brake(slotNanos, tick);
        } else {
          blender.evaluate(now, reference);
          followed = true;
          if (gate.filter(reference, slotNanos, tick, lastChunkId)) {
            enterHalted();
          }
        }
      }
      driver.send(gate.output());
      sent = true;
    }
    if (blender.holding() && gate.atRest()) {
      timelineLagNanos = 0;
    }
    listener.onTick(slotNanos, reference, followed, gate.output(), sent, mode);
    publish(slotNanos, now, true);
  }

  /**
   * Takes the state just read if it is usable; otherwise records why (once per run of unusable
   * reports), halts, and keeps the last usable state. Returns whether a usable state is held.
   */
  private boolean acceptState(long slotNanos) {
    int field = MeasuredStateCheck.check(incoming);
    if (field == MeasuredStateCheck.VALID) {
      measured.set(incoming);
      hasValidState = true;
      if (invalidStateField != MeasuredStateCheck.VALID) {
        invalidStateField = MeasuredStateCheck.VALID;
      }
      return true;
    }
    if (invalidStateField == MeasuredStateCheck.VALID) {
      double value = MeasuredStateCheck.value(incoming, field);
      invalidStateValue = value;
      invalidStateField = field;
      if (mode != ExecutionMode.ESTOPPED) {
        events.record(slotNanos, tick, Cause.INVALID_STATE, SafetyAction.HALT, MeasuredStateCheck.axis(field), value,
            0, lastChunkId, MeasuredStateCheck.field(field));
        if (mode != ExecutionMode.HALTED) {
          gate.startBraking();
          enterHalted();
        }
      }
    }
    return hasValidState;
  }

  private void applyCommands(long now, long slotNanos) {
    LimitsChange change = pendingLimits.getAndSet(null);
    if (change != null) {
      gate.setLimits(change.limits());
      if (ready) {
        driver.announceLimits(change.limits());
      }
      if (change.note() != null) {
        events.record(slotNanos, tick, Cause.LIMITS_CHANGED, SafetyAction.NOTICE, Axis.NONE, 0, 0, lastChunkId,
            change.note());
      }
    }
    SafetyHalt fault = safetyHalt.getAndSet(null);
    if (fault != null && mode != ExecutionMode.ESTOPPED) {
      events.record(slotNanos, tick, fault.cause(), SafetyAction.HALT, fault.axis(), fault.value(), fault.limit(),
          lastChunkId, fault.note());
      if (fault.robotHolds()) {
        robotHoldsItself = true;
        driver.hold(fault.note() == null ? "safety halt" : fault.note());
      } else {
        gate.startBraking();
      }
      enterHalted();
    }
    if (resumeRequested) {
      resumeRequested = false;
      applyResume(now, slotNanos);
    }
    if (holdRequested) {
      holdRequested = false;
      pending.set(null);
      if (mode == ExecutionMode.EXECUTING) {
        mode = ExecutionMode.HOLDING;
        stopping = true;
        gate.startBraking();
      }
    }
    int halt = haltRequest.getAndSet(NO_HALT);
    if (halt == ESTOP && mode != ExecutionMode.ESTOPPED) {
      events.record(slotNanos, tick, Cause.ESTOP_REQUESTED, SafetyAction.HALT, Axis.NONE, 0, 0, lastChunkId, haltReason);
      stopping = false;
      mode = ExecutionMode.ESTOPPED;
      nextHaltGeneration();
      robotHoldsItself = true;
      driver.hold(haltReason);
    } else if (halt == HALT && mode != ExecutionMode.HALTED && mode != ExecutionMode.ESTOPPED) {
      events.record(slotNanos, tick, Cause.HALT_REQUESTED, SafetyAction.HALT, Axis.NONE, 0, 0, lastChunkId, haltReason);
      gate.startBraking();
      enterHalted();
    }
  }

  private void applyResume(long now, long slotNanos) {
    if (mode != ExecutionMode.HALTED && mode != ExecutionMode.ESTOPPED) {
      return;
    }
    if (robotHoldsItself) {
      if (!driver.linkAlive(slotNanos)) {
        return;
      }
      // The robot held on its own and may have drifted: take over from where it really is.
      toPose(measured, measuredPose);
      gate.reset(measuredPose);
      blender.reset(measuredPose, now);
      robotHoldsItself = false;
      linkLost = false;
      stopping = false;
    } else if (gate.atRest()) {
      gate.releaseBrake();
      gate.commanded(scratchPose);
      blender.reset(scratchPose, now);
      stopping = false;
    } else {
      // Still decelerating: finish the stop first, then hold.
      stopping = true;
    }
    mode = ExecutionMode.IDLE;
  }

  private void enterHalted() {
    mode = ExecutionMode.HALTED;
    nextHaltGeneration();
    stopping = false;
  }

  /** Drops pending work: the chunk pending now, and any that a submitter racing with this halt adds. */
  private void nextHaltGeneration() {
    haltGeneration++;
    pending.set(null);
  }

  private void finishStoppingIfAtRest(long now) {
    if (gate.atRest()) {
      stopping = false;
      gate.releaseBrake();
      gate.commanded(scratchPose);
      blender.reset(scratchPose, now);
    }
  }

  /**
   * Starts the earliest pending chunk once its first step is due. Due-ness is judged on the loop clock
   * ({@code slotNanos}), where observation times live; the trajectory itself is built on the
   * timeline ({@code now}), which lags the clock by the slots missed while executing. Judging
   * due-ness on the lagging timeline would, under sustained overload, never start another chunk.
   */
  private void activateDueChunk(long now, long slotNanos) {
    PendingChunk due = pending.get();
    if (due == null) {
      return;
    }
    if (due.haltGeneration() != haltGeneration) {
      // Accepted while a halt was being applied: it must not run after the Resume.
      removePendingHead(due.chunk());
      chunksDropped++;
      return;
    }
    if (slotNanos < due.dueNanos()) {
      return;
    }
    ActionChunk chunk = due.chunk();
    // Steps that passed while waiting (e.g. for a stop to finish) are skipped too; a step due
    // less than a tick ago still counts, as this tick is the first that could start it.
    long late = slotNanos - periodNanos - chunk.stepTimeNanos(0);
    int first = Math.max(due.skippedSteps(), (int) Math.min(chunk.steps(), stepsPast(late, chunk.stepPeriodNanos())));
    if (first >= chunk.steps()) {
      removePendingHead(chunk);
      chunksDropped++;
      return;
    }
    gate.predictNext(scratchPose);
    // On time, a continuation starts exactly where its committed prefix ends, continuing the motion:
    // no crossfade averaging two intentions. Late (or held back, e.g. by a stop), it is blended.
    boolean splice = due.onTime() && first == 0 && slotNanos - due.dueNanos() <= periodNanos;
    boolean started;
    if (splice) {
      gate.motion(entryState);
      blender.splice(chunk, first, due.settings().interpolation(), scratchPose, entryState, now);
      chunksSpliced++;
      started = true;
    } else {
      started = blender.activate(chunk, first, due.settings().interpolation(), due.settings().blending(), scratchPose,
          now);
    }
    if (started) {
      if (!removePendingHead(chunk)) {
        // Superseded while we activated this one: the newer chunk starts when it is due.
        chunksDropped++;
      }
      lastChunkId = chunk.chunkId();
      chunksActivated++;
      mode = ExecutionMode.EXECUTING;
    }
  }

  /**
   * Whether the motion last committed (the newest chunk started) has run out longer ago than the
   * watchdog timeout. A chunk that is pending but not started does not count: pending chunks that
   * never come due (a stream that keeps superseding them) must not keep the robot extrapolating.
   */
  private boolean watchdogExpired(long now, long slotNanos) {
    if (mode != ExecutionMode.EXECUTING || blender.holding()) {
      return false;
    }
    long overdue = now - blender.newest().endNanos();
    long timeout = gate.limits().watchdogTimeout().toNanos();
    if (overdue <= timeout) {
      return false;
    }
    events.record(slotNanos, tick, Cause.WATCHDOG, SafetyAction.HOLD, Axis.NONE, overdue * 1e-9, timeout * 1e-9,
        lastChunkId, null);
    mode = ExecutionMode.HOLDING;
    stopping = true;
    gate.startBraking();
    return true;
  }

  private void fault(long slotNanos, RuntimeException e) {
    // Never let a bug leave the robot following stale setpoints: it holds on its own until Resume.
    robotHoldsItself = true;
    mode = ExecutionMode.HALTED;
    nextHaltGeneration();
    stopping = false;
    events.record(slotNanos, tick, Cause.CONTROLLER_FAULT, SafetyAction.HALT, Axis.NONE, 0, 0, lastChunkId,
        e.toString());
    try {
      driver.hold("controller fault");
    } finally {
      publish(slotNanos, slotNanos - timelineLagNanos, true);
    }
  }

  private void publish(long slotNanos, long now, boolean readyNow) {
    long v = version.get();
    version.set(v + 1);
    // The odd version must be visible before any field changes.
    VarHandle.storeStoreFence();
    ExecutionSnapshot s = published;
    s.timeNanos = slotNanos;
    s.timelineLagNanos = timelineLagNanos;
    s.tick = tick;
    s.mode = mode;
    s.ready = readyNow && ready;
    s.chunkId = lastChunkId;
    if (ready && !blender.holding()) {
      s.stepIndex = blender.newest().stepIndex(now);
      s.stepFraction = blender.newest().stepFraction(now);
    } else {
      s.stepIndex = 0;
      s.stepFraction = 0;
    }
    gate.commanded(s.commanded);
    toPose(measured, s.measured);
    s.measuredTimeNanos = measured.timeNanos;
    s.linkAlive = !linkLost;
    s.stateAgeNanos = driver.stateAgeNanos(slotNanos);
    for (int i = 0; i < 3; i++) {
      s.commandedVelocity[i] = gate.velocity(i);
    }
    s.chunksActivated = chunksActivated;
    s.chunksDropped = chunksDropped + supersededChunks.get();
    s.chunksSpliced = chunksSpliced;
    version.lazySet(v + 2);
  }

  private static void toPose(MeasuredState state, CartesianPose out) {
    System.arraycopy(state.position, 0, out.position, 0, 3);
    System.arraycopy(state.orientation, 0, out.orientation, 0, 4);
    out.gripper = state.gripper;
  }

  /**
   * Steps of {@code period} that are more than half over {@code elapsed} after their chunk's
   * observation. A step less than half over still runs, in full, from now: a delta policy's first
   * step is its most accurate, and skipping it for a few milliseconds of inference latency would
   * execute every chunk from its second step (measured: 4 of 10 simulated tasks succeed that way, 9 of
   * 10 this way, at 20 ms latency and 10 Hz observations).
   */
  static long stepsPast(long elapsed, long period) {
    long half = period / 2;
    return elapsed <= half ? 0 : ceilDiv(elapsed - half, period);
  }

  private static long ceilDiv(long value, long divisor) {
    return -Math.floorDiv(-value, divisor);
  }
}
