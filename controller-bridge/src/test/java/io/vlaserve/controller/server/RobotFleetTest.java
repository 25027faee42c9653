package io.vlaserve.controller.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.controller.ActionChunk;
import io.vlaserve.controller.ExecutionMode;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.loop.ControlLoop;
import io.vlaserve.controller.safety.LimitMode;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fleet without Spring: configuration, loop assignment, and a graceful stop. */
class RobotFleetTest {

  static ControllerProperties properties(int simulated, int loopThreads, List<String> remote) {
    return properties(simulated, loopThreads, remote, 0);
  }

  static ControllerProperties properties(int simulated, int loopThreads, List<String> remote, int loopPriority) {
    return properties(simulated, loopThreads, remote, List.of(), loopPriority);
  }

  static ControllerProperties properties(int simulated, int loopThreads, List<String> remote, List<String> standby,
      int loopPriority) {
    ControllerProperties.Limit rate = new ControllerProperties.Limit(1.0, LimitMode.CLAMP);
    return new ControllerProperties(1000, loopThreads, Duration.ofNanos(50_000), loopPriority, simulated, 0, remote,
        standby,
        Duration.ofMillis(20), 0, "127.0.0.1", 128, 32, Duration.ofMillis(50), Duration.ofMillis(5),
        new ControllerProperties.Execution(Interpolation.MINIMUM_JERK, Blending.Mode.LINEAR_CROSSFADE,
            Duration.ofMillis(100), 0.5, Duration.ofMillis(100)),
        new ControllerProperties.Limits(List.of(0.25, -0.3, 0.01), List.of(0.75, 0.3, 0.35), LimitMode.CLAMP,
            rate, new ControllerProperties.Limit(10, LimitMode.CLAMP), new ControllerProperties.Limit(6500, LimitMode.CLAMP),
            new ControllerProperties.Limit(5, LimitMode.CLAMP), new ControllerProperties.Limit(10, LimitMode.CLAMP),
            Duration.ofMillis(50), new ControllerProperties.Limit(60, LimitMode.CLAMP),
            new ControllerProperties.Limit(40000, LimitMode.CLAMP), new ControllerProperties.Limit(400, LimitMode.CLAMP),
            null),
        null, null, Duration.ofMillis(500), Duration.ofSeconds(2), Duration.ofMillis(10));
  }

  @Test
  void robotsAreSpreadOverTheLoopsAndUnknownOnesNamed() {
    RobotFleet fleet = new RobotFleet(properties(5, 2, List.of("arm-1")));
    assertEquals(List.of("sim-0", "sim-1", "sim-2", "sim-3", "sim-4", "arm-1"),
        fleet.robots().stream().map(Robot::id).toList());
    assertEquals(2, fleet.loops().size());
    List<ControlLoop> loops = new ArrayList<>();
    fleet.robots().forEach(r -> loops.add(r.loop()));
    assertEquals(List.of(loops.get(0), loops.get(1), loops.get(0), loops.get(1), loops.get(0), loops.get(1)), loops);
    UnknownRobotException e = assertThrows(UnknownRobotException.class, () -> fleet.robot("nope"));
    assertTrue(e.getMessage().endsWith("(expected one of: sim-0, sim-1, sim-2, sim-3, sim-4, arm-1)"), e.getMessage());
  }

  @Test
  void standbyRobotsAreDrivenAsRemoteRobotsAndARobotIsOwnOrStandbyNotBoth() {
    RobotFleet fleet = new RobotFleet(properties(0, 1, List.of("arm-1", "arm-2"), List.of("arm-3"), 0));
    assertEquals(List.of("arm-1", "arm-2", "arm-3"), fleet.robots().stream().map(Robot::id).toList());
    IllegalArgumentException both = assertThrows(IllegalArgumentException.class,
        () -> new RobotFleet(properties(0, 1, List.of("arm-1"), List.of("arm-1"), 0)));
    assertEquals("vla.controller.standby-robots: 'arm-1' is in remote-robots too (a robot is this bridge's own or its"
        + " standby, not both)", both.getMessage());
    IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
        () -> new RobotFleet(properties(0, 1, List.of("arm-1"), List.of("arm-3", "arm-3"), 0)));
    assertTrue(twice.getMessage().contains("'arm-3' is configured twice"), twice.getMessage());
  }

  @Test
  void loopsAskForTheConfiguredRealtimePriorityAndSayWhatTheyGot() throws InterruptedException {
    RobotFleet fleet = new RobotFleet(properties(2, 2, List.of(), 40));
    fleet.start();
    try {
      for (ControlLoop loop : fleet.loops()) {
        // The thread asks before its first tick; waiting for a tick is waiting for the answer.
        for (int i = 0; i < 10_000 && loop.statistics().snapshot().ticks() == 0; i++) {
          Thread.sleep(1);
        }
        String scheduling = loop.scheduling();
        assertTrue(scheduling.equals("SCHED_FIFO priority 40")
            || scheduling.startsWith("nice -10 (SCHED_FIFO priority 40 refused")
            || scheduling.startsWith("normal: "), scheduling);
      }
    } finally {
      fleet.stop();
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> properties(1, 1, List.of(), 100));
    assertTrue(e.getMessage().startsWith("vla.controller.loop-priority: 100 (expected: 1..99"), e.getMessage());
  }

  @Test
  void stoppingBringsEveryMovingRobotToAHold() throws InterruptedException {
    RobotFleet fleet = new RobotFleet(properties(2, 1, List.of()));
    fleet.start();
    try {
      Robot robot = fleet.robot("sim-1");
      List<double[]> steps = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        steps.add(new double[] {0.02, 0, 0, 0, 0, 0, 1});
      }
      // Right after start the robot may not have reported its first state; the controller refuses
      // chunks until it has, so submit as a client would: again until accepted.
      var verdict = robot.controller().submit(ActionChunk.of(1, System.nanoTime(), 100_000_000, steps, 128),
          new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.crossfade(Duration.ofMillis(100))));
      for (int attempt = 2; !verdict.accepted() && attempt < 400; attempt++) {
        Thread.sleep(5);
        verdict = robot.controller().submit(ActionChunk.of(attempt, System.nanoTime(), 100_000_000, steps, 128),
            new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.crossfade(Duration.ofMillis(100))));
      }
      assertTrue(verdict.accepted(), verdict.toString());
      ExecutionSnapshot state = new ExecutionSnapshot();
      for (int i = 0; i < 3000 && state.commandedSpeed() < 0.19; i++) {
        Thread.sleep(1);
        robot.controller().readState(state);
      }
      assertTrue(state.commandedSpeed() > 0.15, "moving before the stop: " + state.commandedSpeed());
    } finally {
      fleet.stop();
    }
    assertFalse(fleet.isRunning());
    for (Robot robot : fleet.robots()) {
      ExecutionSnapshot state = robot.state();
      assertEquals(ExecutionMode.HALTED, state.mode);
      assertEquals(0, state.commandedSpeed(), 0, robot.id() + " holds");
      assertFalse(robot.loop().isRunning());
    }
  }
}
