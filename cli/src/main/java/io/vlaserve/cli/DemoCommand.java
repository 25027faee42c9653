package io.vlaserve.cli;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.Outcome;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.robot.client.GatewaySession;
import io.vlaserve.robot.client.RobotAgent;
import io.vlaserve.robot.sim.SimulatedRobot;
import io.vlaserve.sim.WorldState;
import io.vlaserve.tokenizer.v1.DecodeRequest;
import io.vlaserve.tokenizer.v1.DecodeResponse;
import io.vlaserve.tokenizer.v1.Dimension;
import io.vlaserve.tokenizer.v1.EncodeRequest;
import io.vlaserve.tokenizer.v1.EncodeResponse;
import io.vlaserve.tokenizer.v1.ListProfilesRequest;
import io.vlaserve.tokenizer.v1.Profile;
import io.vlaserve.tokenizer.v1.Scheme;
import io.vlaserve.tokenizer.v1.TokenizerServiceGrpc;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vla demo}: the whole suite on the embedded defaults. Starts policy-service (the shipped
 * model on ONNX Runtime), controller-bridge, tokenizer-service and planner-gateway as separate
 * processes on loopback ports; checks the tokenizer over gRPC; then simulated robots, each using
 * robot-client exactly as a real robot would (its world behind the bridge's remote driver, its
 * camera streaming to the gateway), carry out a task each; prints what happened and stops every
 * process (also on Ctrl-C).
 *
 * <p>Secure by default: every service serves TLS with its own certificate from the throwaway CA
 * under {@code target/demo/pki} (created on the first run, reused after), each robot presents a
 * certificate naming its robot id on both its links, and the demo's own probes present the
 * operator certificate {@code vla-cli}. {@code --insecure} runs everything plaintext instead.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Start the suite on loopback, let simulated robots carry out tasks through it, report, stop.")
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--robots", defaultValue = "4", description = "Simulated robots running at once (default: ${DEFAULT-VALUE}).")
  int robots;

  @Option(names = "--task", defaultValue = "put the <colour> block on the plate",
      description = "Task for every robot; <colour> is a block of the robot's scene (default: ${DEFAULT-VALUE}).")
  String task;

  @Option(names = "--timeout", defaultValue = "120", description = "Seconds a robot may take (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(names = "--actions", defaultValue = "2000", description = "Tokenizer check: actions per profile (default: ${DEFAULT-VALUE}).")
  int actions;

  @Option(names = "--batch", defaultValue = "500", description = "Tokenizer check: actions per gRPC call (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--seed", defaultValue = "7", description = "Random seed of scenes and actions (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--record", paramLabel = "DIR", description = "Record every robot in full under DIR: policy-service's"
      + " inferences and camera frames, the gateway's session messages, the bridge's chunks and states"
      + " (./vla replay DIR/*/*.mcap).")
  private Path record;

  @Option(names = "--log-dir", defaultValue = "target/demo", description = "Service logs (default: ${DEFAULT-VALUE}).")
  Path logDir;

  @Option(names = "--pki-dir", description = "The throwaway CA and certificates, created or reused (default:"
      + " target/demo/pki in the checkout; see ./vla pki).")
  Path pkiDir;

  @Option(names = "--insecure", description = "Plaintext: services run with vla.tls.insecure=true, nobody is"
      + " authenticated. For a trusted machine only.")
  boolean insecure;

  /** The demo's transport security: the demo PKI, or plaintext with --insecure. */
  Security security() {
    return insecure ? Security.insecure() : Security.demoPki(pkiDir != null ? pkiDir : Security.defaultPkiDir());
  }

  @Override
  public Integer call() throws Exception {
    System.setProperty("java.awt.headless", "true");
    if (robots < 1 || robots > 32) {
      System.err.println("--robots " + robots + ": expected 1..32");
      return 2;
    }
    List<String> robotIds = new ArrayList<>();
    for (int i = 1; i <= robots; i++) {
      robotIds.add("robot-" + i);
    }
    Security security = security();
    if (security.isInsecure()) {
      System.err.println(Security.INSECURE_WARNING);
    } else {
      System.out.println("TLS: each service, robot and this demo's probes have a certificate from the throwaway CA in "
          + security.authority().directory() + " (./vla pki; --insecure for plaintext)");
    }
    this.security = security;
    List<ServiceProcess> started = new ArrayList<>();
    Thread stopOnCtrlC = new Thread(() -> stopAll(started));
    Runtime.getRuntime().addShutdownHook(stopOnCtrlC);
    try {
      System.out.println("Starting policy-service, controller-bridge and tokenizer-service on loopback ...");
      List<String> policyArgs = new ArrayList<>();
      List<String> controllerArgs = new ArrayList<>(List.of("--vla.controller.simulated-robots=0",
          "--vla.controller.remote-robots=" + String.join(",", robotIds), "--vla.controller.link-timeout=200ms"));
      if (record != null) {
        Path recordings = record.toAbsolutePath();
        policyArgs.addAll(List.of("--vla.policy.recording.directory=" + recordings.resolve("policy-service"),
            "--vla.policy.recording.full-robots=*"));
        controllerArgs.addAll(List.of("--vla.controller.recording.directory=" + recordings.resolve("controller-bridge"),
            "--vla.controller.recording.full-robots=*"));
      }
      ServiceProcess policy = start(started, "policy", policyArgs);
      ServiceProcess controller = start(started, "controller", controllerArgs);
      ServiceProcess tokenizer = start(started, "tokenizer", List.of());
      for (ServiceProcess service : List.of(policy, controller, tokenizer)) {
        service.awaitServing(Duration.ofSeconds(120));
        report(service);
      }
      List<String> gatewayArgs = new ArrayList<>(List.of(
          "--vla.gateway.policy-target=dns:///127.0.0.1:" + policy.grpcPort(),
          "--vla.gateway.controller-target=dns:///127.0.0.1:" + controller.grpcPort()));
      if (record != null) {
        gatewayArgs.addAll(List.of("--vla.gateway.recording.directory="
            + record.toAbsolutePath().resolve("planner-gateway"), "--vla.gateway.recording.full-robots=*"));
      }
      ServiceProcess gateway = start(started, "gateway", gatewayArgs);
      gateway.awaitServing(Duration.ofSeconds(120));
      report(gateway);

      System.out.println();
      System.out.println("Tokenizer over gRPC: " + actions + " seeded random actions per profile, encoded and decoded back");
      int tokenizerFailures;
      ManagedChannel tokenizerChannel = tokenizer.channel();
      try {
        tokenizerFailures = roundTrips(TokenizerServiceGrpc.newBlockingStub(tokenizerChannel));
      } finally {
        tokenizerChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }

      System.out.println();
      System.out.printf("Robots: %d simulated robot(s), each with its own scene, camera and agent%n", robots);
      // The robots' own side warms up too, as a robot's process would at start.
      io.vlaserve.robot.client.RobotAgent.warmUp(5);
      List<RobotRun> runs = runRobots(robotIds, gateway, controller);
      DemoReport.write(logDir, runs.stream().map(r -> new DemoReport.Robot(r.robot(), r.task(),
          r.outcome() == null ? "NONE" : r.outcome().name().substring("OUTCOME_".length()), r.reason(), r.replans(),
          r.seconds(), r.simulated().received(), r.simulated().trajectory(), r.scene())).toList(),
          DemoReport.scrape(security, gateway.httpPort()), DemoReport.scrape(security, controller.httpPort()));
      int succeeded = (int) runs.stream().filter(r -> r.outcome() == Outcome.OUTCOME_SUCCEEDED).count();
      int unfinished = (int) runs.stream().filter(r -> r.outcome() == null).count();
      System.out.println();
      System.out.printf("demo %s: %d/%d task(s) succeeded%s; tokenizer %s. Logs in %s%n",
          unfinished == 0 && tokenizerFailures == 0 ? "OK" : "FAILED", succeeded, runs.size(),
          unfinished == 0 ? "" : ", " + unfinished + " session(s) ended without an outcome",
          tokenizerFailures == 0 ? "within its bounds" : tokenizerFailures + " profile(s) over their bound",
          logDir.toAbsolutePath());
      return unfinished == 0 && tokenizerFailures == 0 ? 0 : 1;
    } finally {
      stopAll(started); // the recorders finish their files as the services stop
      if (record != null) {
        System.out.println("Recordings in " + record.toAbsolutePath() + " (MCAP; Foxglove opens them); run the policy's"
            + " and the bridge's again with: ./vla replay " + record + "/policy-service/*.mcap " + record
            + "/controller-bridge/*.mcap");
      }
      try {
        Runtime.getRuntime().removeShutdownHook(stopOnCtrlC);
      } catch (IllegalStateException shuttingDown) {
        // Ctrl-C: the hook is already running.
      }
    }
  }

  private Security security;

  private ServiceProcess start(List<ServiceProcess> started, String service, List<String> args) throws IOException {
    ServiceProcess process = Services.start(service, logDir, security, args, Services.DEMO_BEST_EFFORT_NICENESS,
        Services.DEMO_JIT);
    synchronized (started) {
      started.add(process);
    }
    return process;
  }

  private void report(ServiceProcess service) {
    System.out.printf("  %-11s SERVING on 127.0.0.1:%d (metrics %s)%n", service.name(), service.grpcPort(),
        security.http(service.httpPort(), "/actuator/prometheus"));
  }

  private static void stopAll(List<ServiceProcess> started) {
    List<ServiceProcess> copy;
    synchronized (started) {
      copy = new ArrayList<>(started);
      started.clear();
    }
    if (!copy.isEmpty()) {
      System.out.println("Stopping the services ...");
    }
    // The gateway first, so robots are told to hold before the bridge goes away.
    for (int i = copy.size() - 1; i >= 0; i--) {
      copy.get(i).close();
    }
  }

  record RobotRun(String robot, String task, Outcome outcome, String reason, int subgoals, int replans,
      double seconds, long setpoints, int safetyEvents, SimulatedRobot simulated, WorldState scene) {}

  private List<RobotRun> runRobots(List<String> robotIds, ServiceProcess gateway, ServiceProcess controller)
      throws InterruptedException {
    // The demo's own watch on the bridge (operator); each robot dials with its own certificate.
    ManagedChannel controllerChannel = controller.channel();
    List<ManagedChannel> robotChannels = new ArrayList<>();
    try {
      List<Thread> threads = new ArrayList<>();
      RobotRun[] runs = new RobotRun[robotIds.size()];
      SimulatedRobot[] simulated = new SimulatedRobot[robotIds.size()];
      for (int i = 0; i < robotIds.size(); i++) {
        int index = i;
        simulated[i] = new SimulatedRobot(robotIds.get(i), "", seed * 1_000 + i, 3);
        ChannelCredentials robot = security.robot(robotIds.get(i));
        ManagedChannel gatewayChannel = Grpc.newChannelBuilderForAddress("127.0.0.1", gateway.grpcPort(), robot).build();
        ManagedChannel agentChannel = Grpc.newChannelBuilderForAddress("127.0.0.1",
            controller.port(Services.AGENT_PORT), robot).build();
        robotChannels.add(gatewayChannel);
        robotChannels.add(agentChannel);
        threads.add(Thread.ofPlatform().name(robotIds.get(i)).start(() ->
            runs[index] = runRobot(simulated[index], gatewayChannel, controllerChannel, agentChannel)));
      }
      // Live progress: plans, subgoal events, holds and outcomes as the robots receive them.
      int[] shown = new int[simulated.length];
      long started = System.nanoTime();
      while (threads.stream().anyMatch(Thread::isAlive)) {
        Thread.sleep(250);
        for (int i = 0; i < simulated.length; i++) {
          List<GatewayMessage> received = simulated[i].received();
          for (int m = Math.min(shown[i], received.size()); m < received.size(); m++) {
            String line = progress(received.get(m));
            if (line != null) {
              System.out.printf("  %6.1fs  %-8s %s%n", (System.nanoTime() - started) / 1e9, robotIds.get(i), line);
            }
          }
          shown[i] = received.size();
        }
      }
      for (Thread thread : threads) {
        thread.join();
      }
      System.out.printf("%-9s %-38s %-10s %8s %7s %7s %10s %7s  %s%n", "robot", "task", "outcome", "subgoals",
          "replans", "time", "setpoints", "safety", "reason");
      for (RobotRun run : runs) {
        System.out.printf("%-9s %-38s %-10s %8d %7d %6.1fs %10d %7d  %s%n", run.robot(), run.task(),
            run.outcome() == null ? "none" : run.outcome().name().substring("OUTCOME_".length()), run.subgoals(),
            run.replans(), run.seconds(), run.setpoints(), run.safetyEvents(), run.reason());
      }
      return List.of(runs);
    } finally {
      controllerChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      for (ManagedChannel channel : robotChannels) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** One line of live progress for a gateway message, or null for messages not worth a line. */
  private static String progress(GatewayMessage message) {
    return switch (message.getMessageCase()) {
      case PLAN -> "plan r" + message.getPlan().getRevision() + ": " + String.join(" -> ",
          message.getPlan().getSubgoalsList().stream().map(s -> s.getInstruction()).toList());
      case SUBGOAL -> {
        SubgoalEvent event = message.getSubgoal();
        yield String.format(Locale.ROOT, "subgoal %s %s%s", event.getSubgoalId(),
            event.getStatus().name().substring("SUBGOAL_STATUS_".length()).toLowerCase(Locale.ROOT),
            event.getStatus() == SubgoalStatus.SUBGOAL_STATUS_STARTED ? ""
                : String.format(Locale.ROOT, " after %d steps%s", event.getSteps(),
                    event.getReason().isEmpty() ? "" : " (" + event.getReason() + ")"));
      }
      case HOLD -> "hold: " + message.getHold().getReason();
      case OUTCOME -> "outcome " + message.getOutcome().getOutcome().name().substring("OUTCOME_".length())
          + ": " + message.getOutcome().getReason();
      default -> null;
    };
  }

  private RobotRun runRobot(SimulatedRobot robot, ManagedChannel gatewayChannel, ManagedChannel controllerChannel,
      ManagedChannel agentChannel) {
    String robotId = robot.identity().getRobotId();
    WorldState scene = robot.snapshot();
    String colour = robot.snapshot().blocks().get(0).color().word();
    String robotTask = task.replace("<colour>", colour);
    long started = System.nanoTime();
    try (RobotAgent agent = robot.connectAgent(agentChannel)) {
      robot.awaitDriven(controllerChannel, Duration.ofSeconds(30));
      GatewaySession session = robot.runTask(gatewayChannel, robotTask, Duration.ofSeconds(timeoutSeconds));
      double seconds = (System.nanoTime() - started) / 1e9;
      int safety = (int) robot.received().stream().filter(m -> m.hasSafetyEvent()).count();
      try {
        SessionOutcome outcome = session.awaitOutcome(Duration.ofSeconds(5));
        return new RobotRun(robotId, robotTask, outcome.getOutcome(), outcome.getReason(),
            outcome.getSubgoalsCompleted(), outcome.getReplans(), seconds, agent.setpoints(), safety, robot, scene);
      } catch (TimeoutException | IllegalStateException e) {
        session.close();
        return new RobotRun(robotId, robotTask, null, e.getMessage() == null ? "no outcome in time" : e.getMessage(),
            0, 0, seconds, agent.setpoints(), safety, robot, scene);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new RobotRun(robotId, robotTask, null, "interrupted", 0, 0, 0, 0, 0, robot, scene);
    } catch (IllegalStateException e) {
      return new RobotRun(robotId, robotTask, null, e.getMessage(), 0, 0, 0, 0, 0, robot, scene);
    }
  }

  private int roundTrips(TokenizerServiceGrpc.TokenizerServiceBlockingStub stub) {
    SplittableRandom random = new SplittableRandom(seed);
    int failures = 0;
    System.out.printf("%-16s %-8s %8s %12s %14s %14s%n", "profile", "scheme", "actions", "actions/s", "max error", "bound");
    for (Profile profile : stub.listProfiles(ListProfilesRequest.getDefaultInstance()).getProfilesList()) {
      double worstRatio = 0;
      double worstError = 0;
      double worstBound = 0;
      long started = System.nanoTime();
      for (int done = 0; done < actions; done += batch) {
        int n = Math.min(batch, actions - done);
        EncodeRequest.Builder request = EncodeRequest.newBuilder().setProfile(profile.getName());
        double[][] sent = new double[n][];
        for (int a = 0; a < n; a++) {
          sent[a] = sample(profile, random);
          ActionVector.Builder action = request.addActionsBuilder();
          for (double v : sent[a]) {
            action.addValues(v);
          }
        }
        EncodeResponse encoded = stub.withDeadlineAfter(30, TimeUnit.SECONDS).encode(request.build());
        DecodeResponse decoded = stub.withDeadlineAfter(30, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
            .setProfile(profile.getName()).addAllSequences(encoded.getSequencesList()).build());
        for (int a = 0; a < n; a++) {
          for (int d = 0; d < profile.getDimensionsCount(); d++) {
            double error = Math.abs(decoded.getActions(a).getValues(d) - sent[a][d]);
            double bound = bound(profile, d);
            if (error / bound > worstRatio) {
              worstRatio = error / bound;
              worstError = error;
              worstBound = bound;
            }
          }
        }
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      boolean ok = worstRatio <= 1.0 + 1e-6;
      failures += ok ? 0 : 1;
      System.out.printf("%-16s %-8s %8d %12.0f %14.3e %14.3e %s%n", profile.getName(),
          profile.getScheme() == Scheme.SCHEME_OPENVLA ? "openvla" : "uniform", actions, actions / seconds,
          worstError, worstBound, ok ? "ok" : "EXCEEDED");
    }
    return failures;
  }

  /** A value inside each dimension's range (OpenVLA's raw gripper: fully open or closed). */
  private static double[] sample(Profile profile, SplittableRandom random) {
    double[] action = new double[profile.getDimensionsCount()];
    for (int d = 0; d < action.length; d++) {
      Dimension dim = profile.getDimensions(d);
      if (profile.getScheme() == Scheme.SCHEME_OPENVLA && !dim.getNormalized()) {
        action[d] = random.nextBoolean() ? 1.0 : 0.0;
      } else {
        action[d] = dim.getLow() + random.nextDouble() * (dim.getHigh() - dim.getLow());
      }
    }
    return action;
  }

  /** Half a bin in the dimension's unit: the largest reconstruction error the scheme allows in range. */
  private static double bound(Profile profile, int d) {
    Dimension dim = profile.getDimensions(d);
    if (profile.getScheme() == Scheme.SCHEME_OPENVLA) {
      double span = dim.getNormalized() ? dim.getHigh() - dim.getLow() : 2.0;
      // 1.0 and 0.0 sit at a bin edge / centre for the raw gripper: error up to a full bin there.
      return dim.getNormalized() ? span / (profile.getBins() - 1) / 2 + 1e-8 : 2.0 / (profile.getBins() - 1);
    }
    return (dim.getHigh() - dim.getLow()) / profile.getBins() / 2 * (1 + 1e-9);
  }
}
