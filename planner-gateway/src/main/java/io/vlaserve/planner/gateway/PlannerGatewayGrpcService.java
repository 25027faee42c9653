package io.vlaserve.planner.gateway;

import io.grpc.Server;
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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.grpc.server.lifecycle.GrpcServerStartedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Service;

/**
 * {@code vla.planner.v1.PlannerGateway}: one {@link RobotSession} per robot stream, and dry-run
 * planning. On shutdown the replica drains: see {@link #shutdown()}.
 */
@Service
public class PlannerGatewayGrpcService extends PlannerGatewayGrpc.PlannerGatewayImplBase {
  private static final Logger log = LoggerFactory.getLogger(PlannerGatewayGrpcService.class);

  private final SessionServices services;
  private final RateQuota opens;
  private final RateQuota plans;
  private volatile boolean running = true;
  private final List<Server> servers = new CopyOnWriteArrayList<>();

  @Autowired
  public PlannerGatewayGrpcService(GatewayConfiguration.ServiceChannels channels, Planner planner, GatewayMetrics metrics,
      GatewayProperties properties, VlaTracing tracing, ObjectProvider<GatewayRecording> recording) {
    this(channels, planner, metrics, properties, tracing, Clock.systemUTC(), recording.getIfAvailable());
  }

  /**
   * @param wallClock what resume tokens' expiry is judged by; tests move it
   * @param recording the flight recorder, null for none
   */
  PlannerGatewayGrpcService(GatewayConfiguration.ServiceChannels channels, Planner planner, GatewayMetrics metrics,
      GatewayProperties properties, VlaTracing tracing, Clock wallClock, GatewayRecording recording) {
    ExecutorService planning = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("planning-", 0).factory());
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon(true).name("session-timer").factory());
    GatewayResume resume = new GatewayResume(properties.resume(), wallClock);
    resume.watchKeys(timer);
    this.services = new SessionServices(channels, planner, planning, timer,
        new SessionRegistry(properties.quota().maxSessions()), metrics, properties, tracing, resume,
        new PolicyHandshake(channels.policy(), properties.callTimeout(), System::nanoTime), recording);
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

  /** Sessions registered on this replica now (open, or ending and not yet let go). */
  int sessionsOpen() {
    return services.registry().size();
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
   * Asks policy-service for its metadata once the replica is up, off the startup path, and again
   * every half {@link PolicyHandshake#FRESH_FOR}: a robot handed over in a rolling update (to a new
   * replica, or to one that has had no new session for a while) then finds it known instead of
   * holding while it is asked, at one small call per five seconds.
   */
  @EventListener(ApplicationReadyEvent.class)
  public void askPolicyAhead() {
    long period = PolicyHandshake.FRESH_FOR.toMillis() / 2;
    java.util.concurrent.atomic.AtomicBoolean said = new java.util.concurrent.atomic.AtomicBoolean();
    services.timer().scheduleWithFixedDelay(() -> services.planningExecutor().execute(() -> {
      try {
        services.policyHandshake().refresh();
        said.set(false);
      } catch (StatusRuntimeException e) {
        if (said.compareAndSet(false, true)) {
          log.info("policy-service's metadata not known ({}); asked again in {} ms and at the next session",
              GatewayStatus.describe(e.getStatus()), period);
        }
      } catch (RuntimeException e) {
        log.warn("asking policy-service's metadata ahead failed", e);
      }
    }), 0, period, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** Keeps the gRPC server, so that a shutdown can stop new streams on its connections first. */
  @EventListener(GrpcServerStartedEvent.class)
  public void serverStarted(GrpcServerStartedEvent event) {
    servers.add(event.getServer());
  }

  /**
   * Drains the replica before anything else stops: the context publishes this event before it
   * stops the gRPC server (whose graceful shutdown would otherwise wait for the sessions, which
   * never end on their own) and before the channels close.
   *
   * <ol>
   *   <li>New opens are refused, and the server's connections are told (GOAWAY) to carry no new
   *       streams: a robot's reopen then dials a new connection, which reaches another replica,
   *       instead of being refused here.
   *   <li>Every session stops and closes its robot's Execute stream; the bridge holds the robots.
   *   <li>Up to {@code vla.gateway.shutdown-grace}, the gateway waits for the bridge to let go of
   *       each robot, so the replica that resumes the session finds the robot free.
   *   <li>Each robot is told to hold and to reconnect with its newest resume token.
   * </ol>
   */
  @EventListener(ContextClosedEvent.class)
  public void shutdown() {
    running = false;
    servers.forEach(Server::shutdown);
    List<RobotSession> sessions = services.registry().all();
    if (!sessions.isEmpty()) {
      long started = System.nanoTime();
      log.info("shutting down: stopping {} session(s), their robots held by the bridge", sessions.size());
      List<CompletableFuture<Void>> released = sessions.stream().map(RobotSession::stopForShutdown).toList();
      Duration grace = services.properties().shutdownGrace();
      try {
        CompletableFuture.allOf(released.toArray(CompletableFuture[]::new)).get(grace.toNanos(), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        log.warn("shutting down: the bridge did not let go of {} of {} robot(s) within {} ms"
            + " (vla.gateway.shutdown-grace); telling them to reconnect anyway",
            released.stream().filter(f -> !f.isDone()).count(), sessions.size(), grace.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException e) {
        throw new IllegalStateException(e.getCause()); // never completed exceptionally
      }
      sessions.forEach(RobotSession::tellRobotToReconnect);
      log.info("shutting down: {} robot(s) told to reconnect with their resume tokens after {} ms", sessions.size(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    }
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
