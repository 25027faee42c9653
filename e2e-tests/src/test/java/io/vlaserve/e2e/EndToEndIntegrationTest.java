package io.vlaserve.e2e;

import static io.vlaserve.e2e.Scenes.describe;
import static io.vlaserve.e2e.Scenes.sceneWithRedBlock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.HaltRequest;
import io.vlaserve.controller.v1.StreamStateRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.vlaserve.launcher.GrpcProbes;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.planner.v1.ChunkContinuation;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.HoldNotice;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.PlanRequest;
import io.vlaserve.planner.v1.PlannerGatewayGrpc;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.robot.client.GatewaySession;
import io.vlaserve.robot.client.RobotAgent;
import io.vlaserve.robot.sim.SimulatedRobot;
import io.vlaserve.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * All four services on real sockets, each started from its jar as its own process, as `./vla demo`
 * and a deployment run them: policy-service (the autoregressive tiny-vla on ONNX Runtime), controller-bridge,
 * tokenizer-service and planner-gateway, and a simulated robot that uses robot-client exactly as a
 * real robot would (its world behind the bridge's remote driver, its camera streaming to the
 * gateway). Spans are read from the services' logs (the logging exporter), as an operator would.
 *
 * <p>Plaintext on loopback, said explicitly (services refuse to run without TLS otherwise): this test
 * is about the suite's behaviour; TLS and identities have tests of their own in every service, and
 * the demo's test runs the whole suite secure.
 *
 * <p>Nothing here depends on the machine's speed: every wait polls for a condition with a generous
 * timeout. The policy-failure scenario kills policy-service, so it runs last.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EndToEndIntegrationTest {
  private static final Path HOME = Path.of("..").toAbsolutePath().normalize();
  private static final Path LOGS = Path.of("target", "e2e-logs");
  private static final String TASK = "put the red block on the plate";
  /** A span line of OpenTelemetry's logging exporter: {@code 'name' : traceId spanId ...}. */
  private static final Pattern SPAN = Pattern.compile("'([^']+)' : ([0-9a-f]{32}) ");

  private ServiceProcess policyService;
  private ServiceProcess controllerBridge;
  private ServiceProcess tokenizerService;
  private ServiceProcess plannerGateway;

  private ManagedChannel gatewayChannel;
  private ManagedChannel controllerChannel;
  /** To the bridge's robot agent link, on its own port. */
  private ManagedChannel agentChannel;
  private static final String AGENT_PORT = "vla.controller.agent-port";

  @BeforeAll
  void start() throws Exception {
    // The autoregressive package, not the default: the PREFIX test needs committed prefixes decoded.
    policyService = ServiceProcess.start("policy", jar("policy-service"), HOME, List.of(),
        List.of("--vla.tls.insecure=true", "--vla.policy.model=models/tiny-vla", "--vla.policy.warmup-runs=1",
            "--vla.tracing.exporter=logging"), LOGS);
    controllerBridge = ServiceProcess.start("controller", jar("controller-bridge"), HOME, List.of(),
        List.of("--vla.tls.insecure=true", "--vla.controller.simulated-robots=0",
            "--vla.controller.remote-robots=arm-1,arm-2,arm-3,arm-4,arm-5",
            // The agents run in this test's JVM; on a busy 2-core machine their state can pause for
            // a few hundred ms, and a lost link halts the robot. Link loss has its own tests.
            "--vla.controller.link-timeout=1s", "--vla.tracing.exporter=logging",
            "--vla.controller.agent-address=127.0.0.1"), LOGS, List.of(AGENT_PORT));
    tokenizerService = ServiceProcess.start("tokenizer", jar("tokenizer-service"), HOME, List.of(),
        List.of("--vla.tls.insecure=true"), LOGS);
    for (ServiceProcess service : List.of(policyService, controllerBridge, tokenizerService)) {
      service.awaitServing(Duration.ofSeconds(120));
    }
    plannerGateway = ServiceProcess.start("gateway", jar("planner-gateway"), HOME, List.of(),
        List.of("--vla.tls.insecure=true", "--vla.tracing.exporter=logging",
            "--vla.gateway.policy-target=dns:///127.0.0.1:" + policyService.grpcPort(),
            "--vla.gateway.controller-target=dns:///127.0.0.1:" + controllerBridge.grpcPort(),
            "--vla.gateway.policy-failover-timeout=2s", "--vla.gateway.max-replans=4",
            // The shipped model answers within half a step here; PREFIX sessions are to send prefixes anyway.
            "--vla.gateway.prefix-min-delay=0ms"), LOGS);
    plannerGateway.awaitServing(Duration.ofSeconds(120));
    gatewayChannel = plannerGateway.channel();
    controllerChannel = controllerBridge.channel();
    agentChannel = controllerBridge.channel(controllerBridge.port(AGENT_PORT));
  }

  private static Path jar(String module) {
    return HOME.resolve(module).resolve("target").resolve(module + ".jar");
  }

  @AfterAll
  void stop() {
    for (ManagedChannel channel : new ManagedChannel[] {gatewayChannel, controllerChannel, agentChannel}) {
      if (channel != null) {
        channel.shutdownNow();
      }
    }
    for (ServiceProcess service : new ServiceProcess[] {plannerGateway, policyService, controllerBridge,
        tokenizerService}) {
      if (service != null) {
        service.close();
      }
    }
  }

  @Test
  @Order(1)
  void aSimulatedRobotPutsTheRedBlockOnThePlateThroughAllFourServices() throws Exception {
    SimulatedRobot robot = new SimulatedRobot("arm-1", "tiny-sim", sceneWithRedBlock(11), 3);
    assertFalse(robot.satisfies(TASK));
    String before = robot.snapshot().describe();
    try (RobotAgent agent = robot.connectAgent(agentChannel)) {
      robot.awaitDriven(controllerChannel, Duration.ofSeconds(30));
      GatewaySession session = robot.runTask(gatewayChannel, TASK, Duration.ofSeconds(120));
      SessionOutcome outcome = session.awaitOutcome(Duration.ofSeconds(10));
      List<GatewayMessage> messages = robot.received();
      assertEquals(Outcome.OUTCOME_SUCCEEDED, outcome.getOutcome(), () -> outcome.getReason() + describe(messages)
          + "\n" + gatewayMetrics() + "\nworld before: " + before + "\nworld: " + robot.snapshot().describe() + " ee " + robot.snapshot().eePosition() + "\nholds: " + robot.holds());
      assertTrue(robot.satisfies(TASK), "the simulator agrees the red block is on the plate");
      assertTrue(agent.setpoints() > 1000, "the bridge drove the robot at its control rate: " + agent.setpoints());

      SessionAccepted accepted = messages.get(0).getAccepted();
      assertEquals(1, accepted.getCamerasCount());
      assertEquals(64, accepted.getCameras(0).getWidth());
      assertEquals(ImageEncoding.IMAGE_ENCODING_RGB8, accepted.getCameras(0).getEncoding());
      Plan plan = messages.get(1).getPlan();
      assertEquals("embedded", plan.getPlanner());
      assertEquals(List.of("move to the red block", "grasp the red block", "lift the block", "move above the plate",
          "release the block"), plan.getSubgoalsList().stream().map(s -> s.getInstruction()).toList());
      long completed = messages.stream().filter(m -> m.hasSubgoal()
          && m.getSubgoal().getStatus() == SubgoalStatus.SUBGOAL_STATUS_COMPLETED).count();
      assertTrue(completed >= 5 && outcome.getSubgoalsCompleted() >= 5, describe(messages));
      // Asked for (report_steps), each forwarded chunk is reported with its observation's sequence.
      List<Long> steps = messages.stream().filter(GatewayMessage::hasStepForwarded)
          .map(m -> m.getStepForwarded().getObservationSequence()).toList();
      assertTrue(steps.size() >= 10, steps.size() + " steps reported");
      for (int i = 1; i < steps.size(); i++) {
        assertTrue(steps.get(i) > steps.get(i - 1), "observation sequences increase: " + steps);
      }
      assertTrue(messages.stream().filter(GatewayMessage::hasStepForwarded).allMatch(m ->
          m.getStepForwarded().getGatewayLatency().getNanos() > 0 || m.getStepForwarded().getGatewayLatency().getSeconds() > 0));
    }
    // One control step is one trace: the gateway's step, the policy's inference and the bridge's
    // handling of its chunk, each service logging its own spans.
    List<String> stepTraces = spans(plannerGateway.log(), "control-step");
    assertFalse(stepTraces.isEmpty(), "control steps are traced in " + plannerGateway.log());
    String controllerLog = Files.readString(controllerBridge.log());
    String policyLog = Files.readString(policyService.log());
    assertTrue(stepTraces.stream().anyMatch(trace -> controllerLog.lines()
        .anyMatch(line -> line.contains("'controller.chunk'") && line.contains(trace))
        && policyLog.lines().anyMatch(line -> line.contains("'policy.infer'") && line.contains(trace))),
        "the policy and the bridge continue a step's trace: " + stepTraces.size() + " steps, none in both "
            + policyService.log() + " and " + controllerBridge.log());

    String metrics = http("/actuator/prometheus");
    assertTrue(metrics.contains("vla_gateway_subgoals_total{") && metrics.contains("status=\"completed\""), metrics);
    assertTrue(metrics.contains("vla_gateway_step_latency_seconds_count"), "step latency is measured");
    assertTrue(metrics.contains("vla_gateway_sessions_finished_total{") && metrics.contains("outcome=\"succeeded\""));
  }

  @Test
  @Order(2)
  void theGatewayServesHealthReflectionAndMetricsLikeEveryService() throws Exception {
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, GrpcProbes.awaitServing(gatewayChannel, Duration.ofSeconds(30)));
    List<String> services = GrpcProbes.listServices(gatewayChannel, Duration.ofSeconds(10));
    assertTrue(services.contains("vla.planner.v1.PlannerGateway") && services.contains("grpc.health.v1.Health"),
        services.toString());
    assertTrue(http("/actuator/health").contains("\"UP\""));
  }

  @Test
  @Order(2)
  void planTaskIsADryRunOfThePlanner() {
    Plan plan = PlannerGatewayGrpc.newBlockingStub(gatewayChannel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .planTask(PlanRequest.newBuilder().setTask("stack the green block on the blue block").build());
    assertEquals(5, plan.getSubgoalsCount());
    assertEquals("move above the blue block", plan.getSubgoals(3).getInstruction());
    assertTrue(plan.getSubgoals(0).getMaxDuration().getSeconds() > 0);

    StatusRuntimeException unsupported = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
        () -> PlannerGatewayGrpc.newBlockingStub(gatewayChannel).planTask(
            PlanRequest.newBuilder().setTask("make me a sandwich").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, unsupported.getStatus().getCode());
    assertTrue(unsupported.getStatus().getDescription().contains("put the <colour> block on the plate"));
  }

  @Test
  @Order(3)
  void badSessionsGetClearErrorsAndNeverMoveARobot() throws Exception {
    assertEquals(Status.Code.INVALID_ARGUMENT, closedWith(SessionOpen.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("arm-2")).setTask("make me a sandwich").build()).getCode());
    Status wrongEmbodiment = closedWith(SessionOpen.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("arm-2").setEmbodiment("bimanual-14dof")).setTask(TASK).build());
    assertEquals(Status.Code.INVALID_ARGUMENT, wrongEmbodiment.getCode());
    assertTrue(wrongEmbodiment.getDescription().contains("tiny-sim"), wrongEmbodiment.getDescription());
    assertEquals(Status.Code.INVALID_ARGUMENT, closedWith(SessionOpen.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("")).setTask(TASK).build()).getCode());

    // A robot the bridge does not know: the session ends with a reason naming the bridge's answer.
    GatewaySession ghost = GatewaySession.open(gatewayChannel, SessionOpen.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("ghost-7")).setTask(TASK).build(), new GatewaySession.Listener() {});
    SessionOutcome outcome = ghost.awaitOutcome(Duration.ofSeconds(30));
    assertEquals(Outcome.OUTCOME_FAILED, outcome.getOutcome());
    assertTrue(outcome.getReason().contains("NOT_FOUND"), outcome.getReason());

    // The first message must be `open`.
    GatewaySession noOpen = GatewaySession.open(gatewayChannel, SessionOpen.getDefaultInstance(),
        new GatewaySession.Listener() {});
    assertEquals(Status.Code.INVALID_ARGUMENT, noOpen.awaitClosed(Duration.ofSeconds(30)).getCode());

    // One session per robot.
    SimulatedRobot robot = new SimulatedRobot("arm-2", "tiny-sim", sceneWithRedBlock(40), 3);
    try (RobotAgent agent = robot.connectAgent(agentChannel)) {
      robot.awaitDriven(controllerChannel, Duration.ofSeconds(30));
      GatewaySession first = GatewaySession.open(gatewayChannel, SessionOpen.newBuilder().setRobot(robot.identity())
          .setTask(TASK).build(), new GatewaySession.Listener() {});
      // The gauge counts exactly the open session: the refused and failed ones above left it.
      Await.until(() -> activeSessions() == 1, "the first session is registered");
      Status second = closedWith(SessionOpen.newBuilder().setRobot(robot.identity()).setTask(TASK).build());
      assertEquals(Status.Code.ALREADY_EXISTS, second.getCode());
      first.cancel("test done");
      assertEquals(Outcome.OUTCOME_CANCELLED, first.awaitOutcome(Duration.ofSeconds(30)).getOutcome());
      Await.until(() -> activeSessions() == 0, "no session is counted once all ended");
    }
  }

  @Test
  @Order(4)
  void aRobotHaltedAtTheBridgeIsAskedToResumeAndThenDriven() throws Exception {
    SimulatedRobot robot = new SimulatedRobot("arm-4", "tiny-sim", sceneWithRedBlock(90), 3);
    try (RobotAgent agent = robot.connectAgent(agentChannel)) {
      robot.awaitDriven(controllerChannel, Duration.ofSeconds(30));
      ControllerBridgeGrpc.newBlockingStub(controllerChannel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .halt(HaltRequest.newBuilder().setRobotId("arm-4").setReason("operator stop before the shift").build());
      List<GatewayMessage> received = new java.util.concurrent.CopyOnWriteArrayList<>();
      GatewaySession session = GatewaySession.open(gatewayChannel, SessionOpen.newBuilder().setRobot(robot.identity())
          .setTask(TASK).build(), new GatewaySession.Listener() {
            @Override
            public void onHold(HoldNotice hold) {
              received.add(GatewayMessage.newBuilder().setHold(hold).build());
            }

            @Override
            public void onState(ExecutionState state) {
              received.add(GatewayMessage.newBuilder().setState(state).build());
            }
          });
      Await.until(() -> received.stream().anyMatch(m -> m.hasHold() && m.getHold().getReason().contains("resume")),
          "the robot is told it is halted and how to go on");
      assertTrue(received.stream().noneMatch(GatewayMessage::hasState), "nothing executes while halted");
      session.resume();
      Await.until(() -> received.stream().anyMatch(m -> m.hasState()
          && m.getState().getMode() != ExecutionMode.EXECUTION_MODE_HALTED), "after resume the bridge drives the robot");
      session.cancel("test done");
      assertEquals(Outcome.OUTCOME_CANCELLED, session.awaitOutcome(Duration.ofSeconds(30)).getOutcome());
    }
  }

  @Test
  @Order(5)
  void realTimeChunkingCarriesCommittedPrefixesFromTheGatewayThroughThePolicyToSplicesAtTheBridge() throws Exception {
    SimulatedRobot robot = new SimulatedRobot("arm-5", "tiny-sim", sceneWithRedBlock(120), 3)
        .chunkContinuation(ChunkContinuation.CHUNK_CONTINUATION_PREFIX);
    try (RobotAgent agent = robot.connectAgent(agentChannel)) {
      robot.awaitDriven(controllerChannel, Duration.ofSeconds(30));
      // The robot streams until the task ends or 6 s pass: enough control steps either way.
      GatewaySession session = robot.runTask(gatewayChannel, TASK, Duration.ofSeconds(6));
      if (!session.finished()) {
        session.cancel("enough steps");
      }
      session.awaitOutcome(Duration.ofSeconds(30));
      long forwarded = robot.received().stream().filter(GatewayMessage::hasStepForwarded).count();
      assertTrue(forwarded >= 10, forwarded + " steps forwarded");
    }
    String gateway = gatewayMetrics();
    assertTrue(metric(gateway, "vla_gateway_committed_prefix_steps_count") > 0,
        "the gateway sent committed prefixes:\n" + gateway);
    assertFalse(gateway.contains("reason=\"policy_invalid_argument\""), "policy-service took every prefix:\n" + gateway);
    String controller = httpTo(controllerBridge.httpPort(), "/actuator/prometheus");
    // The prefix covers the p90 latency, so most continuations arrive before their prefix ends.
    assertTrue(metric(controller, "vla_controller_chunks_started_total", "robot=\"arm-5\"", "start=\"spliced\"") > 0,
        "the bridge spliced continuations where their prefixes ended:\n"
        + controller.lines().filter(l -> l.contains("arm-5") && l.startsWith("vla_controller_chunks"))
            .collect(Collectors.joining("\n")));
  }

  /** The value of the sample {@code name} whose labels include every one of {@code labels} in a Prometheus page; 0 if none. */
  private static double metric(String page, String name, String... labels) {
    return page.lines().filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
        .filter(l -> java.util.Arrays.stream(labels).allMatch(l::contains))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(0);
  }

  private Status closedWith(SessionOpen open) throws Exception {
    GatewaySession session = GatewaySession.open(gatewayChannel, open, new GatewaySession.Listener() {});
    return session.awaitClosed(Duration.ofSeconds(30));
  }

  @Test
  @Order(10)
  void whenPolicyServiceDiesMidTaskTheRobotHoldsAndTheSessionFailsClearly() throws Exception {
    SimulatedRobot robot = new SimulatedRobot("arm-3", "tiny-sim", sceneWithRedBlock(70), 3);
    try (RobotAgent agent = robot.connectAgent(agentChannel)) {
      robot.awaitDriven(controllerChannel, Duration.ofSeconds(30));
      Thread camera = Thread.ofVirtual().start(() -> {
        try {
          robot.runTask(gatewayChannel, TASK, Duration.ofSeconds(120));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      Await.until(() -> robot.received().stream().anyMatch(m -> m.hasSubgoal()
          && m.getSubgoal().getStatus() == SubgoalStatus.SUBGOAL_STATUS_COMPLETED), "the robot completes a subgoal");
      policyService.kill();

      Await.until(() -> robot.received().stream().anyMatch(GatewayMessage::hasOutcome), "the session ends");
      camera.join(Duration.ofSeconds(10));
      List<GatewayMessage> messages = robot.received();
      SessionOutcome outcome = messages.stream().filter(GatewayMessage::hasOutcome).findFirst().orElseThrow().getOutcome();
      assertEquals(Outcome.OUTCOME_FAILED, outcome.getOutcome(), describe(messages));
      assertTrue(outcome.getReason().contains("policy-service unavailable"), outcome.getReason());
      assertTrue(messages.stream().anyMatch(m -> m.hasHold() && m.getHold().getReason().contains("policy-service")),
          "the robot was told why it holds: " + describe(messages));

      // The bridge brought the robot to a hold: not executing, and the arm no longer moves.
      Iterator<ExecutionState> states = ControllerBridgeGrpc.newBlockingStub(controllerChannel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .streamState(StreamStateRequest.newBuilder().setRobotId("arm-3").build());
      ExecutionState state = states.next();
      assertNotEquals(ExecutionMode.EXECUTION_MODE_EXECUTING, state.getMode());
      double x = robot.snapshot().eePosition().x();
      Thread.sleep(200);
      assertEquals(x, robot.snapshot().eePosition().x(), 1e-9, "the arm holds still");
    }
  }

  /** The gateway's own metrics, for failure messages. */
  private String gatewayMetrics() {
    try {
      return http("/actuator/prometheus").lines().filter(l -> l.startsWith("vla_gateway") && !l.contains("_bucket"))
          .collect(Collectors.joining("\n"));
    } catch (Exception e) {
      return "(metrics unavailable: " + e + ")";
    }
  }

  /** The trace ids of the spans named {@code name} in a service's log. */
  private static List<String> spans(Path log, String name) throws java.io.IOException {
    return Files.readString(log).lines().map(SPAN::matcher).filter(Matcher::find)
        .filter(span -> span.group(1).equals(name)).map(span -> span.group(2)).toList();
  }

  /** The gateway's open sessions, from its metrics. */
  private int activeSessions() {
    try {
      return http("/actuator/prometheus").lines().filter(l -> l.startsWith("vla_gateway_sessions_active"))
          .mapToInt(l -> (int) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(-1);
    } catch (Exception e) {
      return -1;
    }
  }

  private String http(String path) throws Exception {
    return httpTo(plannerGateway.httpPort(), path);
  }

  private static String httpTo(int port, String path) throws Exception {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    }
  }
}
