package io.vlaserve.controller.server;

import io.vlaserve.controller.messages.ControllerMessages;
import io.vlaserve.controller.messages.ProtoTime;
import com.google.protobuf.Duration;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.driver.FollowingDriver;
import io.vlaserve.service.warmup.WarmUpTask;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.stereotype.Component;

/**
 * Warms the control path before the bridge reports SERVING: a scratch controller, on a clock of its
 * own and a kinematic arm that is no robot, takes chunks converted from protobuf exactly as
 * {@code Execute} does and runs a second of 1 kHz ticks per round through the blender and the
 * safety gate, so that the first robots' ticks do not run interpreted, each many times longer than
 * compiled, on a loop with a 1 ms deadline.
 */
@Component
class ControllerWarmUp implements WarmUpTask {
  private static final long TICK = 1_000_000;
  private static final Instant EPOCH = Instant.parse("2026-01-01T00:00:00Z");

  private final ControllerProperties properties;
  private final AtomicLong ticker = new AtomicLong(1_000_000_000L);
  private final ProtoTime time = new ProtoTime(Clock.fixed(EPOCH, ZoneOffset.UTC), ticker::get);
  private final ExecutionSnapshot snapshot = new ExecutionSnapshot();
  private RobotController controller;
  private FollowingDriver arm;
  private long chunkId;

  ControllerWarmUp(ControllerProperties properties) {
    this.properties = properties;
  }

  @Override
  public String name() {
    return "control loop";
  }

  @Override
  public void runOnce() {
    if (controller == null || controller.mode() == io.vlaserve.controller.ExecutionMode.HALTED) {
      // The centre of the usual workspace, pointing down, gripper open.
      arm = new FollowingDriver(new double[] {0.5, 0, 0.2}, new double[] {0, 0, 0, 1}, 1, 0);
      controller = new RobotController(properties.controllerConfig("warm-up"), properties.limits().toLimits(),
          arm, ticker::get);
    }
    // Ten chunks a second, each ten 100 ms steps back and forth, as a policy would send them.
    for (int k = 0; k < 10; k++) {
      double direction = (chunkId++ % 2 == 0) ? 1 : -1;
      ActionChunk.Builder chunk = ActionChunk.newBuilder().setChunkId(chunkId).setActionProfile("eef-delta-7dof")
          .setStepPeriod(Duration.newBuilder().setNanos(100_000_000))
          .setObservationTime(time.toTimestamp(ticker.get()));
      for (int s = 0; s < 10; s++) {
        chunk.addSteps(ActionVector.newBuilder().addValues(0.002 * direction).addValues(-0.001 * direction)
            .addValues(0).addValues(0).addValues(0).addValues(0.01 * direction).addValues(s % 2));
      }
      controller.submit(ControllerMessages.chunk(chunk.build(), time, properties.maxChunkSteps()),
          properties.execution().settings());
      for (int t = 0; t < 100; t++) {
        controller.tick(ticker.addAndGet(TICK));
      }
      controller.readState(snapshot);
      controller.events().drain(event -> { });
    }
  }

  /** The scratch controller's ticks so far. */
  long ticks() {
    return controller == null ? 0 : controller.tickCount();
  }

  /** Setpoints the scratch arm followed so far. */
  long setpoints() {
    return arm == null ? 0 : arm.setpoints();
  }
}
