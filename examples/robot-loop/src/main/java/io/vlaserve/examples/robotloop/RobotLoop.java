package io.vlaserve.examples.robotloop;

import io.vlaserve.proto.ProtoTimes;
import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.Setpoint;
import io.vlaserve.planner.v1.CameraRequirement;
import io.vlaserve.planner.v1.HoldNotice;
import io.vlaserve.planner.v1.Plan;
import io.vlaserve.planner.v1.RobotObservation;
import io.vlaserve.planner.v1.SessionAccepted;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SessionOutcome;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.robot.client.Driving;
import io.vlaserve.robot.client.GatewaySession;
import io.vlaserve.robot.client.ReconnectPolicy;
import io.vlaserve.robot.client.RobotAgent;
import io.vlaserve.robot.client.RobotChannels;
import io.vlaserve.robot.client.RobotCredentials;
import io.vlaserve.robot.client.RobotHardware;
import io.vlaserve.robot.client.SessionReopener;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * A robot's main loop on robot-client, end to end: link the arm to the controller bridge
 * ({@link RobotAgent}, which holds on its own when setpoints stop and reconnects a lost link), open
 * a session for a task with the gateway ({@link SessionReopener}, which resumes it from its newest
 * token, or opens a new one, if the gateway restarts), stream camera frames and proprioception at the rate the gateway asks, hold
 * whenever the session says so, and stop at the outcome.
 *
 * <p>The "arm" is a point that jumps to each setpoint and the "camera" a grey frame: replace
 * {@link PointArm} and {@link #frame} with the robot's drivers.
 *
 * <p>Usage: {@code java -jar robot-loop.jar --tls-ca FILE --tls-cert FILE --tls-key FILE [gateway-target]
 * [controller-target] [robot-id] [task...]} (defaults: localhost:50051, localhost:50055 (the bridge's agent
 * link port), arm-1, "put the red block on the plate"). The certificate names the robot,
 * {@code spiffe://vla-serve/robot/<robot-id>} ({@code ./vla pki issue --role robot --name arm-1} makes one
 * under target/demo/pki/arm-1/); {@code --insecure} instead dials plaintext, for services run with
 * {@code vla.tls.insecure=true}.
 */
public final class RobotLoop {
  private RobotLoop() {}

  /**
   * Runs one task and exits 0 when it succeeded, 1 otherwise.
   *
   * @param args the credentials' options ({@link RobotCredentials#fromCommandLine}), anywhere; then
   *     gateway target, controller target, robot id, then the task's words
   */
  public static void main(String[] commandLine) throws Exception {
    RobotCredentials credentials;
    String[] args;
    try {
      RobotCredentials.CommandLine parsed = RobotCredentials.fromCommandLine(commandLine);
      credentials = parsed.credentials();
      args = parsed.arguments().toArray(String[]::new);
    } catch (IllegalArgumentException e) {
      System.err.println("robot-loop: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (credentials.isInsecure()) {
      log("WARNING: --insecure: plaintext channels, no server is authenticated and the robot is not either");
    }
    String gatewayTarget = args.length > 0 ? args[0] : "localhost:50051";
    String controllerTarget = args.length > 1 ? args[1] : "localhost:50055";
    String robotId = args.length > 2 ? args[2] : "arm-1";
    String task = args.length > 3 ? String.join(" ", Arrays.copyOfRange(args, 3, args.length))
        : "put the red block on the plate";
    RobotIdentity robot = RobotIdentity.newBuilder().setRobotId(robotId).build();
    PointArm arm = new PointArm();

    ManagedChannel gateway = RobotChannels.forTarget(gatewayTarget).credentials(credentials).build();
    ManagedChannel controller = RobotChannels.forTarget(controllerTarget).credentials(credentials).build();
    try (RobotAgent agent = RobotAgent.builder(controller, robot, arm)
        .stateRate(100)
        .holdAfter(Duration.ofMillis(50))
        .reconnect(ReconnectPolicy.defaults())
        .listener((state, cause) -> log("agent link " + state + (cause.isOk() ? "" : " (" + cause.getCode() + ")")))
        .connect()) {
      Progress progress = new Progress();
      SessionReopener session = SessionReopener.open(gateway, SessionOpen.newBuilder()
          .setRobot(robot).setTask(task).build(), progress, GatewaySession.Options.defaults(),
          ReconnectPolicy.defaults());
      streamFrames(session, progress, arm);
      Driving last = session.awaitEnded(Duration.ofSeconds(10));
      log("finished: " + last + "; clock " + session.current().clockEstimate().map(Object::toString).orElse("unknown")
          + "; setpoints " + agent.setpoints());
      System.exit(last.status() != null && last.status().isOk() && progress.succeeded ? 0 : 1);
    } finally {
      gateway.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      controller.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Sends an observation every period the gateway asked for, until every session has ended. */
  private static void streamFrames(SessionReopener session, Progress progress, PointArm arm)
      throws InterruptedException {
    long sequence = 0;
    while (!session.driving().ended()) {
      SessionAccepted accepted = session.current().accepted();
      if (accepted == null) {
        Thread.sleep(10); // Not accepted yet (or a new session is coming): nothing to send.
        continue;
      }
      CameraRequirement camera = accepted.getCamerasCount() > 0 ? accepted.getCameras(0)
          : CameraRequirement.newBuilder().setName("third_person").setWidth(64).setHeight(64).build();
      Instant captured = Clock.systemUTC().instant();
      session.send(RobotObservation.newBuilder().setObservation(Observation.newBuilder()
          .setSequence(++sequence)
          .setCaptureTime(timestamp(captured))
          .addImages(frame(camera))
          .setState(arm.state()))
          .build());
      Duration period = accepted.hasObservationPeriod()
          ? ProtoTimes.javaDuration(accepted.getObservationPeriod())
          : Duration.ofMillis(100);
      Thread.sleep(period.toMillis());
    }
  }

  /** A grey RGB8 frame of the size the gateway asked for; a real robot encodes its camera's image. */
  private static Image frame(CameraRequirement camera) {
    byte[] pixels = new byte[camera.getWidth() * camera.getHeight() * 3];
    Arrays.fill(pixels, (byte) 128);
    return Image.newBuilder().setCamera(camera.getName()).setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8)
        .setWidth(camera.getWidth()).setHeight(camera.getHeight()).setData(ByteString.copyFrom(pixels)).build();
  }

  /** Logs the session's progress and reacts to the drive state (a real robot gates its motion on it). */
  private static final class Progress implements GatewaySession.Listener {
    private volatile boolean succeeded;

    @Override
    public void onPlan(Plan plan) {
      log("plan rev " + plan.getRevision() + ": " + plan.getSubgoalsList().stream().map(s -> s.getInstruction())
          .toList());
    }

    @Override
    public void onSubgoal(SubgoalEvent event) {
      log("subgoal " + event.getSubgoalId() + " " + event.getStatus() + " " + event.getReason());
    }

    @Override
    public void onHold(HoldNotice hold) {
      log("told to hold: " + hold.getReason());
    }

    @Override
    public void onOutcome(SessionOutcome outcome) {
      succeeded = outcome.getOutcome() == io.vlaserve.planner.v1.Outcome.OUTCOME_SUCCEEDED;
      log("outcome " + outcome.getOutcome() + ": " + outcome.getReason());
    }

    @Override
    public void onDriving(Driving driving) {
      // DRIVEN: the bridge's setpoints move the arm. HOLD/ENDED: keep still (the agent already
      // holds when setpoints stop; a real robot would also brake or engage its own hold here).
      log("drive: " + driving);
    }

    @Override
    public void onClosed(Status status) {
      log("session stream closed: " + status.getCode());
    }
  }

  /** The simplest arm: its end effector is wherever the last setpoint put it. */
  private static final class PointArm implements RobotHardware {
    private Setpoint last;

    @Override
    public synchronized RobotState state() {
      Pose pose = last != null ? last.getTarget() : Pose.newBuilder()
          .setPosition(Vector3.newBuilder().setX(0.4).setZ(0.2))
          .setOrientation(Quaternion.newBuilder().setW(1)).build();
      return RobotState.newBuilder().setTime(timestamp(Clock.systemUTC().instant())).setEndEffector(pose)
          .setGripper(last != null ? last.getGripper() : 1).build();
    }

    @Override
    public synchronized void command(Setpoint setpoint) {
      last = setpoint;
    }

    @Override
    public void hold(String reason) {
      log("arm holds: " + reason);
    }
  }

  private static Timestamp timestamp(Instant time) {
    return ProtoTimes.timestamp(time);
  }

  private static void log(String line) {
    System.out.println(Instant.now() + " " + line);
  }
}
