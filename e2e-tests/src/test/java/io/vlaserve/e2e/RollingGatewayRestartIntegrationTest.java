package io.vlaserve.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.robot.client.ReconnectPolicy;
import io.vlaserve.robot.client.RobotAgent;
import io.vlaserve.robot.client.RobotChannels;
import io.vlaserve.robot.client.SessionReopener;
import io.vlaserve.robot.sim.SimulatedRobot;
import io.vlaserve.skills.BlockColor;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.testing.Await;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A rolling update of the gateway, with processes on real sockets: gateway replicas sharing resume
 * keys, policy-service and controller-bridge as the suite runs them, and four simulated robots
 * mid-task, two on each of the old replicas A and B. As a Deployment with {@code maxSurge} rolls, the
 * new replicas A2 and B2 are up before the old ones get SIGTERM: A first, then B. Each robot's
 * channel knows the replicas in an order (A, B, A2, B2 or B, A, B2, A2) and connects to the first
 * that answers, as a Service picks an endpoint that is ready. Every robot's task must complete in
 * the session it began (resumed on another replica, never a new session or a replan caused by the
 * update), and each hand-over's gap is reported.
 *
 * <p>Nothing here depends on the machine's speed: the restarts wait for progress, not for time,
 * and the gaps are reported, not asserted (docs/benchmarks.md records them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RollingGatewayRestartIntegrationTest {
  private static final Path HOME = Path.of("..").toAbsolutePath().normalize();
  private static final Path LOGS = Path.of("target", "rolling-restart-logs");
  private static final String TASK = "put the red block on the plate";
  private static final String AGENT_PORT = "vla.controller.agent-port";
  private static final int ROBOTS = 4;
  private static final Duration TASK_LIMIT = Duration.ofMinutes(4);
  /**
   * Seven JVMs share this machine's cores here, most of them compiling at once after a restart: C1
   * only, as `./vla demo` runs its services, spends far less CPU on the JIT in the first minute.
   */
  private static final List<String> JVM = List.of("-XX:TieredStopAtLevel=1");

  private ServiceProcess policyService;
  private ServiceProcess controllerBridge;
  private ServiceProcess gatewayA;
  private ServiceProcess gatewayB;
  private ServiceProcess gatewayA2;
  private ServiceProcess gatewayB2;
  private ManagedChannel agentChannel;
  private ManagedChannel controllerChannel;
  private final List<ManagedChannel> robotChannels = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    Path keys = Files.createDirectories(LOGS.resolve("resume-keys"));
    byte[] secret = new byte[32];
    new Random(18).nextBytes(secret);
    Files.writeString(keys.resolve("signing-key-id"), "k1\n", StandardCharsets.US_ASCII);
    Files.writeString(keys.resolve("k1"), Base64.getEncoder().encodeToString(secret), StandardCharsets.US_ASCII);

    policyService = ServiceProcess.start("policy", jar("policy-service"), HOME, JVM,
        List.of("--vla.tls.insecure=true", "--vla.policy.warmup-runs=1"), LOGS);
    controllerBridge = ServiceProcess.start("controller", jar("controller-bridge"), HOME, JVM,
        List.of("--vla.tls.insecure=true", "--vla.controller.simulated-robots=0",
            "--vla.controller.remote-robots=arm-1,arm-2,arm-3,arm-4",
            // The agents run in this test's JVM, which also restarts services: a lost link halts the robot.
            "--vla.controller.link-timeout=1s", "--vla.controller.agent-address=127.0.0.1"),
        LOGS, List.of(AGENT_PORT));
    policyService.awaitServing(Duration.ofSeconds(120));
    controllerBridge.awaitServing(Duration.ofSeconds(120));
    List<String> gatewayArgs = List.of("--vla.tls.insecure=true",
        "--vla.gateway.policy-target=dns:///127.0.0.1:" + policyService.grpcPort(),
        "--vla.gateway.controller-target=dns:///127.0.0.1:" + controllerBridge.grpcPort(),
        "--vla.gateway.resume.keys=" + keys.toAbsolutePath(), "--vla.gateway.max-replans=4",
        // Four robots, two gateways, their restarts and the robots themselves on a 2-core machine:
        // subgoals get time enough that a slow moment does not fail them. This test is about
        // sessions surviving restarts; the policy's speed has its own benchmarks.
        "--vla.gateway.subgoal-time-factor=4");
    gatewayA = ServiceProcess.start("gateway-a", jar("planner-gateway"), HOME, JVM, gatewayArgs, LOGS);
    gatewayB = ServiceProcess.start("gateway-b", jar("planner-gateway"), HOME, JVM, gatewayArgs, LOGS);
    gatewayA2 = ServiceProcess.start("gateway-a2", jar("planner-gateway"), HOME, JVM, gatewayArgs, LOGS);
    gatewayB2 = ServiceProcess.start("gateway-b2", jar("planner-gateway"), HOME, JVM, gatewayArgs, LOGS);
    for (ServiceProcess gateway : List.of(gatewayA, gatewayB, gatewayA2, gatewayB2)) {
      gateway.awaitServing(Duration.ofSeconds(120));
    }
    agentChannel = controllerBridge.channel(controllerBridge.port(AGENT_PORT));
    controllerChannel = controllerBridge.channel();
  }

  private static Path jar(String module) {
    return HOME.resolve(module).resolve("target").resolve(module + ".jar");
  }

  @AfterAll
  void stop() {
    robotChannels.forEach(ManagedChannel::shutdownNow);
    for (ManagedChannel channel : new ManagedChannel[] {agentChannel, controllerChannel}) {
      if (channel != null) {
        channel.shutdownNow();
      }
    }
    for (ServiceProcess service : new ServiceProcess[] {gatewayA, gatewayB, gatewayA2, gatewayB2, policyService,
        controllerBridge}) {
      if (service != null) {
        service.close();
      }
    }
  }

  @Test
  void aRollingRestartOfTheGatewaysLosesNoTaskAndCausesNoReplan() throws Exception {
    List<SimulatedRobot> robots = new ArrayList<>();
    List<RobotAgent> agents = new ArrayList<>();
    ExecutorService cameras = Executors.newFixedThreadPool(ROBOTS);
    try {
      List<Future<SessionReopener>> tasks = new ArrayList<>();
      for (int i = 0; i < ROBOTS; i++) {
        // Each robot in its own world, all of the scene the end-to-end test shows the shipped model solving:
        // what fails here must be the restarts, not a scene the tiny model cannot do.
        SimulatedRobot robot = new SimulatedRobot("arm-" + (i + 1), "tiny-sim", sceneWithRedBlock(11), 3);
        robots.add(robot);
        agents.add(robot.connectAgent(agentChannel));
        robot.awaitDriven(controllerChannel, Duration.ofSeconds(60));
        // Half the robots try A first, half B: both old replicas serve sessions when the update begins.
        ManagedChannel channel = i % 2 == 0 ? robotChannel(gatewayA, gatewayB, gatewayA2, gatewayB2)
            : robotChannel(gatewayB, gatewayA, gatewayB2, gatewayA2);
        tasks.add(cameras.submit(() -> robot.runTaskResuming(channel, TASK, TASK_LIMIT, ReconnectPolicy.defaults())));
      }
      awaitProgress(robots, 3, "every robot is mid-task before the update");

      gatewayA.close(); // SIGTERM, and waits for the process to end
      awaitProgress(robots, 3, "every robot moves on after gateway A's shutdown");
      gatewayB.close();

      StringBuilder report = new StringBuilder("hand-over gaps (last chunk before the gateway's hold to the first"
          + " chunk after the resume):\n");
      List<Duration> allGaps = new ArrayList<>();
      int handovers = 0;
      for (int i = 0; i < ROBOTS; i++) {
        SimulatedRobot robot = robots.get(i);
        SessionReopener reopener = tasks.get(i).get(TASK_LIMIT.toSeconds() + 30, TimeUnit.SECONDS);
        SessionOutcome outcome = reopener.awaitOutcome(Duration.ofSeconds(30));
        List<GatewayMessage> messages = robot.received();
        String id = robot.identity().getRobotId();
        assertEquals(Outcome.OUTCOME_SUCCEEDED, outcome.getOutcome(), () -> id + ": " + outcome.getReason()
            + describe(messages));
        // The session's verdict (every subgoal's predicate held when it completed) is what this test is
        // about; where exactly the tiny model, slowed by seven JVMs, drops the block is not.
        List<String> sessionIds = messages.stream().filter(GatewayMessage::hasAccepted)
            .map(m -> m.getAccepted().getSessionId()).distinct().toList();
        assertEquals(1, sessionIds.size(), () -> id + " stayed in the session it began: " + describe(messages));
        assertEquals(reopener.sessionsOpened(), messages.stream().filter(GatewayMessage::hasAccepted).count(),
            () -> id + ": every session it opened was accepted (a resume, never refused)" + describe(messages));
        assertNoReplanWithoutAFailure(id, messages);
        List<Duration> gaps = robot.handoverGaps();
        assertEquals(reopener.sessionsOpened() - 1, gaps.size(), () -> id + ": one gap per hand-over " + gaps);
        handovers += gaps.size();
        allGaps.addAll(gaps);
        report.append("  ").append(id).append(": ").append(gaps.stream().map(g -> g.toMillis() + " ms")
            .collect(Collectors.joining(", "))).append('\n');
      }
      // A's robots moved twice (to B, then to A2), B's once (to B2), unless a task ended first.
      assertTrue(handovers >= ROBOTS, "every robot was handed over at least once: " + report);
      List<Long> millis = allGaps.stream().map(Duration::toMillis).sorted().toList();
      report.append(String.format("  %d hand-overs: p50 %d ms, max %d ms%n", millis.size(),
          millis.get(millis.size() / 2), millis.get(millis.size() - 1)));
      System.out.print(report);
      Files.writeString(LOGS.resolve("handover-gaps.txt"), report);
    } finally {
      cameras.shutdownNow();
      agents.forEach(RobotAgent::close);
    }
  }

  /** Waits until every robot has had {@code steps} more chunks forwarded than now, or finished its task. */
  private static void awaitProgress(List<SimulatedRobot> robots, int steps, String what)
      throws InterruptedException {
    long[] from = robots.stream().mapToLong(RollingGatewayRestartIntegrationTest::stepsForwarded).toArray();
    Await.until(() -> {
      for (int i = 0; i < robots.size(); i++) {
        SimulatedRobot robot = robots.get(i);
        boolean done = robot.received().stream().anyMatch(GatewayMessage::hasOutcome);
        if (!done && stepsForwarded(robot) < from[i] + steps) {
          return false;
        }
      }
      return true;
    }, Duration.ofMinutes(2), () -> what + ": steps " + robots.stream()
        .map(r -> r.identity().getRobotId() + "=" + stepsForwarded(r)).toList());
  }

  private static long stepsForwarded(SimulatedRobot robot) {
    return robot.received().stream().filter(GatewayMessage::hasStepForwarded).count();
  }

  /** Every plan after the first follows a subgoal that failed or ran out of time (a replan the task needed). */
  private static void assertNoReplanWithoutAFailure(String robotId, List<GatewayMessage> messages) {
    boolean failedSinceLastPlan = false;
    int plans = 0;
    for (GatewayMessage message : messages) {
      if (message.hasSubgoal()) {
        SubgoalStatus status = message.getSubgoal().getStatus();
        failedSinceLastPlan |= status == SubgoalStatus.SUBGOAL_STATUS_FAILED
            || status == SubgoalStatus.SUBGOAL_STATUS_TIMED_OUT;
      } else if (message.hasPlan()) {
        plans++;
        assertTrue(plans == 1 || failedSinceLastPlan,
            () -> robotId + ": plan revision " + message.getPlan().getRevision() + " without a failed subgoal"
                + describe(messages));
        failedSinceLastPlan = false;
      }
    }
    assertTrue(plans >= 1, robotId + " got its plan");
  }

  /** A robot's channel to the gateways: the first of {@code gateways} that answers. */
  private ManagedChannel robotChannel(ServiceProcess... gateways) {
    String scheme = "gateways-" + java.util.Arrays.stream(gateways).map(g -> Integer.toString(g.grpcPort()))
        .collect(Collectors.joining("-"));
    NameResolverRegistry.getDefaultRegistry().register(new FixedAddresses(scheme, java.util.Arrays.stream(gateways)
        .map(g -> new EquivalentAddressGroup(new InetSocketAddress("127.0.0.1", g.grpcPort()))).toList()));
    ManagedChannel channel = RobotChannels.forTarget(scheme + ":///gateways").build();
    robotChannels.add(channel);
    return channel;
  }

  /** Resolves its scheme to fixed addresses, in order: a Service's endpoints as pick_first sees them. */
  private static final class FixedAddresses extends NameResolverProvider {
    private final String scheme;
    private final List<EquivalentAddressGroup> addresses;

    FixedAddresses(String scheme, List<EquivalentAddressGroup> addresses) {
      this.scheme = scheme;
      this.addresses = addresses;
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 1; // below dns: never the default scheme
    }

    @Override
    public String getDefaultScheme() {
      return scheme;
    }

    @Override
    public NameResolver newNameResolver(URI target, NameResolver.Args args) {
      if (!scheme.equals(target.getScheme())) {
        return null;
      }
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          return "127.0.0.1";
        }

        @Override
        public void start(Listener2 listener) {
          listener.onResult(ResolutionResult.newBuilder().setAddresses(addresses).build());
        }

        @Override
        public void shutdown() {}
      };
    }
  }

  /** A world seed whose scene has a red block, so the task applies. */
  private static long sceneWithRedBlock(long from) {
    for (long seed = from; ; seed++) {
      TabletopWorld world = new TabletopWorld(seed, new WorldConfig(3, true));
      if (world.snapshot().blocks().stream().anyMatch(b -> b.color() == BlockColor.RED)) {
        return seed;
      }
    }
  }

  private static String describe(List<GatewayMessage> messages) {
    return messages.stream()
        .filter(m -> !m.hasState() && !m.hasStepForwarded())
        .map(m -> m.getMessageCase() + (m.hasSubgoal() ? " " + m.getSubgoal().getSubgoalId() + " "
            + m.getSubgoal().getStatus() + " " + m.getSubgoal().getReason()
            : m.hasOutcome() ? " " + m.getOutcome().getOutcome() + " " + m.getOutcome().getReason()
            : m.hasHold() ? " " + m.getHold().getReason()
            : m.hasAccepted() ? " " + m.getAccepted().getSessionId()
            : m.hasSafetyEvent() ? " " + m.getSafetyEvent().getKind() + " chunk " + m.getSafetyEvent().getChunkId()
                + " " + m.getSafetyEvent().getMessage()
            : m.hasPlan() ? " rev " + m.getPlan().getRevision() : ""))
        .collect(Collectors.joining("\n  ", "\n  ", ""));
  }
}
