package io.vlaserve.evaluation;

import io.vlaserve.controller.ActionChunk;
import io.vlaserve.controller.ChunkVerdict;
import io.vlaserve.controller.ControllerConfig;
import io.vlaserve.controller.ExecutionMode;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import io.vlaserve.planner.session.CommittedActions;
import io.vlaserve.planner.session.RecentDelays;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.robot.sim.SimulatedRobotDriver;
import io.vlaserve.sim.BlockState;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.Vec3;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import io.vlaserve.sim.task.SuccessPredicates;
import io.vlaserve.skills.Task;
import io.vlaserve.skills.Subgoal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Real-time chunking closed loop: BLEND (each chunk crossfaded in over 100 ms, the steps past on
 * arrival skipped) against PREFIX (each request carries the actions the robot will execute while
 * the policy runs, and the chunk, decoded as their continuation, is spliced where they end) on
 * put-on-plate tasks with extra inference latency injected.
 *
 * <p>Executed as the suite executes it, on a manual clock so the machine's speed does not matter:
 * the robot captures an observation every 100 ms; the gateway keeps one request at the policy and
 * the newest observation waiting; a chunk arrives {@code base + extra} ms after its request went;
 * the 1 kHz {@link RobotController} interpolates (minimum-jerk), splices or blends, and gates it
 * into absolute poses for the simulator. PREFIX sizes the prefix from the recent p90 of
 * observation-to-chunk latency, as the gateway does ({@link CommittedActions}). Not part of the
 * default build:
 *
 * <pre>
 * mvn -B -ntp -pl evaluation -am test -Dtest=RealTimeChunkingBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dmodel=../models/tiny-vla-h8 -Depisodes=40 -Dlatencies=0,100,200,300,400 -Dmodes=blend,prefix
 * </pre>
 */
class RealTimeChunkingBenchmark {
  private static final long MS = 1_000_000;
  private static final long OBSERVATION_PERIOD = 100 * MS;
  /** The seams' jerk is read over this long after a chunk starts (the crossfade's length). */
  private static final long SEAM_WINDOW = 100 * MS;

  /** reactionNanos: -1 if the scene was not changed, Long.MAX_VALUE if the robot never turned. */
  private record Outcome(boolean success, List<Double> seamJerks, int chunks, int spliced, int rejected,
      int holds, long reactionNanos) {}

  /** When the target block is moved in a scene-change episode: this long into the first subgoal. */
  private static final long SCENE_CHANGE_AT = 150 * MS;
  /** How far it is moved, metres: behind the robot, against its motion. */
  private static final double SCENE_CHANGE_DISTANCE = 0.08;

