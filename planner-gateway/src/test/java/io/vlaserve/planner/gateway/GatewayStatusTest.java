package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.vlaserve.planner.PlanningException;
import io.vlaserve.planner.resume.ResumeTokenException;
import io.vlaserve.planner.session.SessionMachine;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.policy.v1.PolicyMetadata;
import java.time.Duration;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class GatewayStatusTest {
  private static final PolicyMetadata POLICY = PolicyMetadata.newBuilder().setModelName("tiny-vla")
      .setActionProfile("tiny-sim").build();

  private static void assertStatus(Status.Code code, String description, Status status) {
    assertEquals(code, status.getCode(), status.toString());
    assertEquals(description, status.getDescription());
  }

  private static RetryInfo retryInfo(StatusRuntimeException e) throws Exception {
    return StatusProto.fromThrowable(e).getDetails(0).unpack(RetryInfo.class);
  }

  @Nested
  class Opening {
    @Test
    void aBadOpenSaysWhatWasExpected() {
      assertStatus(Status.Code.INVALID_ARGUMENT, "the first message must be `open` (robot id, task); got OBSERVATION",
          GatewayStatus.notOpenFirst(RobotMessage.MessageCase.OBSERVATION));
      assertStatus(Status.Code.INVALID_ARGUMENT, "`open` may only be sent once per session", GatewayStatus.openedTwice());
      assertStatus(Status.Code.INVALID_ARGUMENT, "open.robot.robot_id is empty (expected the id the controller bridge"
          + " knows the robot by)", GatewayStatus.noRobotId());
      assertStatus(Status.Code.INVALID_ARGUMENT, "open.task is empty (expected a task in plain language, e.g. \"put"
          + " the red block on the plate\")", GatewayStatus.noTask());
      assertStatus(Status.Code.ALREADY_EXISTS, "robot arm-1 already has an open session on this gateway; cancel or"
          + " close it first", GatewayStatus.sessionExists("arm-1"));
      assertStatus(Status.Code.INVALID_ARGUMENT, "robot embodiment 'aloha' does not match the loaded policy's action"
          + " profile 'tiny-sim' (tiny-vla); connect to a gateway serving a policy for this robot",
          GatewayStatus.otherEmbodiment("aloha", POLICY));
    }

    @ParameterizedTest
    @EnumSource(ResumeTokenException.Reason.class)
    void eachRefusedResumeTokenHasItsCodeAndSaysWhy(ResumeTokenException.Reason reason) {
      Status.Code expected = switch (reason) {
        case MALFORMED, UNKNOWN_VERSION -> Status.Code.INVALID_ARGUMENT;
        case UNKNOWN_KEY, BAD_SIGNATURE, EXPIRED, NOT_YET_VALID -> Status.Code.UNAUTHENTICATED;
        case OTHER_ROBOT -> Status.Code.PERMISSION_DENIED;
        case REPLAYED -> Status.Code.FAILED_PRECONDITION;
      };
      assertStatus(expected, "resume refused (" + reason.name().toLowerCase(java.util.Locale.ROOT)
          + "): what went wrong; open a new session without a resume token",
          GatewayStatus.resumeTokenRefused(new ResumeTokenException(reason,
              "what went wrong; open a new session without a resume token")));
    }

    @Test
    void aResumeRacingAnotherStreamForTheRobotIsAbortedAndSaysWhatToDo() {
      Status busy = Status.FAILED_PRECONDITION.withDescription("robot arm-1 is already driven by another Execute stream;"
          + " close that stream first");
      assertTrue(GatewayStatus.robotBusy(busy));
      assertTrue(!GatewayStatus.robotBusy(Status.FAILED_PRECONDITION.withDescription("robot arm-1 is halted")));
      Status status = GatewayStatus.resumedRobotBusy("arm-1", busy);
      assertEquals(Status.Code.ABORTED, status.getCode());
      assertTrue(status.getDescription().contains("did not take the session"), status.getDescription());
    }

    @Test
    void theBridgesRefusalOfAHeldRobotIsToldApartFromOtherRefusals() {
      assertEquals(SessionMachine.BridgeHold.HALTED, GatewayStatus.heldAtBridge(Status.FAILED_PRECONDITION
          .withDescription("robot arm-1 is halted; call Resume before executing")));
      assertEquals(SessionMachine.BridgeHold.E_STOPPED, GatewayStatus.heldAtBridge(Status.FAILED_PRECONDITION
          .withDescription("robot arm-1 is e-stopped; call Resume before executing")));
      assertEquals(SessionMachine.BridgeHold.NONE, GatewayStatus.heldAtBridge(Status.FAILED_PRECONDITION
          .withDescription("robot arm-1 is already driven by another Execute stream; close that stream first")));
      assertEquals(SessionMachine.BridgeHold.NONE, GatewayStatus.heldAtBridge(Status.NOT_FOUND
          .withDescription("robot arm-1 is halted; call Resume before executing")), "only FAILED_PRECONDITION");
      assertEquals(SessionMachine.BridgeHold.NONE, GatewayStatus.heldAtBridge(Status.FAILED_PRECONDITION));
    }

    @Test
    void aReplicaAtCapacityTellsTheRobotToHoldAndWhenToComeBack() throws Exception {
      StatusRuntimeException refused = GatewayStatus.atCapacity(32, Duration.ofSeconds(5));
      assertStatus(Status.Code.RESOURCE_EXHAUSTED, "planner-gateway is at capacity: 32 robot sessions are open"
          + " (vla.gateway.quota.max-sessions); the robot should hold and open again later, or the fleet needs another"
          + " gateway replica; retry in 5000 ms", refused.getStatus());
      assertEquals(5, retryInfo(refused).getRetryDelay().getSeconds());
    }
  }

  @Nested
  class Planning {
    @ParameterizedTest
    @EnumSource(PlanningException.Kind.class)
    void eachKindOfPlanningFailureHasItsCode(PlanningException.Kind kind) {
      Status status = GatewayStatus.planningFailed(new PlanningException(kind, "why"));
      switch (kind) {
        case UNSUPPORTED_TASK -> assertStatus(Status.Code.INVALID_ARGUMENT, "why", status);
        case TIMEOUT -> assertStatus(Status.Code.DEADLINE_EXCEEDED, "the planner did not answer in time: why", status);
        case UNAVAILABLE -> assertStatus(Status.Code.UNAVAILABLE, "the planner is unavailable: why", status);
        case INVALID_REPLY -> assertStatus(Status.Code.UNAVAILABLE, "the planner gave no valid plan: why", status);
        case BUSY -> assertStatus(Status.Code.RESOURCE_EXHAUSTED, "the planner is busy: why; retry in 1000 ms", status);
      }
    }

    @Test
    void aBusyPlannerRefusesPlanTaskWithRetryInfo() throws Exception {
      StatusRuntimeException busy = GatewayStatus.planTaskFailed(new PlanningException(PlanningException.Kind.BUSY,
          "8 plans at once"));
      assertStatus(Status.Code.RESOURCE_EXHAUSTED, "the planner is busy: 8 plans at once; retry in 1000 ms",
          busy.getStatus());
      assertEquals(1, retryInfo(busy).getRetryDelay().getSeconds());
      assertStatus(Status.Code.INVALID_ARGUMENT, "no sandwiches", GatewayStatus.planTaskFailed(
          new PlanningException(PlanningException.Kind.UNSUPPORTED_TASK, "no sandwiches")).getStatus());
    }

    @Test
    void aBadPlanTaskSaysWhatWasExpected() {
      assertStatus(Status.Code.INVALID_ARGUMENT, "task is empty (expected a task in plain language)",
          GatewayStatus.noPlanTask());
      assertStatus(Status.Code.INVALID_ARGUMENT, "embodiment 'aloha' is not the loaded policy's ('tiny-sim')",
          GatewayStatus.otherPlanEmbodiment("aloha", POLICY));
    }
  }

  @Nested
  class Services {
    @Test
    void policyServiceUnavailableNamesItsAnswer() {
      assertStatus(Status.Code.UNAVAILABLE, "policy-service is not available (DEADLINE_EXCEEDED: 5 s); retry shortly",
          GatewayStatus.policyUnavailable(Status.DEADLINE_EXCEEDED.withDescription("5 s")));
    }

    @Test
    void aRefusedResumeNamesTheBridgesAnswer() {
      assertEquals("resume refused by the controller bridge: FAILED_PRECONDITION e-stop latched",
          GatewayStatus.resumeRefused(Status.FAILED_PRECONDITION.withDescription("e-stop latched")));
    }

    @Test
    void aStreamsEndingIsDescribedByCodeAndDescription() {
      assertEquals("UNAVAILABLE: connection refused",
          GatewayStatus.describe(Status.UNAVAILABLE.withDescription("connection refused")));
      assertEquals("CANCELLED", GatewayStatus.describe(Status.CANCELLED));
    }

    @Test
    void aStoppingGatewaySendsRobotsElsewhere() {
      Status ended = GatewayStatus.shuttingDown();
      assertEquals(Status.Code.UNAVAILABLE, ended.getCode());
      assertTrue(ended.getDescription().contains("Reconnect"), ended.getDescription());
      assertStatus(Status.Code.UNAVAILABLE, "the gateway is shutting down; connect to another replica",
          GatewayStatus.notServing());
    }
  }
}
