package io.vlaserve.evaluation;

import io.vlaserve.controller.*;
import io.vlaserve.robot.sim.SimulatedRobotDriver;
import io.vlaserve.controller.safety.*;
import io.vlaserve.controller.trajectory.*;
import io.vlaserve.policy.*;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.sim.*;
import io.vlaserve.sim.render.*;
import io.vlaserve.sim.task.*;
import io.vlaserve.skills.*;
import java.nio.file.Path;
import java.time.Duration;
import java.util.*;
import org.junit.jupiter.api.Test;

/**
 * Put-on-plate tasks with the shipped policy executed the way the suite executes it: observations
 * every {@code obs} ms, the chunk arriving {@code lat} ms later (inference latency, simulated on a
 * manual clock), then interpolated, blended and gated by the 1 kHz {@link RobotController} into
 * absolute poses for the simulator. Compares latency-compensation and blending choices on task
 * success, which the seam-jerk benchmark cannot see. Not part of the default build:
 *
 * <pre>
 * mvn -B -ntp -pl evaluation -am test -Dtest=ThroughControllerBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Depisodes=20 -Dlat=20 -Dobs=100 -Dblend=xf|none|exp [-Dmodel=../models/tiny-vla-parallel] \
 *     [-Djudge=frame|tick] [-Dworld=<seed> -Dblocks=3] [-Dverbose=true]
 * </pre>
 */
class ThroughControllerBenchmark {
  @Test
  void run() throws Exception {
    ModelPackage model = ModelPackage.load(Path.of(System.getProperty("model", "../models/tiny-vla")));
    int latencyMs = Integer.getInteger("lat", 20);
    int obsMs = Integer.getInteger("obs", 100);
    String blend = System.getProperty("blend", "exp");
    // The suite judges a subgoal on the robot's camera frames (one per observation period); "tick"
    // judges it every controller tick, which also counts a target merely passed through between frames.
    boolean judgedOnFrames = !System.getProperty("judge", "frame").equals("tick");
    boolean verbose = Boolean.getBoolean("verbose"); // one line per observation in each episode's log
    try (OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1)) {
      VlaPolicy policy = new VlaPolicy(model, engine);
      TabletopRenderer renderer = new TabletopRenderer(CameraConfig.of(model.imageWidth(), model.imageHeight()));
      int ok = 0, n = Integer.getInteger("episodes", 10);
      for (int e = 0; e < n; e++) {
        SplittableRandom random = new SplittableRandom(1000L * 7919 + e);
        long worldSeed = random.nextLong();
        int blocks = 2 + random.nextInt(3);
        if (Long.getLong("world") != null) { // one scene, e.g. the e2e tests' (-Dworld=<seed> -Dblocks=3)
          worldSeed = Long.getLong("world");
          blocks = Integer.getInteger("blocks", 3);
        }
        TabletopWorld world = new TabletopWorld(worldSeed, new WorldConfig(blocks, true));
        Task task = Long.getLong("world") != null ? Task.putOnPlate(io.vlaserve.skills.BlockColor.RED)
            : Task.putOnPlate(world.snapshot().blocks().get(0).color());
        long[] now = {1_000_000_000_000L};
        SafetyLimits limits = ControllerDrivenLearner.defaultLimits();
        SimulatedRobotDriver driver = new SimulatedRobotDriver(world, now[0]);
        RobotController controller = new RobotController(ControllerConfig.of("sim-0"), limits, driver, () -> now[0]);
        ExecutionSettings settings = new ExecutionSettings(Interpolation.MINIMUM_JERK,
            blend.equals("exp") ? Blending.exponential(0.5) : blend.equals("none") ? Blending.NONE : Blending.crossfade(Duration.ofMillis(100)));
        byte[] image = renderer.newFrame();
        boolean taskOk = true;
        long chunkId = 0;
        StringBuilder log = new StringBuilder();
        for (Subgoal subgoal : task.subgoals()) {
          WorldState start = world.snapshot();
          int budgetMs = subgoal.skill().stepBudget() * 100;
          int elapsed = 0;
          boolean done = false;
          while (elapsed < budgetMs && !done) {
            if (judgedOnFrames && SuccessPredicates.isSatisfied(subgoal, start, world.snapshot())) {
              done = true; // the robot's frame says so, as SimulatedRobot's camera does in the suite
              break;
            }
            renderer.render(world, image);
            long obsTime = now[0];
            double[] proprio = world.snapshot().proprio();
            float[] p = new float[proprio.length];
            for (int i = 0; i < p.length; i++) p[i] = (float) proprio[i];
            double[][] actions = policy.infer(new PolicyRequest(image.clone(), subgoal.instruction(), p, model.chunkLength(), new SamplingParams(0, 0, 0, e))).actions();
            if (verbose) {
              WorldState seen = world.snapshot();
              double sx = 0, sy = 0, sz = 0;
              StringBuilder grip = new StringBuilder();
              for (double[] step : actions) { sx += step[0]; sy += step[1]; sz += step[2]; grip.append(String.format(java.util.Locale.ROOT, " %.2f", step[6])); }
              log.append(String.format(java.util.Locale.ROOT, "  %5d ms %s ee (%.4f %.4f %.4f) gripper %.2f holding %s -> chunk sum (%.4f %.4f %.4f) gripper%s%n",
                  elapsed, subgoal.instruction(), seen.eePosition().x(), seen.eePosition().y(), seen.eePosition().z(),
                  proprio[7], seen.isHolding(), sx, sy, sz, grip));
            }
            // inference latency: tick the controller meanwhile
            // (the subgoal's success is checked on every tick, also while the chunk is on its way: with a
            // latency of a whole observation period or more there are no ticks after it arrives)
            for (int t = 0; t < latencyMs && !done; t++) {
              now[0] += 1_000_000; controller.tick(now[0]); elapsed++;
              controller.events().drain(ev -> {});
              done = !judgedOnFrames && SuccessPredicates.isSatisfied(subgoal, start, world.snapshot());
            }
            if (done) break;
            ChunkVerdict v = controller.submit(ActionChunk.of(++chunkId, obsTime, 100_000_000L, Arrays.asList(actions), 128), settings);
            if (!v.accepted()) log.append("rejected ").append(v).append('\n');
            for (int t = latencyMs; t < obsMs; t++) {
              now[0] += 1_000_000; controller.tick(now[0]); elapsed++;
              controller.events().drain(ev -> {});
              if (!judgedOnFrames && SuccessPredicates.isSatisfied(subgoal, start, world.snapshot())) { done = true; break; }
            }
          }
          log.append(subgoal.instruction()).append(done ? " ok " : " FAILED ").append(elapsed).append(" ms\n");
          if (!done) { taskOk = false; break; }
        }
        if (taskOk && SuccessPredicates.isSatisfied(task, world.snapshot())) ok++;
        System.out.println("episode " + e + " " + (taskOk ? "OK" : "FAIL") + "\n" + log);
      }
      System.out.println("RESULT " + ok + "/" + n + " lat=" + latencyMs + " obs=" + obsMs + " blend=" + blend
          + " judged=" + (judgedOnFrames ? "frame" : "tick"));
    }
  }
}
