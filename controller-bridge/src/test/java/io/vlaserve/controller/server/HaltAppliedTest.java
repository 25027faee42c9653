package io.vlaserve.controller.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vlaserve.controller.v1.HaltRequest;
import io.vlaserve.controller.v1.HaltResponse;
import io.vlaserve.service.tracing.VlaTracing;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Halt answers OK only once the control loop applied it: with a loop that never ticks (stalled or
 * stopped), the caller is told UNAVAILABLE instead of being reassured about a halt not in force.
 */
class HaltAppliedTest {
  private final RobotFleet fleet = new RobotFleet(RobotFleetTest.properties(1, 1, List.of()));
  private final ControllerProperties properties = RobotFleetTest.properties(1, 1, List.of());
  private final VlaTracing tracing = new VlaTracing("controller-bridge", null, false, 1.0);
  private final ControllerBridgeGrpcService service = new ControllerBridgeGrpcService(fleet, properties,
      new ControllerMetrics(fleet, new SimpleMeterRegistry()), tracing,
      new org.springframework.beans.factory.support.StaticListableBeanFactory().getBeanProvider(BridgeRecording.class));

  @AfterEach
  void close() {
    service.close();
    tracing.close();
  }

  /** Records the one answer of a unary call. */
  private static final class Answer<T> implements StreamObserver<T> {
    T value;
    Throwable error;

    @Override
    public void onNext(T next) {
      value = next;
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {}
  }

  @Test
  void aHaltTheLoopNeverAppliesIsUnavailableNotOk() {
    // The fleet is not started: its loop never ticks, like a stalled one.
    Answer<HaltResponse> answer = new Answer<>();
    service.halt(HaltRequest.newBuilder().setRobotId("sim-0").setReason("operator").build(), answer);
    assertNull(answer.value, "no OK for a halt that is not in force");
    assertNotNull(answer.error);
    Status status = Status.fromThrowable(answer.error);
    assertEquals(Status.Code.UNAVAILABLE, status.getCode());
    assertTrue(status.getDescription().startsWith("the halt of robot sim-0 was requested but its control loop did"
        + " not apply it within 1000 ms"), status.getDescription());
  }
}
