package io.vlaserve.planner.gateway;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vlaserve.planner.PlanningException;
import io.vlaserve.planner.resume.ResumeTokenException;
import io.vlaserve.planner.session.SessionMachine;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.service.quota.RateQuota;
import java.time.Duration;
import java.util.Locale;

/**
 * The one place where the gateway's refusals and failures become gRPC statuses, with messages that
 * say what was wrong and what to do about it. Stateless.
 *
 * <table>
 *   <caption>Failures and their codes</caption>
 *   <tr><th>failure</th><th>code</th></tr>
 *   <tr><td>a bad open (not first, twice, no robot id, no task), a robot or PlanTask of another
 *       embodiment, a task the planner cannot plan</td><td>INVALID_ARGUMENT</td></tr>
 *   <tr><td>a resume token that is malformed or in an unknown format</td><td>INVALID_ARGUMENT</td></tr>
 *   <tr><td>a resume token forged, signed with an unknown key, expired or not yet valid</td>
 *       <td>UNAUTHENTICATED</td></tr>
 *   <tr><td>another robot's resume token</td><td>PERMISSION_DENIED</td></tr>
 *   <tr><td>a resume token already used</td><td>FAILED_PRECONDITION</td></tr>
 *   <tr><td>a resume whose robot another Execute stream drives (a racing resume elsewhere)</td><td>ABORTED</td></tr>
 *   <tr><td>a second session for a robot</td><td>ALREADY_EXISTS</td></tr>
 *   <tr><td>the replica at capacity, the planner busy</td><td>RESOURCE_EXHAUSTED (with RetryInfo but
 *       for a busy planner at a session's open)</td></tr>
 *   <tr><td>the planner timed out</td><td>DEADLINE_EXCEEDED</td></tr>
 *   <tr><td>policy-service or the planner unavailable, the planner's reply invalid, the gateway
 *       shutting down</td><td>UNAVAILABLE</td></tr>
 * </table>
 */
final class GatewayStatus {
  /** The retry hint of a refusal because the planner was busy. */
  static final Duration PLANNER_BUSY_RETRY = Duration.ofSeconds(1);

  private GatewayStatus() {}

  // ------------------------------------------------------------------ opening a session

  static Status notOpenFirst(RobotMessage.MessageCase first) {
    return Status.INVALID_ARGUMENT.withDescription("the first message must be `open` (robot id, task); got " + first);
  }

  static Status openedTwice() {
    return Status.INVALID_ARGUMENT.withDescription("`open` may only be sent once per session");
  }

  static Status noRobotId() {
    return Status.INVALID_ARGUMENT.withDescription("open.robot.robot_id is empty (expected the id the controller"
        + " bridge knows the robot by)");
  }

  static Status noTask() {
    return Status.INVALID_ARGUMENT.withDescription("open.task is empty (expected a task in plain language, e.g."
        + " \"put the red block on the plate\")");
  }

  /** A resume token that does not resume: its reason's code, and what to do in the message. */
  static Status resumeTokenRefused(ResumeTokenException refusal) {
    Status code = switch (refusal.reason()) {
      case MALFORMED, UNKNOWN_VERSION -> Status.INVALID_ARGUMENT;
      case UNKNOWN_KEY, BAD_SIGNATURE, EXPIRED, NOT_YET_VALID -> Status.UNAUTHENTICATED;
      case OTHER_ROBOT -> Status.PERMISSION_DENIED;
      case REPLAYED -> Status.FAILED_PRECONDITION;
    };
    return code.withDescription("resume refused (" + refusal.reason().name().toLowerCase(Locale.ROOT) + "): "
        + refusal.getMessage());
  }

  /** The bridge's answer when another Execute stream drives the robot: its status code and message. */
  static boolean robotBusy(Status bridgeAnswer) {
    return bridgeAnswer.getCode() == Status.Code.FAILED_PRECONDITION && bridgeAnswer.getDescription() != null
        && bridgeAnswer.getDescription().contains("already driven by another Execute stream");
  }

  /**
   * Whether the bridge refused an Execute stream because it holds the robot halted or e-stopped
   * (the wording controller.proto documents for Execute), and which; NONE for any other answer.
   */
  static SessionMachine.BridgeHold heldAtBridge(Status bridgeAnswer) {
    String description = bridgeAnswer.getDescription();
    if (bridgeAnswer.getCode() != Status.Code.FAILED_PRECONDITION || description == null) {
      return SessionMachine.BridgeHold.NONE;
    }
    if (description.contains(" is halted; call Resume")) {
      return SessionMachine.BridgeHold.HALTED;
    }
    if (description.contains(" is e-stopped; call Resume")) {
      return SessionMachine.BridgeHold.E_STOPPED;
    }
    return SessionMachine.BridgeHold.NONE;
  }

