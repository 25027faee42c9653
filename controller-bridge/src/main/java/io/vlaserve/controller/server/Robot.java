package io.vlaserve.controller.server;

import io.vlaserve.controller.ControllerStateException;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.loop.ControlLoop;
import io.vlaserve.controller.safety.SafetyAction;
import io.vlaserve.controller.safety.SafetyEnvelope;
import io.vlaserve.controller.safety.SafetyEvent;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One robot the bridge drives: its controller, the loop that ticks it, which stream (if any)
 * drives it, and who listens to its safety events.
 *
 * <p>Thread-safe.
 */
public final class Robot {
  private static final Logger log = LoggerFactory.getLogger(Robot.class);

  private final String id;
  private final RobotController controller;
  private final RobotDriver driver;
  private final ControlLoop loop;
  private final SafetyEnvelope envelope;
  private final AtomicReference<Object> driverStream = new AtomicReference<>();
  /** The highest connection epoch each recent gateway session drove this robot at; bounded. */
  private final java.util.Map<String, Long> sessionEpochs = new java.util.LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(java.util.Map.Entry<String, Long> eldest) {
      return size() > REMEMBERED_SESSIONS;
    }
  };
  /** Sessions whose epochs a robot remembers: far more than a robot opens within a token's lifetime. */
  static final int REMEMBERED_SESSIONS = 64;
  private final List<Consumer<SafetyEvent>> listeners = new CopyOnWriteArrayList<>();

  Robot(String id, RobotController controller, RobotDriver driver, ControlLoop loop, SafetyEnvelope envelope) {
    this.id = id;
    this.envelope = envelope;
    this.controller = controller;
    this.driver = driver;
    this.loop = loop;
  }

  public String id() {
    return id;
  }

  public RobotController controller() {
    return controller;
  }

  public RobotDriver driver() {
    return driver;
  }

  public ControlLoop loop() {
    return loop;
  }

  /** Returns the widest limits this robot may be given over the API. */
  public SafetyEnvelope envelope() {
    return envelope;
  }

  /**
   * Makes {@code stream} the one Execute stream driving this robot, for gateway session
   * {@code sessionId} at connection {@code epoch}, unless another stream drives it or the session
   * has driven it at a later epoch (a replayed resume token); "" for no session: not checked.
   *
   * @throws RobotBusyException if another stream drives the robot
   * @throws ControllerStateException if the session has moved on to a later connection
   */
  synchronized void claim(Object stream, String sessionId, long epoch) {
    Long latest = sessionId.isEmpty() ? null : sessionEpochs.get(sessionId);
    if (latest != null && epoch < latest) {
      throw new ControllerStateException("robot " + id + ": session " + sessionId + " connection " + epoch
          + " was superseded by connection " + latest + " (a replayed resume token?); the robot is not taken");
    }
    if (!driverStream.compareAndSet(null, stream)) {
      throw new RobotBusyException(id);
    }
    if (!sessionId.isEmpty()) {
      sessionEpochs.put(sessionId, epoch);
    }
  }

  /** Frees the robot if {@code stream} drives it. */
  void release(Object stream) {
    driverStream.compareAndSet(stream, null);
  }

  /** Registers a listener for this robot's safety events; returns what unregisters it. */
  Runnable subscribe(Consumer<SafetyEvent> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  /** Drains the controller's safety events to the listeners; on the fleet's event thread. */
  void publishEvents() {
    controller.events().drain(event -> {
      // Halts need an operator's Resume: say why in the log too, not only to the streams watching.
      if (event.action() == SafetyAction.HALT) {
        log.warn("robot {} halted: {}", event.robotId(), event.message());
      }
      for (Consumer<SafetyEvent> listener : listeners) {
        listener.accept(event);
      }
    });
  }

  /** Returns the state published by the last tick. */
  ExecutionSnapshot state() {
    ExecutionSnapshot snapshot = new ExecutionSnapshot();
    controller.readState(snapshot);
    return snapshot;
  }

  /** Returns a mark to pass to {@link #awaitApplied} after giving the controller a command. */
  long tickMark() {
    return controller.tickCount();
  }

  /**
   * Waits until a command given after {@code mark} was taken has been applied: commands apply at
   * the start of a tick, so by the second tick published after the mark it has. Gives up after
   * {@code timeoutMillis} (a stopped loop) and returns false.
   */
  boolean awaitApplied(long mark, long timeoutMillis) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (controller.tickCount() < mark + 2) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(100_000);
    }
    return true;
  }
}
