package io.vlaserve.benchmarks;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ResumeRequest;
import java.util.concurrent.TimeUnit;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.Setpoint;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.proto.ProtoTimes;
import io.vlaserve.robot.client.RobotAgent;
import io.vlaserve.robot.client.RobotChannels;
import io.vlaserve.robot.client.RobotHardware;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What remote robots cost controller-bridge: one bridge process with N remote robots, N agents
 * (robot-client's {@code RobotAgent}, in this process) holding kinematic arms at rest, so every
 * robot gets a setpoint per 1 kHz tick. Protocols alternate in slices on the same bridge:
 *
 * <ul>
 *   <li>{@code single/500}: one setpoint per message, state at 500 Hz (the simulated robot before
 *       setpoint frames);
 *   <li>{@code frames/500}: 10 ms frames, state at 500 Hz (the frames alone);
 *   <li>{@code frames/100}: 10 ms frames, state at 100 Hz (the simulated robot now).
 * </ul>
 *
 * <p>Per slice: the bridge's CPU time (from /proc) per second of robot time, this process's (the
 * agents'), setpoints the arms received per robot-second, and the bridge loop's missed deadlines
 * (its Prometheus counters).
 *
 * <pre>
 * ./vla --version    # builds the jars
 * java -cp benchmarks/target/benchmarks.jar io.vlaserve.benchmarks.AgentLinkBenchmark [robots, default 16] [seconds per slice, default 10] [rounds, default 2] [protocol, default all: single/500 frames/500 frames/100]
 * </pre>
 */
public final class AgentLinkBenchmark {
  private record Protocol(String name, int maxFrameSetpoints, double stateRateHz, double playoutRateHz) {}

  private static final List<Protocol> PROTOCOLS = List.of(
      new Protocol("single/500", 1, 500, 1000),
      new Protocol("frames/500", 50, 500, 250),
      new Protocol("frames/100", 50, 100, 250));

  public static void main(String[] args) throws Exception {
    int robots = args.length > 0 ? Integer.parseInt(args[0]) : 16;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    // Optional: one protocol only (e.g. frames/100, what robot-client uses), for fleet-size sweeps.
    List<Protocol> protocols = args.length > 3
        ? PROTOCOLS.stream().filter(p -> p.name().equals(args[3])).toList() : PROTOCOLS;
    if (protocols.isEmpty()) {
      throw new IllegalArgumentException("protocol '" + args[3] + "' (expected one of "
          + PROTOCOLS.stream().map(Protocol::name).toList() + ")");
    }
    Path home = Path.of(System.getProperty("vla.home", ".")).toAbsolutePath().normalize();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < robots; i++) {
      ids.add("arm-" + i);
    }
    System.out.printf(Locale.ROOT, "%s, %d remote robots, %d s slices, %d rounds, load before: %s%n%n",
        Instant.now(), robots, seconds, rounds, uptime());
    try (ServiceProcess bridge = ServiceProcess.start("agent-link-bridge",
        home.resolve("controller-bridge/target/controller-bridge.jar"), home, List.of("-XX:+UseZGC"),
        List.of("--vla.tls.insecure=true", "--vla.controller.simulated-robots=0",
            "--vla.controller.remote-robots=" + String.join(",", ids), "--vla.controller.link-timeout=200ms"),
        home.resolve("target"), List.of("vla.controller.agent-port"))) {
      bridge.awaitServing(Duration.ofSeconds(120));
      ManagedChannel channel = RobotChannels.forAddress("127.0.0.1", bridge.port("vla.controller.agent-port"))
          .credentials(io.vlaserve.robot.client.RobotCredentials.insecure()).build();
      ManagedChannel control = bridge.channel();
      HttpClient http = HttpClient.newHttpClient();
      System.out.println("| round | protocol | bridge CPU-µs per robot-second | agents' CPU-µs per robot-second |"
          + " setpoints per robot-second | missed loop deadlines |");
      System.out.println("|---:|---|---:|---:|---:|---:|");
      try {
        // Warm both sides on every protocol once before measuring.
        for (Protocol protocol : protocols) {
          run(bridge, channel, control, http, ids, protocol, Math.max(2, seconds / 2), -1);
        }
        for (int round = 1; round <= rounds; round++) {
          for (Protocol protocol : protocols) {
            run(bridge, channel, control, http, ids, protocol, seconds, round);
          }
        }
      } finally {
        channel.shutdownNow();
        control.shutdownNow();
      }
    }
    System.out.printf(Locale.ROOT, "%nload after: %s%n", uptime());
  }

  private static void run(ServiceProcess bridge, ManagedChannel channel, ManagedChannel control, HttpClient http, List<String> ids,
      Protocol protocol, int seconds, int round) throws Exception {
    List<Arm> arms = new ArrayList<>();
    List<RobotAgent> agents = new ArrayList<>();
    for (String id : ids) {
      Arm arm = new Arm();
      arms.add(arm);
      agents.add(RobotAgent.builder(channel, RobotIdentity.newBuilder().setRobotId(id).build(), arm)
          .maxFrameSetpoints(protocol.maxFrameSetpoints()).stateRate(protocol.stateRateHz())
          .playoutRate(protocol.playoutRateHz()).holdAfter(Duration.ofMillis(100)).connect());
    }
    try {
      // The previous slice's agents left: the bridge halted their robots (link loss). Resume each
      // once its new link is up, as an operator would, until every arm follows setpoints.
      var controller = ControllerBridgeGrpc.newBlockingStub(control);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (arms.stream().anyMatch(a -> a.setpoints == 0)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("robots not driven after 30 s; bridge log " + bridge.log());
        }
        for (int i = 0; i < ids.size(); i++) {
          if (arms.get(i).setpoints == 0) {
            try {
              controller.withDeadlineAfter(2, TimeUnit.SECONDS)
                  .resume(ResumeRequest.newBuilder().setRobotId(ids.get(i)).build());
            } catch (StatusRuntimeException notYet) {
              // Its link is not up yet, or it is not halted.
            }
          }
        }
        Thread.sleep(50);
      }
      Thread.sleep(1000);
      long bridgeCpu0 = bridge.cpuNanos();
      long ownCpu0 = ownCpuNanos();
      long setpoints0 = arms.stream().mapToLong(a -> a.setpoints).sum();
      double[] metrics0 = metrics(http, bridge);
      long start = System.nanoTime();
      Thread.sleep(seconds * 1000L);
      long wall = System.nanoTime() - start;
      long bridgeCpu = bridge.cpuNanos() - bridgeCpu0;
      long ownCpu = ownCpuNanos() - ownCpu0;
      long setpoints = arms.stream().mapToLong(a -> a.setpoints).sum() - setpoints0;
      double[] metrics1 = metrics(http, bridge);
      double robotSeconds = ids.size() * wall * 1e-9;
      if (round >= 0) {
        System.out.printf(Locale.ROOT, "| %d | %s | %.0f | %.0f | %.0f | %.0f of %.0f |%n", round, protocol.name(),
            bridgeCpu * 1e-3 / robotSeconds, ownCpu * 1e-3 / robotSeconds, setpoints / robotSeconds,
            metrics1[1] - metrics0[1], metrics1[0] - metrics0[0]);
      }
    } finally {
      for (RobotAgent agent : agents) {
        agent.close();
      }
      Thread.sleep(500);
    }
  }

  /** A kinematic arm at rest that goes exactly to each setpoint. */
  private static final class Arm implements RobotHardware {
    private final double[] pose = {0.5, 0, 0.2, 0, 0, 0, 1, 1};
    volatile long setpoints;

    @Override
    public synchronized RobotState state() {
      return RobotState.newBuilder().setTime(ProtoTimes.timestamp(Instant.now()))
          .setEndEffector(Pose.newBuilder()
              .setPosition(Vector3.newBuilder().setX(pose[0]).setY(pose[1]).setZ(pose[2]))
              .setOrientation(Quaternion.newBuilder().setX(pose[3]).setY(pose[4]).setZ(pose[5]).setW(pose[6])))
          .setGripper(pose[7]).build();
    }

    @Override
    public synchronized void command(Setpoint setpoint) {
      var t = setpoint.getTarget();
      pose[0] = t.getPosition().getX();
      pose[1] = t.getPosition().getY();
      pose[2] = t.getPosition().getZ();
      pose[3] = t.getOrientation().getX();
      pose[4] = t.getOrientation().getY();
      pose[5] = t.getOrientation().getZ();
      pose[6] = t.getOrientation().getW();
      pose[7] = setpoint.getGripper();
      setpoints++;
    }

    @Override
    public void hold(String reason) {}
  }

  private static final Pattern METRIC = Pattern.compile("^(vla_controller_loop_ticks_total|"
      + "vla_controller_loop_missed_deadlines_total)(\\{[^}]*\\})? ([0-9.eE+-]+)$");

  /** {loop ticks, missed deadlines} from the bridge's Prometheus endpoint. */
  private static double[] metrics(HttpClient http, ServiceProcess bridge) throws IOException, InterruptedException {
    String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + bridge.httpPort()
        + "/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
    double[] result = new double[2];
    for (String line : body.split("\n")) {
      Matcher m = METRIC.matcher(line);
      if (!m.matches()) {
        continue;
      }
      double value = Double.parseDouble(m.group(3));
      result[m.group(1).equals("vla_controller_loop_ticks_total") ? 0 : 1] += value;
    }
    return result;
  }

  private static long ownCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static String uptime() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }
}
