package io.vlaserve.controller.server;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.AgentHello;
import io.vlaserve.controller.v1.AgentMessage;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.RobotAgentLinkGrpc;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.controller.v1.SetpointRefused;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A minimal robot-side agent for tests: a kinematic arm that goes exactly to each setpoint, reports
 * its state at 500 Hz, and holds on its own when setpoints stop for {@code holdAfter} (or the bridge
 * says hold). It records the order of the first messages it gets, and can refuse a setpoint. The
 * real agent, which checks every setpoint, belongs to the robot-client module.
 */
final class TestAgent implements StreamObserver<BridgeMessage>, AutoCloseable {
  private static final long HOLD_AFTER_NANOS = 30_000_000;

  private final StreamObserver<AgentMessage> stream;
  private final Thread reporter;
  private final double[] pose = {0.5, 0.0, 0.2, 0, 0, 0, 1, 1.0};
  private volatile boolean reporting = true;
  private final CountDownLatch silent = new CountDownLatch(1);
  private volatile boolean running = true;
  private volatile long lastSetpointNanos = System.nanoTime();
  final AtomicLong setpoints = new AtomicLong();
  final AtomicReference<String> holdCommand = new AtomicReference<>();
  final AtomicLong lastSequence = new AtomicLong();
  final AtomicReference<SafetyLimits> limits = new AtomicReference<>();
  /** The kinds of the first 50 messages from the bridge, in order. */
  final List<BridgeMessage.MessageCase> firstMessages = new CopyOnWriteArrayList<>();
  /** How the bridge ended the link, once it did. */
  final AtomicReference<Status> closedWith = new AtomicReference<>();
  /** Whether the agent decided on its own to hold because setpoints stopped. */
  volatile boolean heldOnItsOwn;

  /**
   * Waits until the bridge has linked this agent (its limits, sent first on every link, arrived):
   * only then does the bridge take an Execute stream for the robot.
   */
  TestAgent linked() throws InterruptedException {
    io.vlaserve.testing.Await.until(() -> limits.get() != null, "the bridge links the agent");
    return this;
  }

  TestAgent(ManagedChannel channel, String robotId) {
    stream = RobotAgentLinkGrpc.newStub(channel).connect(this);
    stream.onNext(AgentMessage.newBuilder().setHello(AgentHello.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId(robotId))
        .setStateRateHz(500)
        .setHoldAfter(Duration.newBuilder().setNanos((int) HOLD_AFTER_NANOS))).build());
    reporter = Thread.ofPlatform().daemon(true).name("test-agent-" + robotId).start(this::report);
  }

  private void report() {
    while (running) {
      if (!reporting) {
        silent.countDown();
      } else {
        Instant now = Instant.now();
        RobotState state;
        synchronized (pose) {
          state = RobotState.newBuilder()
              .setTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
              .setEndEffector(Pose.newBuilder()
                  .setPosition(Vector3.newBuilder().setX(pose[0]).setY(pose[1]).setZ(pose[2]))
                  .setOrientation(Quaternion.newBuilder().setX(pose[3]).setY(pose[4]).setZ(pose[5]).setW(pose[6])))
              .setGripper(pose[7])
              .build();
        }
        synchronized (stream) {
          stream.onNext(AgentMessage.newBuilder().setState(state).build());
        }
      }
      if (System.nanoTime() - lastSetpointNanos > HOLD_AFTER_NANOS) {
        heldOnItsOwn = true;
      }
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /**
   * Stops reporting state while keeping the stream open: a silent link. Returns once the reporter
   * has seen it, so no report is still being built or sent (a late one would revive the link).
   */
  void goSilent() {
    reporting = false;
    try {
      if (!silent.await(15, TimeUnit.SECONDS)) {
        throw new AssertionError("the reporter did not stop within 15 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  double x() {
    synchronized (pose) {
      return pose[0];
    }
  }

  /** Tells the bridge the robot refused setpoint {@code sequence}, as robot-client's agent does. */
  void refuse(long sequence, String field, double value, String reason) {
    synchronized (stream) {
      stream.onNext(AgentMessage.newBuilder().setSetpointRefused(SetpointRefused.newBuilder()
          .setSequence(sequence).setField(field).setValue(value).setReason(reason)).build());
    }
  }

  @Override
  public void onNext(BridgeMessage message) {
    if (firstMessages.size() < 50) {
      firstMessages.add(message.getMessageCase());
    }
    if (message.hasLimits()) {
      limits.set(message.getLimits());
    }
    if (message.hasSetpoint()) {
      lastSequence.set(message.getSetpoint().getSequence());
      var target = message.getSetpoint().getTarget();
      synchronized (pose) {
        pose[0] = target.getPosition().getX();
        pose[1] = target.getPosition().getY();
        pose[2] = target.getPosition().getZ();
        pose[3] = target.getOrientation().getX();
        pose[4] = target.getOrientation().getY();
        pose[5] = target.getOrientation().getZ();
        pose[6] = target.getOrientation().getW();
        pose[7] = message.getSetpoint().getGripper();
      }
      lastSetpointNanos = System.nanoTime();
      heldOnItsOwn = false;
      setpoints.incrementAndGet();
    } else if (message.hasHold()) {
      holdCommand.set(message.getHold().getReason());
    }
  }

  @Override
  public void onError(Throwable t) {
    closedWith.set(Status.fromThrowable(t));
    running = false;
  }

  @Override
  public void onCompleted() {
    closedWith.set(Status.OK);
    running = false;
  }

  @Override
  public void close() {
    running = false;
    reporter.interrupt();
    synchronized (stream) {
      stream.onCompleted();
    }
  }
}
