package io.vlaserve.e2e;

import static io.vlaserve.e2e.Scenes.describe;
import static io.vlaserve.e2e.Scenes.sceneWithRedBlock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.planner.v1.EndCause;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.robot.client.ReconnectPolicy;
import io.vlaserve.robot.client.RobotAgent;
import io.vlaserve.robot.client.RobotChannels;
import io.vlaserve.robot.client.SessionReopener;
import io.vlaserve.robot.sim.SimulatedRobot;
import io.vlaserve.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Replicas going away under a fleet mid-task, with processes on real sockets: gateway replicas
 * sharing resume keys, two policy-service replicas the gateways balance over, two controller bridges
 * each driving two of the four simulated robots (the gateways route each robot to its own), and
 * the robots.
 *
 * <p>First, a rolling update of the gateway: two robots on each of the old replicas A and B. As a Deployment with {@code maxSurge} rolls, the
 * new replicas A2 and B2 are up before the old ones get SIGTERM: A first, then B. Each robot's
 * channel knows the replicas in an order (A, B, A2, B2 or B, A, B2, A2) and connects to the first
 * that answers, as a Service picks an endpoint that is ready. Every robot must keep moving after
 * each shutdown and its task must end in the session it began (resumed on another replica, never a
 * new session or a replan caused by the update), and each hand-over's gap is reported.
 *
 * <p>Then a policy replica dies (SIGKILL) mid-task: every session fails over to the other replica,
 * every robot keeps moving, each robot's task ends in its first session, and the gateways count the
 * failovers.
 *
 * <p>Last, a bridge is drained (SIGTERM) mid-task: its two robots hold, their agents reconnect to
 * the other bridge (standby for them), the gateways open their execution there, every robot keeps
 * moving, and every task ends in its first session.
 *
 * <p>A task "ends" here by the task itself: every subgoal done, or a subgoal the tiny model could
 * not do within its replans (closed-loop success is latency-sensitive, and nine JVMs share two
 * cores here; the end-to-end test and the benchmarks measure it). A session ended by a service, a
 * new session, or a replan without a failed subgoal fails the test. How many tasks succeeded is
 * reported.
 *
 * <p>Nothing here depends on the machine's speed: the restarts wait for progress, not for time,
 * and the gaps are reported, not asserted (docs/benchmarks.md records them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicaLossIntegrationTest {
  private static final Path HOME = Path.of("..").toAbsolutePath().normalize();
  private static final Path LOGS = Path.of("target", "replica-loss-logs");
  private static final String TASK = "put the red block on the plate";
  private static final String AGENT_PORT = "vla.controller.agent-port";
  private static final int ROBOTS = 4;
  private static final Duration TASK_LIMIT = Duration.ofMinutes(4);
  /**
   * Eight JVMs share this machine's cores here, most of them compiling at once after a restart: C1
   * only, as `./vla demo` runs its services, spends far less CPU on the JIT in the first minute.
   */
  private static final List<String> JVM = List.of("-XX:TieredStopAtLevel=1");

  private final List<ServiceProcess> policyReplicas = new ArrayList<>();
  /**
   * Two bridges, each driving two of the robots (arm-1 and arm-2, arm-3 and arm-4: their agents dial
   * it first) and standby for the other two (both list all four).
   */
  private final List<ServiceProcess> bridges = new ArrayList<>();
  private ServiceProcess gatewayA;
  private ServiceProcess gatewayB;
  private ServiceProcess gatewayA2;
  private ServiceProcess gatewayB2;
  /** Per bridge: its robot agent link, and its ControllerBridge API. */
  private final List<ManagedChannel> agentChannels = new ArrayList<>();
  private final List<ManagedChannel> controllerChannels = new ArrayList<>();
  private final List<ManagedChannel> robotChannels = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    Path keys = Files.createDirectories(LOGS.resolve("resume-keys"));
    byte[] secret = new byte[32];
    new Random(18).nextBytes(secret);
    Files.writeString(keys.resolve("signing-key-id"), "k1\n", StandardCharsets.US_ASCII);
    Files.writeString(keys.resolve("k1"), Base64.getEncoder().encodeToString(secret), StandardCharsets.US_ASCII);

    for (String replica : List.of("policy-1", "policy-2")) {
      policyReplicas.add(ServiceProcess.start(replica, jar("policy-service"), HOME, JVM,
          List.of("--vla.tls.insecure=true", "--vla.policy.warmup-runs=1"), LOGS));
    }
    for (int b = 0; b < 2; b++) {
      // As the sharded-bridges overlay: each bridge owns two robots and stands by for the other two.
      String own = b == 0 ? "arm-1,arm-2" : "arm-3,arm-4";
      String standby = b == 0 ? "arm-3,arm-4" : "arm-1,arm-2";
      bridges.add(ServiceProcess.start("controller-" + (b + 1), jar("controller-bridge"), HOME, JVM,
          List.of("--vla.tls.insecure=true", "--vla.controller.simulated-robots=0",
              "--vla.controller.remote-robots=" + own, "--vla.controller.standby-robots=" + standby,
              // The agents run in this test's JVM beside four simulated worlds, on a machine that nine
              // JVMs share: that JVM stalling for a second is not what this test is about, and a
              // watchdog halt waits for a person's resume. A link that closes still counts as lost at
              // once; the watchdog's timing has its own tests in controller-bridge.
              "--vla.controller.link-timeout=30s", "--vla.controller.agent-address=127.0.0.1"),
          LOGS, List.of(AGENT_PORT)));
    }
    for (ServiceProcess replica : policyReplicas) {
      replica.awaitServing(Duration.ofSeconds(120));
    }
    for (ServiceProcess bridge : bridges) {
      bridge.awaitServing(Duration.ofSeconds(120));
    }
    List<String> gatewayArgs = List.of("--vla.tls.insecure=true",
        // Both replicas, balanced round robin, as a headless Service's dns:/// target resolves them.
        "--vla.gateway.policy-target=" + staticTarget(policyReplicas.toArray(ServiceProcess[]::new)),
        // One target per bridge: each robot's commands go to the bridge that drives it.
        "--vla.gateway.controller-shards=dns:///127.0.0.1:" + bridges.get(0).grpcPort() + ",dns:///127.0.0.1:"
            + bridges.get(1).grpcPort(),
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
    for (int b = 0; b < bridges.size(); b++) {
      // A robot's agent dials its own bridge first, the other when its own does not answer.
      ServiceProcess own = bridges.get(b);
      ServiceProcess other = bridges.get(1 - b);
      agentChannels.add(RobotChannels.forTarget("static:///127.0.0.1:" + own.port(AGENT_PORT) + ",127.0.0.1:"
          + other.port(AGENT_PORT)).build());
      controllerChannels.add(own.channel());
    }
  }

  private static Path jar(String module) {
    return HOME.resolve(module).resolve("target").resolve(module + ".jar");
  }

  @AfterAll
  void stop() {
    robotChannels.forEach(ManagedChannel::shutdownNow);
    agentChannels.forEach(ManagedChannel::shutdownNow);
    controllerChannels.forEach(ManagedChannel::shutdownNow);
    List<ServiceProcess> services = new ArrayList<>(java.util.Arrays.asList(gatewayA, gatewayB, gatewayA2, gatewayB2));
    services.addAll(bridges);
    services.addAll(policyReplicas);
    for (ServiceProcess service : services) {
      if (service != null) {
        service.close();
      }
    }
  }

  @Test
  @Order(1)
  void aRollingUpdateOfTheGatewaysLosesNoTaskAndCausesNoReplan() throws Exception {
    // Half the robots try A first, half B: both old replicas serve sessions when the update begins.
    try (Fleet fleet = startFleet(robotChannel(gatewayA, gatewayB, gatewayA2, gatewayB2),
        robotChannel(gatewayB, gatewayA, gatewayB2, gatewayA2))) {
      awaitProgress(fleet.robots, 3, "every robot is mid-task before the update");
      gatewayA.close(); // SIGTERM, and waits for the process to end
      awaitProgress(fleet.robots, 3, "every robot moves on after gateway A's shutdown");
      gatewayB.close();
      awaitProgress(fleet.robots, 3, "every robot moves on after gateway B's shutdown");

      StringBuilder report = new StringBuilder("hand-over gaps (last chunk before the gateway's hold to the first"
          + " chunk after the resume; in parentheses: last chunk to the hold + hold to the next gateway's"
          + " SessionAccepted + from there to the first chunk):\n");
      List<Duration> allGaps = new ArrayList<>();
      int succeeded = 0;
      for (int i = 0; i < ROBOTS; i++) {
        SimulatedRobot robot = fleet.robots.get(i);
        SessionReopener reopener = completedInItsFirstSession(robot, fleet.tasks.get(i));
        succeeded += succeeded(reopener) ? 1 : 0;
        List<Duration> gaps = robot.handoverGaps();
        String id = robot.identity().getRobotId();
        assertEquals(reopener.sessionsOpened() - 1, gaps.size(), () -> id + ": one gap per hand-over " + gaps);
        allGaps.addAll(gaps);
        report.append("  ").append(id).append(": ").append(robot.handovers().stream().map(Object::toString)
            .collect(Collectors.joining(", "))).append('\n');
      }
      assertEachBridgeDroveOnlyItsRobots();
      // A's robots moved twice (to B, then to A2), B's once (to B2), unless a task ended first.
      assertTrue(allGaps.size() >= ROBOTS, "every robot was handed over at least once: " + report);
      List<Long> millis = allGaps.stream().map(Duration::toMillis).sorted().toList();
      report.append(String.format("  %d hand-overs: p50 %d ms, max %d ms; %d of %d tasks succeeded%n", millis.size(),
          millis.get(millis.size() / 2), millis.get(millis.size() - 1), succeeded, ROBOTS));
      report("handover-gaps.txt", report.toString());
    }
  }

  @Test
  @Order(2)
  void losingAPolicyReplicaMidTaskFailsNoSession() throws Exception {
    try (Fleet fleet = startFleet(robotChannel(gatewayA2, gatewayB2), robotChannel(gatewayB2, gatewayA2))) {
      awaitProgress(fleet.robots, 3, "every robot is mid-task");
      // The replica serving the most sessions dies as a crashed pod does (SIGKILL): no goodbye.
      int[] sessions = {scrape(policyReplicas.get(0), "vla_policy_sessions_active"),
          scrape(policyReplicas.get(1), "vla_policy_sessions_active")};
      ServiceProcess victim = policyReplicas.get(sessions[0] >= sessions[1] ? 0 : 1);
      int victimSessions = Math.max(sessions[0], sessions[1]);
      assertTrue(victimSessions >= 1, "the replicas serve the robots' sessions: " + sessions[0] + ", " + sessions[1]);
      victim.kill();
      awaitProgress(fleet.robots, 3, "every robot moves on after the replica's loss");

      int succeeded = fleet.completedEachInOneSession();
      int failovers = failovers("vla_gateway_policy_failover_seconds");
      assertTrue(failovers >= victimSessions, "each session on the lost replica failed over: " + failovers + " < "
          + victimSessions);
      report("policy-failover.txt", String.format("policy replica lost with %d session(s): %d failover(s), longest"
          + " %.0f ms; %d of %d tasks succeeded%n", victimSessions, failovers,
          longestMillis("vla_gateway_policy_failover_seconds"), succeeded, ROBOTS));
    }
  }

  @Test
  @Order(3)
  void drainingABridgeMovesItsRobotsToTheOtherAndEveryTaskCompletes() throws Exception {
    try (Fleet fleet = startFleet(robotChannel(gatewayA2, gatewayB2), robotChannel(gatewayB2, gatewayA2))) {
      awaitProgress(fleet.robots, 3, "every robot is mid-task");
      double[] before = {chunksAt(bridges.get(1), "arm-1"), chunksAt(bridges.get(1), "arm-2")};
      bridges.get(0).close(); // SIGTERM: arm-1 and arm-2's bridge drains; their agents move to the other
      awaitProgress(fleet.robots, 3, "every robot moves on after the bridge's drain");

      int succeeded = fleet.completedEachInOneSession();
      assertTrue(chunksAt(bridges.get(1), "arm-1") > before[0] && chunksAt(bridges.get(1), "arm-2") > before[1],
          "the second bridge drove the drained bridge's robots");
      int failovers = failovers("vla_gateway_bridge_failover_seconds");
      assertTrue(failovers >= 2, "each of the two robots' execution opened again: " + failovers);
      report("bridge-failover.txt", String.format("bridge drained with 2 robots: %d execution failover(s), longest"
          + " %.0f ms; %d of %d tasks succeeded%n", failovers, longestMillis("vla_gateway_bridge_failover_seconds"),
          succeeded, ROBOTS));
    }
  }

  /** Failovers the new gateways counted in the timer {@code metric}. */
  private int failovers(String metric) throws Exception {
    return scrape(gatewayA2, metric + "_count") + scrape(gatewayB2, metric + "_count");
  }

  /** The longest failover either new gateway timed in {@code metric}, milliseconds. */
  private double longestMillis(String metric) throws Exception {
    return 1000 * Math.max(scrapeDouble(gatewayA2, metric + "_max"), scrapeDouble(gatewayB2, metric + "_max"));
  }

  /** Prints {@code text} and keeps it in the logs directory as {@code file}. */
  private static void report(String file, String text) throws java.io.IOException {
    System.out.print(text);
    Files.writeString(LOGS.resolve(file), text);
  }

  /** Chunks {@code bridge} accepted for {@code robot} so far. */
  private static double chunksAt(ServiceProcess bridge, String robot) throws Exception {
    return scrapeDouble(bridge, "vla_controller_chunks_total{outcome=\"accepted\",reason=\"none\",robot=\"" + robot
        + "\"");
  }

  /** Four robots, each with its agent on the bridge, running the task through {@code channels} in turn. */
  private Fleet startFleet(ManagedChannel... channels) throws InterruptedException {
    Fleet fleet = new Fleet();
    for (int i = 0; i < ROBOTS; i++) {
      // Each robot in its own world, all of the scene the end-to-end test shows the shipped model solving:
      // what fails here must be the replicas' doing, not a scene the tiny model cannot do.
      SimulatedRobot robot = new SimulatedRobot("arm-" + (i + 1), "tiny-sim", sceneWithRedBlock(11), 3);
      fleet.robots.add(robot);
      int bridge = i / 2; // arm-1, arm-2 on the first bridge; arm-3, arm-4 on the second
      fleet.agents.add(robot.connectAgent(agentChannels.get(bridge)));
      robot.awaitDriven(controllerChannels.get(bridge), Duration.ofSeconds(60));
      ManagedChannel channel = channels[i % channels.length];
      fleet.tasks.add(fleet.cameras.submit(
          () -> robot.runTaskResuming(channel, TASK, TASK_LIMIT, ReconnectPolicy.defaults())));
    }
    return fleet;
  }

  /** The robots of one test, their agents and their tasks; closing disconnects them. */
  private static final class Fleet implements AutoCloseable {
    final List<SimulatedRobot> robots = new ArrayList<>();
    final List<RobotAgent> agents = new ArrayList<>();
    final List<Future<SessionReopener>> tasks = new ArrayList<>();
    final ExecutorService cameras = Executors.newFixedThreadPool(ROBOTS);

    /**
     * Waits for every robot's task: each ended in the session it began, never ended or resumed.
     *
     * @return how many tasks succeeded
     */
    int completedEachInOneSession() throws Exception {
      int succeeded = 0;
      for (int i = 0; i < ROBOTS; i++) {
        SessionReopener reopener = completedInItsFirstSession(robots.get(i), tasks.get(i));
        assertEquals(1, reopener.sessionsOpened(), "the robot's session itself never ended");
        succeeded += succeeded(reopener) ? 1 : 0;
      }
      return succeeded;
    }

    @Override
    public void close() throws InterruptedException {
      // Robots still running cancel their sessions, so the next test's robots of the same names start clean.
      cameras.shutdownNow();
      cameras.awaitTermination(30, TimeUnit.SECONDS);
      agents.forEach(RobotAgent::close);
    }
  }

  /**
   * Waits for {@code robot}'s task and checks it ended in the session it began, by the task itself:
   * every subgoal completed, or one kept failing past its replans (the tiny model's doing, which
   * nine JVMs on two cores make likelier), but never a controller, policy or planner failure and
   * never a cancel. Every session opened was that one resumed, and no plan came but after a failed
   * subgoal, so no restart caused a replan.
   */
  private static SessionReopener completedInItsFirstSession(SimulatedRobot robot, Future<SessionReopener> task)
      throws Exception {
    SessionReopener reopener = task.get(TASK_LIMIT.toSeconds() + 30, TimeUnit.SECONDS);
    SessionOutcome outcome = reopener.awaitOutcome(Duration.ofSeconds(30));
    List<GatewayMessage> messages = robot.received();
    String id = robot.identity().getRobotId();
    assertTrue(outcome.getCause() == EndCause.END_CAUSE_TASK_COMPLETED
        || outcome.getCause() == EndCause.END_CAUSE_SUBGOAL_FAILED, () -> id + " ended by the task, not by a"
        + " service: " + outcome.getCause() + " " + outcome.getReason() + describe(messages));
    assertEquals(outcome.getCause() == EndCause.END_CAUSE_TASK_COMPLETED, outcome.getOutcome() == Outcome.OUTCOME_SUCCEEDED,
        () -> id + ": " + outcome);
    List<String> sessionIds = messages.stream().filter(GatewayMessage::hasAccepted)
        .map(m -> m.getAccepted().getSessionId()).distinct().toList();
    assertEquals(1, sessionIds.size(), () -> id + " stayed in the session it began: " + describe(messages));
    assertEquals(reopener.sessionsOpened(), messages.stream().filter(GatewayMessage::hasAccepted).count(),
        () -> id + ": every session it opened was accepted (a resume, never refused)" + describe(messages));
    assertNoReplanWithoutAFailure(id, messages);
    return reopener;
  }

  private static boolean succeeded(SessionReopener ended) throws Exception {
    return ended.awaitOutcome(Duration.ofSeconds(1)).getOutcome() == Outcome.OUTCOME_SUCCEEDED;
  }

  /** The gateways sent each robot's chunks to the bridge that drives it, and to no other. */
  private void assertEachBridgeDroveOnlyItsRobots() throws Exception {
    List<List<String>> robotsOf = List.of(List.of("arm-1", "arm-2"), List.of("arm-3", "arm-4"));
    for (int b = 0; b < bridges.size(); b++) {
      for (int r = 1; r <= ROBOTS; r++) {
        String robot = "arm-" + r;
        double chunks = scrapeDouble(bridges.get(b), "vla_controller_chunks_total{outcome=\"accepted\",reason=\"none\","
            + "robot=\"" + robot + "\"");
        if (robotsOf.get(b).contains(robot)) {
          assertTrue(chunks > 0, bridges.get(b).name() + " drove " + robot);
        } else {
          assertEquals(0, chunks, bridges.get(b).name() + " got no chunk for " + robot + ", another bridge's robot");
        }
      }
    }
  }

  /** A Prometheus sample of {@code service}, as an integer (0 if absent). */
  private static int scrape(ServiceProcess service, String sample) throws Exception {
    return (int) Math.round(scrapeDouble(service, sample));
  }

  /** A Prometheus sample of {@code service} (a name, or a name with its first labels): the sum over its series, 0 if absent. */
  private static double scrapeDouble(ServiceProcess service, String sample) throws Exception {
    HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + service.httpPort() + "/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode(), service.name() + " metrics");
    double sum = 0;
    for (String line : page.body().lines().toList()) {
      // A name, or a name and its first labels (Micrometer writes labels sorted by name).
      if (line.startsWith(sample + " ") || line.startsWith(sample + "{") || line.startsWith(sample + ",")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  /** Waits until every robot has had {@code steps} more chunks forwarded than now, or finished its task. */
  private static void awaitProgress(List<SimulatedRobot> robots, int steps, String what)
      throws InterruptedException {
    long[] from = robots.stream().mapToLong(ReplicaLossIntegrationTest::stepsForwarded).toArray();
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

  /**
   * A robot's channel to the gateways: the first of {@code gateways} that answers (pick_first, as
   * robot-client's channels are), as a Service gives a robot one ready endpoint.
   */
  private ManagedChannel robotChannel(ServiceProcess... gateways) {
    ManagedChannel channel = RobotChannels.forTarget(staticTarget(gateways)).build();
    robotChannels.add(channel);
    return channel;
  }

  /** {@code static:///127.0.0.1:<port>,...}: the processes' gRPC addresses, in order. */
  private static String staticTarget(ServiceProcess... services) {
    return "static:///" + java.util.Arrays.stream(services).map(s -> "127.0.0.1:" + s.grpcPort())
        .collect(Collectors.joining(","));
  }
}
