package io.vlaserve.controller.messages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.controller.ActionChunk;
import io.vlaserve.controller.ChunkVerdict;
import io.vlaserve.controller.ControllerConfig;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.RobotController;
import io.vlaserve.controller.Vector3;
import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.LimitMode;
import io.vlaserve.controller.safety.OrientationLimit;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.recorder.FlightRecorder;
import io.vlaserve.recorder.ProtobufTopics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bridge recording made here as the bridge makes it (a controller on a manual clock, chunks,
 * verdicts, states every 100 ms, limits and settings latched), then replayed.
 */
class BridgeReplayTest {
  private static final long T0 = 1_800_000_000L * 1_000_000_000L;
  private static final SafetyLimits LIMITS = new SafetyLimits(new Vector3(0.25, -0.30, 0.01),
      new Vector3(0.75, 0.30, 0.35), LimitMode.CLAMP, AxisLimit.clamp(1.0), AxisLimit.clamp(10),
      AxisLimit.clamp(6500), AxisLimit.clamp(5.0), AxisLimit.clamp(10), Duration.ofMillis(50), AxisLimit.clamp(60),
      AxisLimit.clamp(40000), AxisLimit.clamp(400), new OrientationLimit(new Vector3(0, 0, 1), new Vector3(0, 0, 1),
          1.0472, LimitMode.CLAMP));
  private static final ExecutionSettings SETTINGS =
      new ExecutionSettings(Interpolation.MINIMUM_JERK, Blending.crossfade(Duration.ofMillis(100)));

  @TempDir Path dir;