  /** A resume whose execution did not open because another stream drives the robot. */
  static Status resumedRobotBusy(String robotId, Status bridgeAnswer) {
    return Status.ABORTED.withDescription("robot " + robotId + " is driven by another Execute stream at the controller"
        + " bridge (another gateway replica resumed this session, or an earlier connection still holds the robot):"
        + " this resume did not take the session. Reconnect to the replica holding it, or close that session and"
        + " open a new one (" + describe(bridgeAnswer) + ")");
  }

  /** A resume whose execution did not open for another reason. */
  static Status resumedExecutionFailed(String robotId, Status bridgeAnswer) {
    return Status.UNAVAILABLE.withDescription("the controller bridge did not open robot " + robotId
        + "'s execution for the resumed session (" + describe(bridgeAnswer) + "); the resume token is used up: open a"
        + " new session with the task");
  }

  /** The refusal of an open past {@code capacity} sessions; RetryInfo rides in the trailers. */
  static StatusRuntimeException atCapacity(int capacity, Duration retryAfter) {
    return RateQuota.exhausted("planner-gateway is at capacity: " + capacity + " robot sessions are open"
        + " (vla.gateway.quota.max-sessions); the robot should hold and open again later, or the fleet needs another"
        + " gateway replica", retryAfter);
  }

  static Status sessionExists(String robotId) {
    return Status.ALREADY_EXISTS.withDescription("robot " + robotId
        + " already has an open session on this gateway; cancel or close it first");
  }

  static Status otherEmbodiment(String embodiment, PolicyMetadata policy) {
    return Status.INVALID_ARGUMENT.withDescription("robot embodiment '" + embodiment + "' does not match the loaded"
        + " policy's action profile '" + policy.getActionProfile() + "' (" + policy.getModelName()
        + "); connect to a gateway serving a policy for this robot");
  }

  // ------------------------------------------------------------------ PlanTask

  static Status noPlanTask() {
    return Status.INVALID_ARGUMENT.withDescription("task is empty (expected a task in plain language)");
  }

  static Status otherPlanEmbodiment(String embodiment, PolicyMetadata policy) {
    return Status.INVALID_ARGUMENT.withDescription("embodiment '" + embodiment + "' is not the loaded policy's ('"
        + policy.getActionProfile() + "')");
  }

  /** Why PlanTask made no plan; a busy planner's refusal carries RetryInfo. */
  static StatusRuntimeException planTaskFailed(PlanningException e) {
    return e.kind() == PlanningException.Kind.BUSY
        ? RateQuota.exhausted("the planner is busy: " + e.getMessage(), PLANNER_BUSY_RETRY)
        : planningFailed(e).asRuntimeException();
  }

  // ------------------------------------------------------------------ services

  /** The status a caller gets when no plan could be made. */
  static Status planningFailed(PlanningException e) {
    return switch (e.kind()) {
      case UNSUPPORTED_TASK -> Status.INVALID_ARGUMENT.withDescription(e.getMessage());
      case TIMEOUT -> Status.DEADLINE_EXCEEDED.withDescription("the planner did not answer in time: " + e.getMessage());
      case UNAVAILABLE -> Status.UNAVAILABLE.withDescription("the planner is unavailable: " + e.getMessage());
      case INVALID_REPLY -> Status.UNAVAILABLE.withDescription("the planner gave no valid plan: " + e.getMessage());
      case BUSY -> Status.RESOURCE_EXHAUSTED.withDescription("the planner is busy: " + e.getMessage()
          + "; retry in " + PLANNER_BUSY_RETRY.toMillis() + " ms");
    };
  }

  /** policy-service did not answer the handshake with {@code answer}. */
  static Status policyUnavailable(Status answer) {
    return Status.UNAVAILABLE.withDescription("policy-service is not available (" + answer.getCode() + ": "
        + answer.getDescription() + "); retry shortly");
  }

  /** A hold notice's reason when the bridge refused the robot's resume. */
  static String resumeRefused(Status answer) {
    return "resume refused by the controller bridge: " + answer.getCode() + " " + answer.getDescription();
  }

  /** A stream's ending in a reason for people: "UNAVAILABLE: connection refused", or just the code. */
  static String describe(Status status) {
    return status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
  }

  // ------------------------------------------------------------------ shutdown

  /** How a session ends when the gateway stops. */
  static Status shuttingDown() {
    return Status.UNAVAILABLE.withDescription("the gateway is shutting down; the robot was told to hold."
        + " Reconnect with the session's newest resume token: a replica holding the same resume keys"
        + " continues the same subgoal (robot-client's SessionReopener does this)");
  }

  /** The refusal of an open while the gateway stops. */
  static Status notServing() {
    return Status.UNAVAILABLE.withDescription("the gateway is shutting down; connect to another replica");
  }
}
