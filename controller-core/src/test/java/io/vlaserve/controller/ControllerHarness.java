package io.vlaserve.controller;

import io.vlaserve.controller.driver.MeasuredState;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.safety.SafeSetpoint;
import io.vlaserve.controller.safety.SafetyEvent;
import io.vlaserve.controller.safety.SafetyEventKind;
import io.vlaserve.controller.safety.SafetyLimits;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A controller over the simulator driven tick by tick on a manual clock, recording what it sends
 * and every safety event, and checking every setpoint against the limits in force.
 */
public final class ControllerHarness implements TickListener {
  public static final long START = 1_000_000_000_000L;

  public final ManualClock clock = new ManualClock(START);
  public final RobotDriver driver;
  public final RobotController controller;
  public final long period;
  public final List<double[]> sent = new ArrayList<>();
  public final List<double[]> references = new ArrayList<>();
  public final List<Long> sentTicks = new ArrayList<>();
  public final List<SafetyEvent> events = new ArrayList<>();
  public final SetpointChecker checker;
  public String firstViolation;
  public long ticks;
  /** Ticks on which the gate's output differed from the reference it followed. */
  public final List<Long> modifiedTicks = new ArrayList<>();
  private boolean lastFollowed;
  private boolean lastSent;
  private final double[] lastReference = new double[8];

  public ControllerHarness(SafetyLimits limits) {
    this(ControllerConfig.of("sim-0"), limits);
  }

  public ControllerHarness(ControllerConfig config, SafetyLimits limits) {
    // Centre start pose, pointing down, gripper open: (0.5, 0, 0.23).
    this(config, limits, ScriptedDriver.atCentre(START));
  }

  public ControllerHarness(ControllerConfig config, SafetyLimits limits, RobotDriver robot) {
    driver = robot;
    controller = new RobotController(config, limits, driver, clock);
    controller.setTickListener(this);
    period = config.tickPeriodNanos();
    checker = new SetpointChecker(config.tickSeconds(), limits);
    MeasuredState measured = new MeasuredState();
    driver.readState(measured);
    CartesianPose start = new CartesianPose().set(measured.position[0], measured.position[1], measured.position[2],
        measured.orientation[0], measured.orientation[1], measured.orientation[2], measured.orientation[3],
        measured.gripper);
    checker.restart(start);
  }

  public ScriptedDriver sim() {
    return (ScriptedDriver) driver;
  }

  /** The pose the robot reports now. */
  public double[] measured() {
    MeasuredState measured = new MeasuredState();
    driver.readState(measured);
    return new double[] {measured.position[0], measured.position[1], measured.position[2]};
  }

  /** Advances the clock one period and runs one tick. */
  public void tick() {
    clock.advance(period);
    ticks++;
    controller.tick(clock.getAsLong());
    if (!state().ready) {
      // Not driven yet: the controller takes over wherever the robot then is.
      checker.gap();
    }
    controller.events().drain(events::add);
  }

  public void tick(int count) {
    for (int i = 0; i < count; i++) {
      tick();
    }
  }

  /** Runs ticks until {@code seconds} of loop time have passed. */
  public void run(double seconds) {
    tick((int) Math.round(seconds * 1e9 / period));
  }

  public long now() {
    return clock.getAsLong();
  }

  @Override
  public void onTick(long slotNanos, CartesianPose reference, boolean followed, SafeSetpoint setpoint, boolean sentNow,
      ExecutionMode mode) {
    lastFollowed = followed;
    lastSent = sentNow;
    lastReference[0] = reference.position[0];
    lastReference[1] = reference.position[1];
    lastReference[2] = reference.position[2];
    System.arraycopy(reference.orientation, 0, lastReference, 3, 4);
    lastReference[7] = reference.gripper;
    if (!sentNow) {
      checker.gap();
      return;
    }
    double[] s = {setpoint.position(0), setpoint.position(1), setpoint.position(2), setpoint.orientation(0),
        setpoint.orientation(1), setpoint.orientation(2), setpoint.orientation(3), setpoint.gripper()};
    sent.add(s);
    sentTicks.add(ticks);
    references.add(followed ? lastReference.clone() : null);
    if (followed && !same(s, lastReference)) {
      modifiedTicks.add(ticks);
    }
    String problem = checker.check(setpoint);
    if (problem != null && firstViolation == null) {
      firstViolation = "tick " + ticks + " mode " + mode + ": " + problem + " setpoint " + Arrays.toString(s);
    }
  }

  private static boolean same(double[] setpoint, double[] reference) {
    for (int i = 0; i < 3; i++) {
      if (Math.abs(setpoint[i] - reference[i]) > 1e-12) {
        return false;
      }
    }
    // q and -q are the same rotation. Compare components, not the cosine of the angle between them:
    // 1 - cos(angle) is about angle^2 / 2, so a rotation clamped by a microradian would look unchanged.
    double norm = 0;
    for (int i = 3; i < 7; i++) {
      norm += reference[i] * reference[i];
    }
    norm = Math.sqrt(norm);
    double same = 0;
    double opposite = 0;
    for (int i = 3; i < 7; i++) {
      same = Math.max(same, Math.abs(setpoint[i] - reference[i] / norm));
      opposite = Math.max(opposite, Math.abs(setpoint[i] + reference[i] / norm));
    }
    if (Math.min(same, opposite) > 1e-12) {
      return false;
    }
    return Math.abs(setpoint[7] - reference[7]) <= 1e-12;
  }

  public boolean lastFollowed() {
    return lastFollowed;
  }

  public boolean lastSent() {
    return lastSent;
  }

  public double[] lastSetpoint() {
    return sent.get(sent.size() - 1);
  }

  public ExecutionSnapshot state() {
    ExecutionSnapshot snapshot = new ExecutionSnapshot();
    controller.readState(snapshot);
    return snapshot;
  }

  public List<SafetyEvent> events(SafetyEventKind kind) {
    return events.stream().filter(e -> e.kind() == kind).toList();
  }

  /** Submits a chunk whose observation was taken {@code ageNanos} ago. */
  public ChunkVerdict submit(long id, long ageNanos, long stepPeriodNanos, ExecutionSettings settings,
      double[]... steps) {
    ActionChunk chunk = ActionChunk.of(id, now() - ageNanos, stepPeriodNanos, Arrays.asList(steps), 128);
    return controller.submit(chunk, settings);
  }

  /** Submits the continuation of a committed prefix of {@code firstStep} steps, observed {@code ageNanos} ago. */
  public ChunkVerdict submitContinuation(long id, long ageNanos, int firstStep, long stepPeriodNanos,
      ExecutionSettings settings, double[]... steps) {
    ActionChunk chunk = ActionChunk.of(id, now() - ageNanos, stepPeriodNanos, firstStep, Arrays.asList(steps), 128);
    return controller.submit(chunk, settings);
  }

  /** H identical steps. */
  public static double[][] repeat(int count, double... step) {
    double[][] steps = new double[count][];
    for (int i = 0; i < count; i++) {
      steps[i] = step.clone();
    }
    return steps;
  }
}