  /**
   * Two seconds of 4-step chunks every 100 ms (19 of them) moving +x at 5 cm/s, recorded as the bridge does;
   * {@code chunkChange} alters each chunk before it is submitted (not as recorded).
   */
  private Path record(String name, UnaryOperator<io.vlaserve.common.v1.ActionChunk> chunkChange,
      SafetyLimits recordedLimits) throws Exception {
    long[] now = {T0};
    ProtoTime time = BridgeReplay.epochTime(now);
    RobotState start = RobotState.newBuilder().setGripper(1).setEndEffector(Pose.newBuilder()
        .setPosition(io.vlaserve.common.v1.Vector3.newBuilder().setX(0.5).setZ(0.2))
        .setOrientation(Quaternion.newBuilder().setW(1))).build();
    ControllerConfig config = ControllerConfig.of("arm-1");
    RobotController controller = new RobotController(config, LIMITS, BridgeReplay.robotAt(start, T0),
        () -> now[0]);
    var topics = new Object() {
      final FlightRecorder.Topic chunks = ProtobufTopics.topic(BridgeReplay.CHUNKS, ExecuteRequest.getDescriptor());
      final FlightRecorder.Topic verdicts = ProtobufTopics.topic(BridgeReplay.VERDICTS, ExecuteResponse.getDescriptor());
      final FlightRecorder.Topic states =
          ProtobufTopics.topic(BridgeReplay.STATES, io.vlaserve.controller.v1.ExecutionState.getDescriptor());
    };
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(dir.resolve(name), "bridge"))) {
      recorder.latch(ProtobufTopics.topic(BridgeReplay.LIMITS, io.vlaserve.controller.v1.SafetyLimits.getDescriptor()),
          "arm-1", T0, ControllerMessages.limits("arm-1", recordedLimits).toByteArray());
      recorder.latch(ProtobufTopics.topic(BridgeReplay.EXECUTION,
          io.vlaserve.controller.v1.ExecuteStart.getDescriptor()), "arm-1", T0,
          ControllerMessages.start("arm-1", SETTINGS).toByteArray());
      recorder.recordFully("arm-1", true).get(30, TimeUnit.SECONDS);
      ExecutionSnapshot snapshot = new ExecutionSnapshot();
      for (int ms = 1; ms <= 2000; ms++) {
        now[0] = T0 + ms * 1_000_000L;
        controller.tick(now[0]);
        controller.events().drain(e -> { });
        if (ms % 100 == 0 || ms == 1) { // the first before any chunk: a replay starts there
          controller.readState(snapshot);
          recorder.record(topics.states, "arm-1", now[0],
              ControllerMessages.state("arm-1", snapshot, null, time).toByteArray());
        }
        if (ms % 100 == 10 && ms < 1900) {
          io.vlaserve.common.v1.ActionChunk.Builder chunk = io.vlaserve.common.v1.ActionChunk.newBuilder()
              .setChunkId(ms / 100 + 1).setActionProfile("tiny-sim").setObservationSequence(ms / 100 + 1)
              .setStepPeriod(ProtoTime.duration(100_000_000L)).setObservationTime(time.toTimestamp(now[0] - 5_000_000L));
          for (int step = 0; step < 4; step++) {
            chunk.addStepsBuilder().addAllValues(List.of(0.005, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0));
          }
          recorder.record(topics.chunks, "arm-1", now[0],
              ExecuteRequest.newBuilder().setChunk(chunk).build().toByteArray());
          ActionChunk parsed = ControllerMessages.chunk(chunkChange.apply(chunk.build()), time, config.maxChunkSteps());
          ChunkVerdict verdict = controller.submit(parsed, SETTINGS);
          ExecuteResponse.Builder response = ExecuteResponse.newBuilder();
          if (verdict.accepted()) {
            response.getAcceptedBuilder().setChunkId(chunk.getChunkId());
          } else {
            response.getRejectedBuilder().setChunkId(chunk.getChunkId()).setMessage(verdict.toString());
          }
          recorder.record(topics.verdicts, "arm-1", now[0], response.build().toByteArray());
        }
      }
      recorder.recordFully("arm-1", false).get(30, TimeUnit.SECONDS);
      return recorder.files().get(0);
    }
  }

  @Test
  void theSameControllerCommandsTheSameMotionAndJudgesEveryChunkAlike() throws Exception {
    BridgeReplay.Report report = BridgeReplay.replay(record("same", c -> c, LIMITS));
    assertEquals("arm-1", report.robot());
    assertEquals(19, report.chunks());
    assertEquals(19, report.verdicts());
    assertEquals(19, report.sameVerdicts());
    assertEquals(20, report.states(), "states compared while executing");
    assertTrue(report.maxPositionDifference() < 1e-9, "max " + report.maxPositionDifference());
    assertTrue(report.differences().isEmpty(), report.differences().toString());
  }

  @Test
  void aControllerThatMovedDifferentlyShowsAsAPositionDifference() throws Exception {
    // What was recorded: every chunk; what ran: each chunk twice as fast (a different policy answer).
    BridgeReplay.Report report = BridgeReplay.replay(record("faster", c -> {
      io.vlaserve.common.v1.ActionChunk.Builder changed = c.toBuilder().clearSteps();
      for (int step = 0; step < c.getStepsCount(); step++) {
        changed.addStepsBuilder().addAllValues(List.of(0.010, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0));
      }
      return changed.build();
    }, LIMITS));
    assertEquals(19, report.sameVerdicts());
    assertTrue(report.maxPositionDifference() > 0.05, "the recorded motion went twice as far: max "
        + report.maxPositionDifference());
  }

  @Test
  void aChunkJudgedOtherwiseIsReported() throws Exception {
    // The recorded controller ran under a workspace that halts at x 0.52: later chunks were refused.
    SafetyLimits halting = new SafetyLimits(LIMITS.workspaceMin(), new Vector3(0.52, 0.30, 0.35), LimitMode.HALT,
        LIMITS.maxLinearVelocity(), LIMITS.maxLinearAcceleration(), LIMITS.maxLinearJerk(),
        LIMITS.maxAngularVelocity(), LIMITS.maxGripperRate(), LIMITS.watchdogTimeout(),
        LIMITS.maxAngularAcceleration(), LIMITS.maxAngularJerk(), LIMITS.maxGripperAcceleration(),
        LIMITS.orientationWorkspace());
    Path file = record("halting", c -> c, LIMITS);
    Path relabelled = record("relabelled", c -> c, halting);
    BridgeReplay.Report same = BridgeReplay.replay(file);
    BridgeReplay.Report underHaltingLimits = BridgeReplay.replay(relabelled);
    assertTrue(same.differences().isEmpty());
    assertTrue(!underHaltingLimits.differences().isEmpty(), "replayed under the recorded (halting) limits, chunks"
        + " the bridge accepted are refused: " + underHaltingLimits);
  }

  @Test
  void aRecordingWithoutItsLimitsIsRefusedWithWhatItLacks() throws Exception {
    Path directory = dir.resolve("bare");
    Path file;
    try (FlightRecorder recorder = new FlightRecorder(FlightRecorder.Options.defaults(directory, "bridge"))) {
      recorder.record(ProtobufTopics.topic(BridgeReplay.CHUNKS, ExecuteRequest.getDescriptor()), "arm-1", T0,
          ExecuteRequest.getDefaultInstance().toByteArray());
      file = recorder.flushRing("arm-1", "halt").get(30, TimeUnit.SECONDS);
    }
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> BridgeReplay.replay(file));
    assertTrue(refused.getMessage().contains("no /safety_limits"), refused.getMessage());
  }
}
