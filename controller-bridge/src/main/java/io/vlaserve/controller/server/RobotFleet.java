package io.vlaserve.controller.server;

import io.vlaserve.controller.messages.ProtoTime;
import io.vlaserve.controller.ExecutionMode;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.driver.RobotDriverProvider;
import io.vlaserve.controller.loop.ControlLoop;
import io.vlaserve.controller.loop.SystemLoopClock;
import io.vlaserve.controller.safety.SafetyLimits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Every robot this bridge drives, their control loops, and the thread that streams their safety
 * events.
 *
 * <p>Robots come from configuration: {@code simulated-robots} simulated ones ({@code sim-0}, ...,
 * each a scene of its own, made by the {@code RobotDriverProvider} of kind "simulated" that
 * vla-sim-robot puts on the class path) and the {@code remote-robots} whose agents connect over
 * {@code RobotAgentLink}. They are spread round-robin over {@code loop-threads} dedicated loops.
 *
 * <p>Lifecycle: starts before the gRPC server (so gRPC health is SERVING only once loops run) and
 * stops after it: every robot decelerates to a hold within its limits, remote robots are told to
 * hold, then the loops stop. Thread-safe.
 */
@Component
public class RobotFleet implements SmartLifecycle {
  private static final Logger log = LoggerFactory.getLogger(RobotFleet.class);
  /** Before the gRPC server's Integer.MAX_VALUE: started earlier, stopped later. */
  static final int PHASE = Integer.MAX_VALUE - 1000;

