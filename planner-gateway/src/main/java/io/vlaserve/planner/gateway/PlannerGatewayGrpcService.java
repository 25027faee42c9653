package io.vlaserve.planner.gateway;

import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.PlanRequest;
import io.vlaserve.planner.v1.PlannerGatewayGrpc;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.PlannedTask;
import io.vlaserve.planner.PlanningException;
import io.vlaserve.planner.Planner;
import io.vlaserve.planner.PlanningRequest;
import io.vlaserve.planner.session.SessionSubgoal;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.service.auth.Principal;
import io.vlaserve.service.quota.RateQuota;
import io.vlaserve.service.tracing.VlaTracing;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Service;

/**
 * {@code vla.planner.v1.PlannerGateway}: one {@link RobotSession} per robot stream, and dry-run
 * planning. On shutdown every session tells its robot to hold before the server stops.
 */
@Service
public class PlannerGatewayGrpcService extends PlannerGatewayGrpc.PlannerGatewayImplBase {
  private static final Logger log = LoggerFactory.getLogger(PlannerGatewayGrpcService.class);

  private final SessionServices services;
  private final RateQuota opens;
  private final RateQuota plans;
  private volatile boolean running = true;

  @Autowired
  public PlannerGatewayGrpcService(GatewayConfiguration.ServiceChannels channels, Planner planner, GatewayMetrics metrics,
      GatewayProperties properties, VlaTracing tracing) {
    this(channels, planner, metrics, properties, tracing, Clock.systemUTC());
  }

  /** @param wallClock what resume tokens' expiry is judged by; tests move it */
  PlannerGatewayGrpcService(GatewayConfiguration.ServiceChannels channels, Planner planner, GatewayMetrics metrics,
      GatewayProperties properties, VlaTracing tracing, Clock wallClock) {
    ExecutorService planning = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("planning-", 0).factory());
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon(true).name("session-timer").factory());
    GatewayResume resume = new GatewayResume(properties.resume(), wallClock);
    resume.watchKeys(timer);
    this.services = new SessionServices(channels, planner, planning, timer,
        new SessionRegistry(properties.quota().maxSessions()), metrics, properties, tracing, resume);
    GatewayProperties.Quota quota = properties.quota();
    this.opens = new RateQuota("session opens (vla.gateway.quota.opens-per-minute=" + quota.opensPerMinute()
        + ", burst " + quota.burst() + ")", quota.opensPerMinute(), quota.burst(), System::nanoTime);
    this.plans = new RateQuota("PlanTask calls (vla.gateway.quota.plans-per-minute=" + quota.plansPerMinute()
        + ", burst " + quota.burst() + ")", quota.plansPerMinute(), quota.burst(), System::nanoTime);
  }

  /**
   * Spends one of the caller's {@code quota} tokens; only authenticated callers have quotas (an
   * insecure gateway has no identities to count by).
   *
   * @throws io.grpc.StatusRuntimeException RESOURCE_EXHAUSTED with RetryInfo when the caller is over it
   */
  private static void spend(RateQuota quota) {
    Principal caller = Principal.current();
    if (caller != null && !caller.isInsecure()) {
      quota.acquireOrThrow(caller.toString());
    }
  }

  @Override
  public StreamObserver<RobotMessage> robotSession(StreamObserver<GatewayMessage> responses) {
    ServerCallStreamObserver<GatewayMessage> robot = (ServerCallStreamObserver<GatewayMessage>) responses;
    if (!running) {
      robot.onError(GatewayStatus.notServing().asRuntimeException());
      return new NoOpObserver();
    }
    try {
      spend(opens);
    } catch (StatusRuntimeException e) {
      robot.onError(e);
      return new NoOpObserver();
    }
    return new RobotSession(services, robot);
  }

  @Override
  public void planTask(PlanRequest request, StreamObserver<Plan> responses) {
    try {
      spend(plans);
    } catch (StatusRuntimeException e) {
      responses.onError(e);
      return;
    }
    if (request.getTask().isBlank()) {
      responses.onError(GatewayStatus.noPlanTask().asRuntimeException());
      return;
    }
    PolicyMetadata metadata;
    try {
      metadata = services.policyMetadata();
    } catch (StatusRuntimeException e) {
      responses.onError(e);
      return;
    }
    if (!request.getEmbodiment().isEmpty() && !request.getEmbodiment().equals(metadata.getActionProfile())) {
      responses.onError(GatewayStatus.otherPlanEmbodiment(request.getEmbodiment(), metadata).asRuntimeException());
      return;
    }
    try {
      PlannedTask plan = services.planner().plan(PlanningRequest.initial(request.getTask(), request.getScene(),
          metadata.getSkillsList()));
      // Numbered and budgeted as a session would run it.
      responses.onNext(GatewayMessages.plan(request.getTask(), plan.planner(), 0, plan.rationale(),
          SessionSubgoal.numbered(plan.subgoals(), 1, GatewayMessages.stepPeriod(metadata),
              services.properties().subgoalTimeFactor())));
      responses.onCompleted();
    } catch (PlanningException e) {
      responses.onError(GatewayStatus.planTaskFailed(e));
    }
  }

  /** Open sessions; for health and tests. */
  int activeSessions() {
    return services.registry().size();
  }

  /**
   * Tells every robot to hold and ends its session, before anything else stops: the context
   * publishes this event before it stops the gRPC server (whose graceful shutdown would otherwise
   * wait for the sessions, which never end on their own) and before the channels close.
   */
  @EventListener(ContextClosedEvent.class)
  public void shutdown() {
    running = false;
    var sessions = services.registry().all();
    if (!sessions.isEmpty()) {
      log.info("shutting down: telling {} robot(s) to hold", sessions.size());
    }
    sessions.forEach(RobotSession::shutdown);
    services.timer().shutdownNow();
    services.planningExecutor().shutdownNow();
  }

  private static final class NoOpObserver implements StreamObserver<RobotMessage> {
    @Override
    public void onNext(RobotMessage value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
