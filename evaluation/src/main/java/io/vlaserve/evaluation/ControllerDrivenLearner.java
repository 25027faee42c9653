package io.vlaserve.evaluation;

import io.vlaserve.controller.ActionChunk;
import io.vlaserve.controller.ChunkVerdict;
import io.vlaserve.controller.ControllerConfig;
import io.vlaserve.controller.ExecutionMode;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.Vector3;
import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.LimitMode;
import io.vlaserve.controller.safety.OrientationLimit;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import io.vlaserve.dataset.DemonstrationGenerator;
import io.vlaserve.planner.session.CommittedActions;
import io.vlaserve.planner.session.RecentDelays;
import io.vlaserve.robot.sim.SimulatedRobotDriver;
import io.vlaserve.sim.ActionSpace;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.Subgoal;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A learner for on-policy rows ({@code vla dataset generate --learner}) that drives the simulated
 * robot as the suite does: one chunk per observation period (0.1 s), arriving after an inference
 * latency drawn per take-over, interpolated (minimum jerk), crossfaded into the chunk still running
 * and gated by the 1 kHz {@link RobotController} with the bridge's default limits, on a manual
 * clock. So the rows show what the policy sees when it is served: the previous chunk still moving
 * the robot after a subgoal is met, the gripper half-way through closing, the motion latency adds.
 * Executing actions one by one on the world ({@link DemonstrationGenerator.Learner#stepwise}) shows
 * none of these.
 *
 * <p>{@link Execution#PREFIX} executes as a session in PREFIX mode does (real-time chunking): the
 * gateway keeps one request at the policy, each carrying the actions the robot is committed to
 * while it runs (as many steps as the p90 of recent observation-to-chunk latency covers, from
 * {@link CommittedActions}); the policy decodes the chunk as their continuation and the controller
 * splices it where they end. A frame that sent a request reports the prefix it carried, so its row is
 * labelled with those steps and the expert's plan from where the robot is when they have run.
 */
public final class ControllerDrivenLearner implements DemonstrationGenerator.Learner {
  private static final long PERIOD_MS = Math.round(ActionSpace.CONTROL_PERIOD_SECONDS * 1000);
  private static final long MILLISECOND = 1_000_000L;

  /** How chunks join the motion under way. */
  public enum Execution {
    /** Each chunk crossfaded in over 100 ms; no prefix. */
    BLEND,
    /** Each request carries the committed prefix; its continuation is spliced where the prefix ends. */
    PREFIX
  }

  private final DemonstrationGenerator.ChunkPolicy policy;
  private final int minLatencyMs;
  private final int maxLatencyMs;
  private final Execution execution;

  /**
   * @param minLatencyMs fewest milliseconds between an observation and its chunk reaching the controller
   * @param maxLatencyMs most; each take-over draws one value in between (uniformly)
   */
  public ControllerDrivenLearner(DemonstrationGenerator.ChunkPolicy policy, int minLatencyMs, int maxLatencyMs) {
    this(policy, minLatencyMs, maxLatencyMs, Execution.BLEND);
  }

  /** As {@link #ControllerDrivenLearner(DemonstrationGenerator.ChunkPolicy, int, int)}, executing as {@code execution}. */
  public ControllerDrivenLearner(DemonstrationGenerator.ChunkPolicy policy, int minLatencyMs, int maxLatencyMs,
      Execution execution) {
    if (minLatencyMs < 0 || maxLatencyMs < minLatencyMs || maxLatencyMs > 1000) {
      throw new IllegalArgumentException("learner latency: " + minLatencyMs + ".." + maxLatencyMs
          + " ms (expected: 0 <= min <= max <= 1000)");
    }
    this.policy = policy;
    this.minLatencyMs = minLatencyMs;
    this.maxLatencyMs = maxLatencyMs;
    this.execution = execution;
  }

  /** The bridge's default limits (controller-bridge's application.yml), as the benchmarks use them. */
  static SafetyLimits defaultLimits() {
    return new SafetyLimits(new Vector3(0.25, -0.30, 0.01), new Vector3(0.75, 0.30, 0.35), LimitMode.CLAMP,
        AxisLimit.clamp(1.0), AxisLimit.clamp(10), AxisLimit.clamp(6500), AxisLimit.clamp(5.0), AxisLimit.clamp(10),
        Duration.ofMillis(50), AxisLimit.clamp(60), AxisLimit.clamp(40000), AxisLimit.clamp(400),
        new OrientationLimit(new Vector3(0, 0, 1), new Vector3(0, 0, 1), 1.0472, LimitMode.CLAMP));
  }

  @Override
  public DemonstrationGenerator.Driver start(TabletopWorld world, SplittableRandom random) {
    int latencyMs = minLatencyMs + random.nextInt(maxLatencyMs - minLatencyMs + 1);
    if (execution == Execution.PREFIX) {
      return new PrefixDriver(world, latencyMs);
    }
    long[] now = {1_000_000_000_000L};
    RobotController controller = new RobotController(ControllerConfig.of("learner"), defaultLimits(),
        new SimulatedRobotDriver(world, now[0]), () -> now[0]);
    ExecutionSettings settings = new ExecutionSettings(Interpolation.MINIMUM_JERK,
        Blending.crossfade(Duration.ofMillis(100)));
    long[] chunkId = {0};
    Runnable tick = () -> {
      now[0] += MILLISECOND;
      controller.tick(now[0]);
      controller.events().drain(event -> { });
    };
    return (image, state, subgoal) -> {
      double[][] actions = DemonstrationGenerator.Learner.checked(policy.chunk(image, state, subgoal), subgoal);
      long observed = now[0];
      for (int t = 0; t < latencyMs; t++) {
        tick.run(); // the previous chunk goes on while this one is computed
      }
      ChunkVerdict verdict = controller.submit(ActionChunk.of(++chunkId[0], observed, PERIOD_MS * MILLISECOND,
          Arrays.asList(actions), 128), settings);
      if (!verdict.accepted()) {
        throw new IllegalStateException("the controller refused the learner's chunk for \""
            + subgoal.instruction() + "\": " + verdict);
      }
      for (long t = latencyMs; t < PERIOD_MS; t++) {
        tick.run();
      }
      return DemonstrationGenerator.NO_PREFIX;
    };
  }

  /** A request at the policy: its chunk reaches the controller at {@code arrivalNanos}. */
  private record InFlight(long observationNanos, long arrivalNanos, double[][] actions, int firstStep, Subgoal subgoal) {}

  /** PREFIX execution, as {@code RealTimeChunkingBenchmark} runs a session, one frame per advance. */
  private final class PrefixDriver implements DemonstrationGenerator.Driver {
    private final long periodNanos = PERIOD_MS * MILLISECOND;
    private final long latencyNanos;
    private final RobotController controller;
    private final ExecutionSettings settings = new ExecutionSettings(Interpolation.MINIMUM_JERK,
        Blending.crossfade(Duration.ofMillis(100)));
    private final CommittedActions committed = CommittedActions.endEffectorDelta();
    private final RecentDelays delays = new RecentDelays();
    private final ExecutionSnapshot state = new ExecutionSnapshot();
    private long now = 1_000_000_000_000L;
    private long chunkId;
    private int chunkLength = -1;
    private InFlight inFlight;

    PrefixDriver(TabletopWorld world, int latencyMs) {
      this.latencyNanos = latencyMs * MILLISECOND;
      this.controller = new RobotController(ControllerConfig.of("learner"), defaultLimits(),
          new SimulatedRobotDriver(world, now), () -> now);
    }

    @Override
    public double[][] advance(byte[] image, WorldState world, Subgoal subgoal) {
      long observed = now;
      double[][] prefix = DemonstrationGenerator.NO_PREFIX;
      if (chunkLength > 0) {
        int steps = CommittedActions.prefixLength(delays.p90(), periodNanos, chunkLength);
        prefix = committed.prefix(observed, periodNanos, steps);
      }
      double[][] sent = DemonstrationGenerator.NO_PREFIX;
      if (inFlight == null) {
        double[][] actions = DemonstrationGenerator.Learner.checked(
            policy.continuation(image, world, subgoal, prefix), subgoal);
        if (chunkLength < 0) {
          chunkLength = actions.length;
        }
        inFlight = new InFlight(observed, observed + latencyNanos, actions, prefix.length, subgoal);
        sent = prefix;
      }
      for (long t = 0; t < PERIOD_MS; t++) {
        if (inFlight != null && now >= inFlight.arrivalNanos()) {
          deliver(inFlight, subgoal);
          inFlight = null;
        }
        now += MILLISECOND;
        controller.tick(now);
        controller.events().drain(event -> { });
        controller.readState(state);
        if (state.mode != ExecutionMode.EXECUTING) {
          committed.clear(); // the robot holds: nothing it was sent is committed any more
        }
      }
      return sent;
    }

    /** As the gateway does: a chunk for an earlier subgoal is dropped; an accepted one is committed. */
    private void deliver(InFlight chunk, Subgoal current) {
      delays.add(now - chunk.observationNanos());
      if (!chunk.subgoal().equals(current)) {
        return;
      }
      ActionChunk actionChunk = ActionChunk.of(++chunkId, chunk.observationNanos(), periodNanos, chunk.firstStep(),
          Arrays.asList(chunk.actions()), 128);
      ChunkVerdict verdict = controller.submit(actionChunk, settings);
      if (!verdict.accepted()) {
        throw new IllegalStateException("the controller refused the learner's chunk for \""
            + current.instruction() + "\": " + verdict);
      }
      committed.accepted(actionChunk.observationNanos(), periodNanos, actionChunk.firstStep(), chunk.actions(),
          Math.max(now + MILLISECOND, actionChunk.stepTimeNanos(verdict.skippedSteps())));
    }
  }
}