  private final ControllerProperties properties;
  private final Map<String, Robot> robots = new LinkedHashMap<>();
  private final List<ControlLoop> loops = new ArrayList<>();
  private final ScheduledExecutorService events = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().name("controller-events").daemon(true).factory());
  private volatile boolean running;

  @Autowired
  public RobotFleet(ControllerProperties properties) {
    this(properties, ProtoTime.system());
  }

  /**
   * A fleet whose remote drivers and controllers run on {@code time}'s clocks (tests inject them;
   * simulated robots keep the system clock).
   */
  RobotFleet(ControllerProperties properties, ProtoTime time) {
    this.properties = properties;
    SafetyLimits limits = properties.limits().toLimits();
    List<List<RobotController>> perLoop = new ArrayList<>();
    for (int i = 0; i < properties.loopThreads(); i++) {
      perLoop.add(new ArrayList<>());
    }
    List<String> ids = new ArrayList<>();
    List<RobotDriver> drivers = new ArrayList<>();
    RobotDriverProvider simulated = properties.simulatedRobots() > 0 ? RobotDriverProvider.of("simulated") : null;
    for (int i = 0; i < properties.simulatedRobots(); i++) {
      ids.add("sim-" + i);
      // Each its own scene, at rest at the centre start pose inside the box.
      drivers.add(simulated.create("sim-" + i, properties.simulatorSeed() + i, System.nanoTime()));
    }
    for (String id : properties.standbyRobots()) {
      if (properties.remoteRobots().contains(id)) {
        throw new IllegalArgumentException("vla.controller.standby-robots: '" + id + "' is in remote-robots too (a"
            + " robot is this bridge's own or its standby, not both)");
      }
    }
    List<String> remote = new ArrayList<>(properties.remoteRobots());
    remote.addAll(properties.standbyRobots());
    for (String id : remote) {
      if (ids.contains(id)) {
        throw new IllegalArgumentException("vla.controller.remote-robots: '" + id + "' is configured twice");
      }
      ids.add(id);
      drivers.add(new RemoteRobotDriver(id, properties.linkTimeout().toNanos(), properties.agentFrameSetpoints(),
          properties.agentFrame().toNanos(), time));
    }
    List<RobotController> controllers = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      RobotController controller =
          new RobotController(properties.controllerConfig(ids.get(i)), limits, drivers.get(i), time::nowNanos);
      controllers.add(controller);
      perLoop.get(i % perLoop.size()).add(controller);
    }
    long period = Math.round(1e9 / properties.rateHz());
    List<ControlLoop> loopOfRobot = new ArrayList<>(Collections.nCopies(ids.size(), null));
    for (int k = 0; k < perLoop.size(); k++) {
      if (perLoop.get(k).isEmpty()) {
        continue;
      }
      ControlLoop loop = new ControlLoop(String.valueOf(k), period, new SystemLoopClock(properties.spin().toNanos()),
          perLoop.get(k), properties.loopScheduling());
      loops.add(loop);
      for (int i = k; i < ids.size(); i += perLoop.size()) {
        loopOfRobot.set(i, loop);
      }
    }
    for (String id : properties.robotEnvelopes().keySet()) {
      if (!ids.contains(id)) {
        throw new IllegalArgumentException("vla.controller.robot-envelopes: '" + id + "' is not a robot of this"
            + " bridge (expected one of " + ids + ")");
      }
    }
    for (int i = 0; i < ids.size(); i++) {
      robots.put(ids.get(i), new Robot(ids.get(i), controllers.get(i), drivers.get(i), loopOfRobot.get(i),
          properties.envelope(ids.get(i))));
    }
  }

  /**
   * Returns the robot named {@code robotId}.
   *
   * @throws UnknownRobotException listing the robots there are
   */
  public Robot robot(String robotId) {
    Robot robot = robots.get(robotId);
    if (robot == null) {
      throw new UnknownRobotException(robotId, robots.keySet());
    }
    return robot;
  }

  /** Returns every robot, in configuration order. */
  public List<Robot> robots() {
    return List.copyOf(robots.values());
  }

  /** Returns every control loop. */
  public List<ControlLoop> loops() {
    return List.copyOf(loops);
  }

  @Override
  public void start() {
    for (ControlLoop loop : loops) {
      loop.start();
    }
    long poll = properties.eventPollPeriod().toNanos();
    events.scheduleWithFixedDelay(this::publishEvents, poll, poll, TimeUnit.NANOSECONDS);
    running = true;
    log.info("Driving {} robot(s) {} at {} Hz on {} loop thread(s)", robots.size(), robots.keySet(),
        properties.rateHz(), loops.size());
  }

  private void publishEvents() {
    for (Robot robot : robots.values()) {
      try {
        robot.publishEvents();
      } catch (RuntimeException e) {
        log.warn("Publishing safety events of {} failed", robot.id(), e);
      }
    }
  }

  /**
   * Brings every robot to a hold within its limits (at most two seconds), tells remote robots to
   * hold on their own, and stops the loops.
   */
  @Override
  public void stop() {
    for (Robot robot : robots.values()) {
      robot.controller().requestHalt(false, "the controller bridge is shutting down");
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (!allStopped() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (Robot robot : robots.values()) {
      if (robot.driver() instanceof RemoteRobotDriver remote) {
        remote.hold("the controller bridge is shutting down");
      }
    }
    for (ControlLoop loop : loops) {
      loop.stop(Duration.ofSeconds(1));
    }
    events.shutdown();
    publishEvents();
    running = false;
    log.info("Stopped: every robot holds");
  }

  /**
   * Waits until no robot is commanded to move (or each holds on its own: e-stopped, its link lost,
   * not ready), at most {@code limit}.
   *
   * @return whether every robot came to rest in time
   */
  boolean awaitAtRest(Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    ExecutionSnapshot state = new ExecutionSnapshot();
    while (true) {
      boolean atRest = true;
      for (Robot robot : robots.values()) {
        robot.controller().readState(state);
        boolean holdsItself = state.mode == ExecutionMode.ESTOPPED || !state.linkAlive || !state.ready;
        atRest &= holdsItself || state.commandedSpeed() == 0;
      }
      if (atRest) {
        return true;
      }
      if (System.nanoTime() >= deadline) {
        return false;
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  private boolean allStopped() {
    ExecutionSnapshot state = new ExecutionSnapshot();
    for (Robot robot : robots.values()) {
      robot.controller().readState(state);
      boolean holdsItself = state.mode == ExecutionMode.ESTOPPED || !state.linkAlive || !state.ready;
      if (!holdsItself && (state.mode != ExecutionMode.HALTED || state.commandedSpeed() > 0)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }
}
