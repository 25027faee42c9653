package io.vlaserve.robot.client;

import com.google.protobuf.Duration;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.AgentHello;
import io.vlaserve.controller.v1.AgentMessage;
import io.vlaserve.controller.v1.BridgeMessage;
import io.vlaserve.controller.v1.RobotAgentLinkGrpc;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The robot side of the controller bridge's remote driver ({@code vla.controller.v1.RobotAgentLink}):
 * streams the robot's state at a fixed rate, forwards each setpoint to the {@link RobotHardware},
 * and holds the robot on its own when setpoints stop for {@code holdAfter} (link loss), when the
 * bridge says hold, or when the link fails. Thread-safe; {@link #close} ends the link.
 */
public final class RobotAgent implements AutoCloseable {
  private final RobotHardware hardware;
  private final long periodNanos;
  private final long holdAfterNanos;
  private final ClientCallStreamObserver<AgentMessage> requests;
  private final Thread reporter;
  private final AtomicLong setpoints = new AtomicLong();
  private volatile long lastSetpointNanos = System.nanoTime();
  private long lastReportNanos;
  private static final long MAX_SILENCE_NANOS = 10_000_000L;
  private volatile boolean holding = true;
  private volatile boolean running = true;
  private volatile Status closedWith;

  private RobotAgent(Channel channel, RobotIdentity robot, RobotHardware hardware, double stateRateHz,
      java.time.Duration holdAfter) {
    if (!(stateRateHz > 0) || stateRateHz > 10_000) {
      throw new IllegalArgumentException("stateRateHz: " + stateRateHz + " (expected 0 < rate <= 10000)");
    }
    this.hardware = hardware;
    this.periodNanos = Math.round(1e9 / stateRateHz);
    this.holdAfterNanos = holdAfter.toNanos();
    Responses responses = new Responses();
    RobotAgentLinkGrpc.newStub(channel).connect(responses);
    this.requests = responses.requests;
    requests.onNext(AgentMessage.newBuilder().setHello(AgentHello.newBuilder()
        .setRobot(robot)
        .setStateRateHz(stateRateHz)
        .setHoldAfter(Duration.newBuilder().setSeconds(holdAfter.getSeconds()).setNanos(holdAfter.getNano())))
        .build());
    reporter = Thread.ofPlatform().daemon(true).name("robot-agent-" + robot.getRobotId()).start(this::report);
  }

  /**
   * Connects {@code hardware} to the bridge behind {@code channel} as robot {@code robot}.
   *
   * @param stateRateHz how often the robot's state is sent
   * @param holdAfter how long without a setpoint before the robot holds on its own; keep it above
   *     the bridge's control period and below its link timeout
   */
  public static RobotAgent connect(Channel channel, RobotIdentity robot, RobotHardware hardware, double stateRateHz,
      java.time.Duration holdAfter) {
    return new RobotAgent(channel, robot, hardware, stateRateHz, holdAfter);
  }

  /** Setpoints received so far. */
  public long setpoints() {
    return setpoints.get();
  }

  /** Whether the robot is holding on its own (no setpoints for holdAfter, told to hold, or link down). */
  public boolean holding() {
    return holding;
  }

  /** The status the link ended with, or null while it is up. */
  public Status closedWith() {
    return closedWith;
  }

  private void report() {
    long next = System.nanoTime();
    while (running) {
      try {
        AgentMessage state = AgentMessage.newBuilder().setState(hardware.state()).build();
        synchronized (requests) {
          // Skip a report while the transport is backed up, but never go silent for long: the
          // bridge declares the link lost (and halts the robot) when state stops arriving.
          long now = System.nanoTime();
          if (running && (requests.isReady() || now - lastReportNanos > MAX_SILENCE_NANOS)) {
            requests.onNext(state);
            lastReportNanos = now;
          }
        }
      } catch (RuntimeException e) {
        closedWith = Status.fromThrowable(e);
      }
      if (!holding && System.nanoTime() - lastSetpointNanos > holdAfterNanos) {
        hold("no setpoint for " + TimeUnit.NANOSECONDS.toMillis(holdAfterNanos) + " ms (link loss)");
      }
      next += periodNanos;
      long sleep = next - System.nanoTime();
      if (sleep > 0) {
        try {
          Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        } catch (InterruptedException e) {
          return;
        }
      } else {
        next = System.nanoTime();
      }
    }
  }

  private synchronized void hold(String reason) {
    if (!holding) {
      holding = true;
      hardware.hold(reason);
    }
  }

  @Override
  public void close() {
    running = false;
    reporter.interrupt();
    synchronized (requests) {
      try {
        requests.onCompleted();
      } catch (IllegalStateException alreadyClosed) {
        // The call already ended.
      }
    }
    hold("agent closed");
  }

  private final class Responses implements ClientResponseObserver<AgentMessage, BridgeMessage> {
    ClientCallStreamObserver<AgentMessage> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<AgentMessage> requestStream) {
      this.requests = requestStream;
    }

    @Override
    public void onNext(BridgeMessage message) {
      if (message.hasSetpoint()) {
        synchronized (RobotAgent.this) {
          lastSetpointNanos = System.nanoTime();
          holding = false;
          hardware.command(message.getSetpoint());
        }
        setpoints.incrementAndGet();
      } else if (message.hasHold()) {
        hold("bridge: " + message.getHold().getReason());
      }
    }

    @Override
    public void onError(Throwable t) {
      closedWith = Status.fromThrowable(t);
      running = false;
      hold("link to the controller bridge failed: " + closedWith);
    }

    @Override
    public void onCompleted() {
      closedWith = Status.OK;
      running = false;
      hold("the controller bridge closed the link");
    }
  }
}