  @Test
  void run() throws Exception {
    ModelPackage model = ModelPackage.load(Path.of(System.getProperty("model", "../models/tiny-vla-h8")));
    int episodes = Integer.getInteger("episodes", 10);
    long base = Integer.getInteger("base", 20) * MS;
    List<Integer> latencies = Arrays.stream(System.getProperty("latencies", "0,100,200,300,400").split(","))
        .map(String::trim).map(Integer::valueOf).toList();
    List<String> modes = List.of(System.getProperty("modes", "blend,prefix").split(","));
    boolean scene = Boolean.getBoolean("scene");
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "model %s (H=%d), %d episodes, base latency %d ms%n| extra latency | mode | tasks succeeded |"
            + " seam jerk p50 | seam jerk p95 | chunks | spliced | rejected | holds |%n|---:|---|---:|---:|---:|---:|---:|---:|---:|%n",
        model.name(), model.chunkLength(), episodes, base / MS));
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1)) {
      VlaPolicy policy = new VlaPolicy(model, engine);
      for (int latency : latencies) {
        for (String mode : modes) {
          int succeeded = 0;
          List<Double> jerks = new ArrayList<>();
          int chunks = 0;
          int spliced = 0;
          int rejected = 0;
          int holds = 0;
          List<Long> reactions = new ArrayList<>();
          for (int e = 0; e < episodes; e++) {
            Outcome outcome = episode(policy, model, e, base + latency * MS, mode.trim().equals("prefix"), scene);
            if (outcome.reactionNanos() >= 0) {
              reactions.add(outcome.reactionNanos());
            }
            succeeded += outcome.success() ? 1 : 0;
            jerks.addAll(outcome.seamJerks());
            chunks += outcome.chunks();
            spliced += outcome.spliced();
            rejected += outcome.rejected();
            holds += outcome.holds();
          }
          jerks.sort(null);
          String row = String.format(Locale.ROOT, "| %d ms | %s | %d/%d | %.0f | %.0f | %d | %d | %d | %d |%n",
              latency, mode.trim().toUpperCase(Locale.ROOT), succeeded, episodes, percentile(jerks, 0.5),
              percentile(jerks, 0.95), chunks, spliced, rejected, holds);
          System.out.print("RESULT " + row);
          table.append(row);
          if (scene) {
            reactions.sort(null);
            long turned = reactions.stream().filter(r -> r != Long.MAX_VALUE).count();
            System.out.printf(Locale.ROOT, "SCENE | %d ms | %s | block moved in %d episodes | turned towards it in %d |"
                    + " reaction p50 %s | p90 %s |%n", latency, mode.trim().toUpperCase(Locale.ROOT), reactions.size(),
                turned, reaction(reactions, 0.5), reaction(reactions, 0.9));
          }
        }
      }
    }
    System.out.println(table);
  }

  private static String reaction(List<Long> sorted, double q) {
    if (sorted.isEmpty()) {
      return "-";
    }
    long value = sorted.get((int) Math.min(sorted.size() - 1, Math.floor(q * sorted.size())));
    return value == Long.MAX_VALUE ? "never" : (value / MS) + " ms";
  }

  private static double percentile(List<Double> sorted, double q) {
    return sorted.isEmpty() ? Double.NaN : sorted.get((int) Math.min(sorted.size() - 1, Math.floor(q * sorted.size())));
  }

  private record Pending(long observationNanos, byte[] image, float[] proprio) {}

  private record InFlight(long observationNanos, long arrivalNanos, double[][] actions, int firstStep, int epoch) {}

  private Outcome episode(VlaPolicy policy, ModelPackage model, int e, long latency, boolean prefixMode,
      boolean sceneChange) {
    SplittableRandom random = new SplittableRandom(1000L * 7919 + e);
    TabletopWorld world = new TabletopWorld(random.nextLong(), new WorldConfig(2 + random.nextInt(3), true));
    Task task = Task.putOnPlate(world.snapshot().blocks().get(0).color());
    TabletopRenderer renderer = new TabletopRenderer(CameraConfig.of(model.imageWidth(), model.imageHeight()));
    long[] now = {1_000_000_000_000L};
    SafetyLimits limits = ControllerDrivenLearner.defaultLimits();
    SimulatedRobotDriver driver = new SimulatedRobotDriver(world, now[0]);
    RobotController controller = new RobotController(ControllerConfig.of("sim-0"), limits, driver, () -> now[0]);
    ExecutionSettings settings =
        new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.crossfade(Duration.ofMillis(100)));
    JerkMeter jerk = new JerkMeter();
    controller.setTickListener((slot, reference, followed, setpoint, sent, mode) -> {
      if (sent) {
        jerk.add(setpoint.position(0), setpoint.position(1), setpoint.position(2));
      }
    });
    CommittedActions committed = CommittedActions.endEffectorDelta();
    long period = model.stepPeriod().toNanos();
    RecentDelays delays = new RecentDelays();
    ExecutionSnapshot state = new ExecutionSnapshot();
    List<Double> seamJerks = new ArrayList<>();
    int chunks = 0;
    int rejected = 0;
    int holds = 0;
    long chunkId = 0;
    long lastActivated = 0;
    long seamStart = Long.MIN_VALUE;
    double seamMax = 0;
    boolean success = true;
    byte[] image = renderer.newFrame();
    long nextCapture = now[0];
    Pending waiting = null;
    InFlight inFlight = null;
    int epoch = 0;
    ExecutionMode lastMode = ExecutionMode.IDLE;
    // Scene change: the TCP's horizontal path over the last 20 ms, the move's time and the new spot.
    double[][] path = new double[21][2];
    long movedAt = -1;
    double newX = 0;
    double newY = 0;
    long reaction = -1;
    for (Subgoal subgoal : task.subgoals()) {
      epoch++;
      long subgoalStart = now[0];
      WorldState start = world.snapshot();
      long deadline = now[0] + subgoal.skill().stepBudget() * OBSERVATION_PERIOD;
      boolean done = false;
      while (now[0] < deadline && !done) {
        if (now[0] >= nextCapture) {
          renderer.render(world, image);
          double[] proprio = world.snapshot().proprio();
          float[] p = new float[proprio.length];
          for (int i = 0; i < p.length; i++) {
            p[i] = (float) proprio[i];
          }
          waiting = new Pending(now[0], image.clone(), p);
          nextCapture += OBSERVATION_PERIOD;
        }
        if (inFlight == null && waiting != null) {
          double[][] prefix = new double[0][];
          if (prefixMode) {
            int d = CommittedActions.prefixLength(delays.p90(), period, model.chunkLength());
            prefix = committed.prefix(waiting.observationNanos(), period, d);
          }
          double[][] actions = policy.infer(new PolicyRequest(waiting.image(), subgoal.instruction(), waiting.proprio(),
              model.chunkLength(), new SamplingParams(0, 0, 0, e), prefix)).actions();
          inFlight = new InFlight(waiting.observationNanos(), now[0] + latency, actions, prefix.length, epoch);
          waiting = null;
        }
        if (inFlight != null && now[0] >= inFlight.arrivalNanos()) {
          delays.add(now[0] - inFlight.observationNanos());
          if (inFlight.epoch() == epoch) {
            ActionChunk chunk = ActionChunk.of(++chunkId, inFlight.observationNanos(), period, inFlight.firstStep(),
                Arrays.asList(inFlight.actions()), 128);
            ChunkVerdict verdict = controller.submit(chunk, settings);
            chunks++;
            if (verdict.accepted()) {
              committed.accepted(chunk.observationNanos(), period, chunk.firstStep(), inFlight.actions(),
                  Math.max(now[0] + MS, chunk.stepTimeNanos(verdict.skippedSteps())));
            } else {
              rejected++;
            }
            if (Boolean.getBoolean("verbose")) {
              System.out.printf(Locale.ROOT, "  %.3f s chunk %d obs %.3f first %d steps %d: %s; ee (%.3f, %.3f, %.3f)"
                      + " block (%.3f, %.3f) step0 (%.4f, %.4f, %.4f)%n",
                  (now[0] - 1_000_000_000_000L) * 1e-9, chunk.chunkId(), (chunk.observationNanos() - 1_000_000_000_000L) * 1e-9,
                  chunk.firstStep(), chunk.steps(), verdict.accepted() ? "skip " + verdict.skippedSteps() : verdict.message(),
                  world.eeX(), world.eeY(), world.eeZ(), world.blockX(0), world.blockY(0), chunk.value(0, 0),
                  chunk.value(0, 1), chunk.value(0, 2));
              StringBuilder dy = new StringBuilder("    dy");
              for (int i = 0; i < chunk.steps(); i++) {
                dy.append(String.format(Locale.ROOT, " %.4f", chunk.value(i, 1)));
              }
              System.out.println(dy);
            }
          }
          inFlight = null;
        }
        now[0] += MS;
        controller.tick(now[0]);
        controller.events().drain(event -> {
          if (Boolean.getBoolean("verbose")) {
            System.out.println("  event " + event);
          }
        });
        controller.readState(state);
        if (state.mode != ExecutionMode.EXECUTING) {
          if (lastMode == ExecutionMode.EXECUTING) {
            holds++;
            if (Boolean.getBoolean("verbose")) {
              System.out.printf(Locale.ROOT, "  %.3f s %s%n", (now[0] - 1_000_000_000_000L) * 1e-9, state.mode);
            }
          }
          committed.clear();
        }
        lastMode = state.mode;
        if (state.chunksActivated != lastActivated) {
          if (seamStart != Long.MIN_VALUE) {
            seamJerks.add(seamMax);
          }
          lastActivated = state.chunksActivated;
          seamStart = now[0];
          seamMax = 0;
        }
        if (seamStart != Long.MIN_VALUE && now[0] - seamStart < SEAM_WINDOW) {
          seamMax = Math.max(seamMax, jerk.last());
        }
        if (sceneChange && epoch == 1) {
          int slot = (int) ((now[0] / MS) % path.length);
          double[] oldest = path[(slot + 1) % path.length];
          double vx = (world.eeX() - oldest[0]) / 0.02;
          double vy = (world.eeY() - oldest[1]) / 0.02;
          path[slot][0] = world.eeX();
          path[slot][1] = world.eeY();
          double speed = Math.hypot(vx, vy);
          if (movedAt < 0 && now[0] - subgoalStart >= SCENE_CHANGE_AT && Boolean.getBoolean("verbose")) {
            System.out.printf(Locale.ROOT, "  scene: %.3f s speed %.3f m/s%n", (now[0] - 1_000_000_000_000L) * 1e-9, speed);
          }
          if (movedAt < 0 && now[0] - subgoalStart >= SCENE_CHANGE_AT && speed > 0.05) {
            // Put the block behind the robot (or, where that is taken, beside it): it must turn to reach it.
            double ux = vx / speed;
            double uy = vy / speed;
            double[][] directions = {{-ux, -uy}, {-uy, ux}, {uy, -ux}};
            movedAt = Long.MAX_VALUE;
            for (double[] direction : directions) {
              newX = world.eeX() + SCENE_CHANGE_DISTANCE * direction[0];
              newY = world.eeY() + SCENE_CHANGE_DISTANCE * direction[1];
              if (moveTarget(world, newX, newY)) {
                movedAt = now[0];
                reaction = Long.MAX_VALUE;
                start = world.snapshot();
                break;
              }
            }
          } else if (movedAt >= 0 && movedAt != Long.MAX_VALUE && reaction == Long.MAX_VALUE && speed > 0.02
              && vx * (newX - world.eeX()) + vy * (newY - world.eeY()) > 0) {
            reaction = now[0] - movedAt;
          }
        }
        // Judged on the robot's frames, one per observation period, as the suite judges a subgoal
        // (SimulatedRobot's camera): a target merely swept through between frames does not count.
        if (now[0] % OBSERVATION_PERIOD == 0 && SuccessPredicates.isSatisfied(subgoal, start, world.snapshot())) {
          done = true;
        }
      }
      if (Boolean.getBoolean("verbose")) {
        System.out.printf(Locale.ROOT, "episode %d %s: %s %s at %.1f s, ee (%.3f, %.3f, %.3f) gripper %.2f%n", e,
            prefixMode ? "prefix" : "blend", subgoal.instruction(), done ? "done" : "FAILED",
            (now[0] - 1_000_000_000_000L) * 1e-9, world.eeX(), world.eeY(), world.eeZ(), world.gripper());
      }
      if (!done) {
        success = false;
        break;
      }
    }
    success = success && SuccessPredicates.isSatisfied(task, world.snapshot());
    return new Outcome(success, seamJerks.subList(Math.min(1, seamJerks.size()), seamJerks.size()), chunks,
        (int) state.chunksSpliced, rejected, holds, reaction);
  }

  /** Moves the task's block (the first) to {@code (x, y)} on the table; false if it cannot go there. */
  private static boolean moveTarget(TabletopWorld world, double x, double y) {
    WorldState now = world.snapshot();
    List<BlockState> blocks = new ArrayList<>(now.blocks());
    BlockState target = blocks.get(0);
    blocks.set(0, new BlockState(target.color(), new Vec3(x, y, target.center().z())));
    try {
      world.restore(new WorldState(now.eePosition(), now.eeOrientation(), now.gripper(), now.heldIndex(), blocks,
          now.plateCenter(), now.stepCount()));
      return true;
    } catch (IllegalArgumentException outsideOrOverlapping) {
      if (Boolean.getBoolean("verbose")) {
        System.out.println("  block not moved: " + outsideOrOverlapping.getMessage());
      }
      return false;
    }
  }

  /** Jerk magnitude of the setpoint path, m/s^3, from its third difference at 1 kHz. */
  private static final class JerkMeter {
    private final double[][] history = new double[4][3];
    private int count;
    private double last;

    void add(double x, double y, double z) {
      System.arraycopy(history, 1, history, 0, 3);
      history[3] = new double[] {x, y, z};
      count++;
      if (count < 4) {
        last = 0;
        return;
      }
      double sum = 0;
      for (int axis = 0; axis < 3; axis++) {
        double j = (history[3][axis] - 3 * history[2][axis] + 3 * history[1][axis] - history[0][axis]) / 1e-9;
        sum += j * j;
      }
      last = Math.sqrt(sum);
    }

    double last() {
      return last;
    }
  }
}
