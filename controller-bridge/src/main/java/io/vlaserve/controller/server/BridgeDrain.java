package io.vlaserve.controller.server;

import io.grpc.Status;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * What a bridge that is going away (SIGTERM: a drain, a rolling update) does first, before its
 * servers stop: it ends every Execute stream, each robot brought to a hold within its limits, so
 * the gateways learn at once instead of at the end of the gRPC grace, and starts no Execute stream
 * from then on (UNAVAILABLE: a gateway failing over must not drive the robot here again while its
 * agent is still linked); waits (at most two seconds)
 * for the robots to come to rest; then ends every robot agent's link, so the agent holds on its own
 * and reconnects, to another bridge that drives the robot (a standby shard) or to this one once it
 * is back (the agent link takes no new agents from the start of the drain). The gateways then open execution wherever the robot is driven next.
 */
@Component
class BridgeDrain {
  private static final Logger log = LoggerFactory.getLogger(BridgeDrain.class);
  static final Duration REST_LIMIT = Duration.ofSeconds(2);

  private final ControllerBridgeGrpcService executions;
  private final RobotFleet fleet;
  private final AgentLinkServer agentLink;

  BridgeDrain(ControllerBridgeGrpcService executions, RobotFleet fleet, AgentLinkServer agentLink) {
    this.executions = executions;
    this.fleet = fleet;
    this.agentLink = agentLink;
  }

  @EventListener(ContextClosedEvent.class)
  public void drain() {
    agentLink.stopAccepting();
    int ended = executions.endExecutions(Status.UNAVAILABLE.withDescription("the controller bridge is shutting down:"
        + " the robot is brought to a hold; its gateway opens execution again where the robot is driven next"));
    boolean atRest = fleet.awaitAtRest(REST_LIMIT);
    int agents = 0;
    for (Robot robot : fleet.robots()) {
      if (robot.driver() instanceof RemoteRobotDriver remote && remote.connected()) {
        remote.disconnect(Status.UNAVAILABLE.withDescription("the controller bridge is shutting down: hold, then"
            + " reconnect (another bridge may drive this robot)"));
        agents++;
      }
    }
    if (ended + agents > 0) {
      log.info("draining: ended {} Execute stream(s), robots {} at rest, disconnected {} agent(s)", ended,
          atRest ? "all" : "not all", agents);
    }
  }
}
