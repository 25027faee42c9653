package io.vlaserve.controller.messages;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import io.vlaserve.controller.ChunkVerdict;
import io.vlaserve.controller.ControllerConfig;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.InvalidChunkException;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.driver.FollowingDriver;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.controller.v1.ExecuteStart;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.recorder.mcap.McapReader;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Runs a controller-bridge flight recording again through a simulated controller: the chunks the
 * bridge received, each at the moment it arrived, through today's {@link RobotController} under the
 * recorded limits and execution settings, driving a robot that follows every setpoint exactly from
 * the first recorded pose. It compares what the replay commands with what the bridge commanded at
 * each recorded execution state, and each chunk's verdict with the recorded one: how a controller
 * change (or a different robot's tracking) would have changed that motion.
 *
 * <p>Times are the recording's: loop time is nanoseconds since the epoch, so a chunk's
 * observation time and its arrival keep their recorded distance (its latency compensation). The
 * replay starts at the first recorded state, with the robot at its measured pose; a chunk still
 * executing then is not replayed, so the first chunk period may differ.
 */
public final class BridgeReplay {
  public static final String CHUNKS = "/chunks";
  public static final String VERDICTS = "/chunk_verdicts";
  public static final String STATES = "/execution_state";
  public static final String LIMITS = "/safety_limits";
  public static final String EXECUTION = "/execute_start";
  private static final long TICK_NANOS = 1_000_000;

  /**
   * What the replay found.
   *
   * @param chunks chunks replayed
   * @param sameVerdicts of those with a recorded verdict, how many the replay judged alike (accepted or not)
   * @param verdicts chunks with a recorded verdict
   * @param states recorded execution states compared (those while the bridge was executing)
   * @param meanPositionDifference mean distance between the recorded and the replayed commanded position, metres
   * @param maxPositionDifference the largest, metres
   * @param maxGripperDifference the largest gripper difference (0 closed .. 1 open)
   * @param differences one line per chunk verdict that differs
   */
  public record Report(String robot, int chunks, int sameVerdicts, int verdicts, int states,
      double meanPositionDifference, double maxPositionDifference, double maxGripperDifference,
      List<String> differences) {}

  private record Timed(long nanos, int kind, Object message) {}

  private BridgeReplay() {}

  /** Whether {@code recording} is a bridge's (it has chunks). */
  public static boolean isBridgeRecording(McapReader recording) {
    return recording.channels().values().stream().anyMatch(c -> c.topic().equals(CHUNKS));
  }

  /**
   * Replays {@code file}.
   *
   * @throws IllegalArgumentException when the recording lacks what a replay needs (its limits and
   *     execution settings, written by bridges from this version on; a state to start from)
   */
  public static Report replay(Path file) throws IOException {
    return replay(McapReader.read(file), file.toString());
  }

  static Report replay(McapReader recording, String name) {
    SafetyLimits limits = null;
    ExecuteStart start = null;
    List<Timed> timeline = new ArrayList<>();
    for (McapReader.Message message : recording.messages()) {
      String topic = recording.channels().get(message.channelId()).topic();
      try {
        switch (topic) {
          case LIMITS -> limits = SafetyLimits.parseFrom(message.data());
          case EXECUTION -> start = ExecuteStart.parseFrom(message.data());
          case CHUNKS -> {
            ExecuteRequest request = ExecuteRequest.parseFrom(message.data());
            if (request.hasChunk()) {
              timeline.add(new Timed(message.logTime(), 1, request.getChunk()));
            }
          }
          case VERDICTS -> {
            ExecuteResponse response = ExecuteResponse.parseFrom(message.data());
            if (response.hasAccepted() || response.hasRejected()) {
              timeline.add(new Timed(message.logTime(), 2, response));
            }
          }
          case STATES -> {
            ExecutionState state = ExecutionState.parseFrom(message.data());
            timeline.add(new Timed(nanos(state.getTime()), 0, state));
          }
          default -> { }
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException(name + ": a message on " + topic + " does not parse: " + e.getMessage(), e);
      }
    }
    if (limits == null || start == null) {
      throw new IllegalArgumentException(name + ": no " + (limits == null ? LIMITS : EXECUTION) + " message (a"
          + " replay runs under the recorded limits and settings; bridges record them from this version on)");
    }
    ExecutionState first = timeline.stream().filter(t -> t.kind() == 0).map(t -> (ExecutionState) t.message())
        .filter(ExecutionState::hasMeasured).findFirst().orElseThrow(() -> new IllegalArgumentException(name
            + ": no " + STATES + " message to start the robot from"));
    // The replay starts where the robot is known: the first recorded state, the robot there at rest.
    // Chunks that came before it are left out (at 10 Hz, the motion of at most one chunk differs).
    long startNanos = nanos(first.getTime());
    timeline.removeIf(t -> t.nanos() < startNanos);
    timeline.sort(Comparator.comparingLong(Timed::nanos).thenComparingInt(Timed::kind));
    long[] now = {startNanos};
    ProtoTime time = epochTime(now);
    String robot = limits.getRobotId();
    ControllerConfig config = ControllerConfig.of(robot);
    FollowingDriver driver = robotAt(first.getMeasured(), now[0]);
    RobotController controller = new RobotController(config, ControllerMessages.limits(limits, null), driver,
        () -> now[0]);
    // The recorded start specifies every setting; zeros are what it means, not "the default".
    ExecutionSettings settings = ControllerMessages.settings(start, new ExecutionDefaults(
        io.vlaserve.controller.trajectory.Interpolation.MINIMUM_JERK,
        io.vlaserve.controller.trajectory.Blending.Mode.LINEAR_CROSSFADE, java.time.Duration.ZERO, 0));
    java.util.Map<Long, Boolean> replayedVerdicts = new java.util.HashMap<>();
    List<String> differences = new ArrayList<>();
    ExecutionSnapshot snapshot = new ExecutionSnapshot();
    int chunks = 0;
    int verdicts = 0;
    int same = 0;
    int states = 0;
    double sum = 0;
    double max = 0;
    double gripper = 0;
    for (Timed event : timeline) {
      while (now[0] + TICK_NANOS <= event.nanos()) {
        now[0] += TICK_NANOS;
        controller.tick(now[0]);
        controller.events().drain(e -> { });
      }
      switch (event.kind()) {
        case 1 -> {
          io.vlaserve.common.v1.ActionChunk chunk = (io.vlaserve.common.v1.ActionChunk) event.message();
          chunks++;
          boolean accepted;
          try {
            ChunkVerdict verdict = controller.submit(ControllerMessages.chunk(chunk, time, config.maxChunkSteps()),
                settings);
            accepted = verdict.accepted();
          } catch (InvalidChunkException e) {
            accepted = false;
          }
          replayedVerdicts.put(chunk.getChunkId(), accepted);
        }
        case 2 -> {
          ExecuteResponse response = (ExecuteResponse) event.message();
          long id = response.hasAccepted() ? response.getAccepted().getChunkId() : response.getRejected().getChunkId();
          Boolean replayed = replayedVerdicts.get(id);
          if (replayed != null) {
            verdicts++;
            if (replayed == response.hasAccepted()) {
              same++;
            } else {
              differences.add("chunk " + id + ": recorded " + (response.hasAccepted() ? "accepted" : "rejected ("
                  + response.getRejected().getMessage() + ")") + ", replayed " + (replayed ? "accepted" : "rejected"));
            }
          }
        }
        default -> {
          ExecutionState recorded = (ExecutionState) event.message();
          controller.readState(snapshot);
          if (chunks > 0 && recorded.hasCommanded() && snapshot.ready) {
            double dx = recorded.getCommanded().getPosition().getX() - snapshot.commanded.position[0];
            double dy = recorded.getCommanded().getPosition().getY() - snapshot.commanded.position[1];
            double dz = recorded.getCommanded().getPosition().getZ() - snapshot.commanded.position[2];
            double distance = Math.sqrt(dx * dx + dy * dy + dz * dz);
            sum += distance;
            max = Math.max(max, distance);
            gripper = Math.max(gripper, Math.abs(recorded.getCommandedGripper() - snapshot.commanded.gripper));
            states++;
          }
        }
      }
    }
    return new Report(robot, chunks, same, verdicts, states, states == 0 ? 0 : sum / states, max, gripper,
        List.copyOf(differences));
  }

  /** A robot that follows its setpoints exactly, starting from a recorded measured state. */
  static FollowingDriver robotAt(io.vlaserve.common.v1.RobotState start, long nowNanos) {
    var p = start.getEndEffector().getPosition();
    var q = start.getEndEffector().getOrientation();
    boolean unset = q.getX() == 0 && q.getY() == 0 && q.getZ() == 0 && q.getW() == 0;
    return new FollowingDriver(new double[] {p.getX(), p.getY(), p.getZ()},
        unset ? new double[] {0, 0, 0, 1} : new double[] {q.getX(), q.getY(), q.getZ(), q.getW()}, start.getGripper(),
        nowNanos);
  }

  /** Loop time as nanoseconds since the epoch, read from {@code now[0]}. */
  static ProtoTime epochTime(long[] now) {
    return new ProtoTime(new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return Instant.ofEpochSecond(0, now[0]);
      }
    }, () -> now[0]);
  }

  private static long nanos(Timestamp timestamp) {
    return timestamp.getSeconds() * 1_000_000_000L + timestamp.getNanos();
  }
}
