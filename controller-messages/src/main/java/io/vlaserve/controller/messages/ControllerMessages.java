package io.vlaserve.controller.messages;

import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.CartesianPose;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.ExecutionSnapshot;
import io.vlaserve.controller.InvalidChunkException;
import io.vlaserve.controller.loop.LoopStatistics;
import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.InvalidSafetyLimitsException;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import io.vlaserve.controller.v1.ExecuteStart;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.LimitMode;
import io.vlaserve.controller.v1.SafetyEvent;
import io.vlaserve.controller.v1.SafetyEventKind;
import io.vlaserve.controller.v1.SafetyLimits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Converts between {@code vla.controller.v1} messages and the controller core's types. Stateless. */
public final class ControllerMessages {
  private ControllerMessages() {}

  // ------------------------------------------------------------------ chunks and settings

  /**
   * Converts and validates a chunk.
   *
   * @throws InvalidChunkException naming the field, step and dimension at fault
   */
  public static io.vlaserve.controller.ActionChunk chunk(io.vlaserve.common.v1.ActionChunk chunk, ProtoTime time,
      int maxSteps) {
    if (!chunk.hasStepPeriod()) {
      throw new InvalidChunkException("chunk " + chunk.getChunkId()
          + ": step_period: missing (expected: the policy's control period, e.g. 0.1 s)");
    }
    if (!chunk.hasObservationTime()) {
      throw new InvalidChunkException("chunk " + chunk.getChunkId()
          + ": observation_time: missing (expected: capture time of the observation the chunk answers)");
    }
    List<double[]> steps = new ArrayList<>(chunk.getStepsCount());
    for (var step : chunk.getStepsList()) {
      double[] values = new double[step.getValuesCount()];
      for (int d = 0; d < values.length; d++) {
        values[d] = step.getValues(d);
      }
      steps.add(values);
    }
    long firstStep = Integer.toUnsignedLong(chunk.getFirstStep());
    if (firstStep >= maxSteps) {
      throw new InvalidChunkException("chunk " + chunk.getChunkId() + ": first_step: " + firstStep + " (expected: 0,"
          + " or the committed prefix's length, below the " + maxSteps + " steps a chunk may have)");
    }
    try {
      return io.vlaserve.controller.ActionChunk.of(chunk.getChunkId(), time.toLoopNanos(chunk.getObservationTime()),
          ProtoTime.nanos(chunk.getStepPeriod()), (int) firstStep, steps, maxSteps);
    } catch (InvalidChunkException e) {
      throw new InvalidChunkException("chunk " + chunk.getChunkId() + ": " + e.getMessage());
    }
  }

  /** The settings an Execute stream asked for, defaults filling what it left unspecified. */
  public static ExecutionSettings settings(ExecuteStart start, ExecutionDefaults defaults) {
    Interpolation interpolation = switch (start.getInterpolation()) {
      case INTERPOLATION_LINEAR -> Interpolation.LINEAR;
      case INTERPOLATION_CUBIC -> Interpolation.CUBIC;
      case INTERPOLATION_MINIMUM_JERK -> Interpolation.MINIMUM_JERK;
      case INTERPOLATION_UNSPECIFIED -> defaults.interpolation();
      case UNRECOGNIZED -> throw new InvalidRequestException("start.interpolation: " + start.getInterpolationValue()
          + " (expected: LINEAR, CUBIC or MINIMUM_JERK)");
    };
    Blending.Mode mode = switch (start.getBlending()) {
      case BLENDING_NONE -> Blending.Mode.NONE;
      case BLENDING_EXPONENTIAL -> Blending.Mode.EXPONENTIAL;
      case BLENDING_LINEAR_CROSSFADE -> Blending.Mode.LINEAR_CROSSFADE;
      case BLENDING_UNSPECIFIED -> defaults.blending();
      case UNRECOGNIZED -> throw new InvalidRequestException("start.blending: " + start.getBlendingValue()
          + " (expected: NONE, EXPONENTIAL or LINEAR_CROSSFADE)");
    };
    // Zero means unspecified, as everywhere in proto3: the configured defaults apply.
    long blendTime = start.hasBlendTime() && ProtoTime.nanos(start.getBlendTime()) != 0
        ? ProtoTime.nanos(start.getBlendTime()) : defaults.blendTime().toNanos();
    double decay = start.getBlendDecay() == 0 ? defaults.blendDecay() : start.getBlendDecay();
    if (start.hasStatePeriod() && ProtoTime.nanos(start.getStatePeriod()) < 0) {
      throw new InvalidRequestException("start.state_period: negative (expected: >= 0; 0 for every chunk step)");
    }
    try {
      return new ExecutionSettings(interpolation, new Blending(mode, decay, blendTime));
    } catch (IllegalArgumentException e) {
      throw new InvalidRequestException("start." + e.getMessage());
    }
  }

  /**
   * {@code settings} as an ExecuteStart for {@code robotId} that specifies every setting, so that it
   * means the same to any bridge whatever its defaults (the flight recorder keeps it with chunks).
   */
  public static ExecuteStart start(String robotId, ExecutionSettings settings) {
    Blending blending = settings.blending();
    return ExecuteStart.newBuilder()
        .setRobot(io.vlaserve.common.v1.RobotIdentity.newBuilder().setRobotId(robotId))
        .setInterpolation(switch (settings.interpolation()) {
          case LINEAR -> io.vlaserve.controller.v1.Interpolation.INTERPOLATION_LINEAR;
          case CUBIC -> io.vlaserve.controller.v1.Interpolation.INTERPOLATION_CUBIC;
          case MINIMUM_JERK -> io.vlaserve.controller.v1.Interpolation.INTERPOLATION_MINIMUM_JERK;
        })
        .setBlending(switch (blending.mode()) {
          case NONE -> io.vlaserve.controller.v1.Blending.BLENDING_NONE;
          case EXPONENTIAL -> io.vlaserve.controller.v1.Blending.BLENDING_EXPONENTIAL;
          case LINEAR_CROSSFADE -> io.vlaserve.controller.v1.Blending.BLENDING_LINEAR_CROSSFADE;
        })
        .setBlendDecay(blending.decay())
        .setBlendTime(ProtoTime.duration(blending.blendTimeNanos()))
        .build();
  }

  // ------------------------------------------------------------------ state

  public static ExecutionState state(String robotId, ExecutionSnapshot s, LoopStatistics.Snapshot loop, ProtoTime time) {
    ExecutionState.Builder state = ExecutionState.newBuilder()
        .setRobotId(robotId)
        .setTime(time.toTimestamp(s.timeNanos))
        .setMode(mode(s))
        .setChunkId(s.chunkId)
        .setStepIndex(s.stepIndex)
        .setStepFraction(s.stepFraction)
        .setCommanded(pose(s.commanded))
        .setCommandedGripper(s.commanded.gripper)
        .setCommandedLinearVelocity(Vector3.newBuilder()
            .setX(s.commandedVelocity[0]).setY(s.commandedVelocity[1]).setZ(s.commandedVelocity[2]));
    if (s.ready) {
      state.setMeasured(RobotState.newBuilder()
          .setTime(time.toTimestamp(s.measuredTimeNanos))
          .setEndEffector(pose(s.measured))
          .setGripper(s.measured.gripper));
    }
    if (loop != null) {
      state.setLoop(loop(loop));
    }
    return state.build();
  }

  private static ExecutionMode mode(ExecutionSnapshot s) {
    return switch (s.mode) {
      case IDLE -> ExecutionMode.EXECUTION_MODE_IDLE;
      case EXECUTING -> ExecutionMode.EXECUTION_MODE_EXECUTING;
      case HOLDING -> ExecutionMode.EXECUTION_MODE_HOLDING;
      case HALTED -> ExecutionMode.EXECUTION_MODE_HALTED;
      case ESTOPPED -> ExecutionMode.EXECUTION_MODE_ESTOPPED;
    };
  }

  public static io.vlaserve.controller.v1.LoopStatistics loop(LoopStatistics.Snapshot loop) {
    return io.vlaserve.controller.v1.LoopStatistics.newBuilder()
        .setRateHz(loop.rateHz())
        .setPeriodErrorP50(ProtoTime.duration(loop.periodErrorP50Nanos()))
        .setPeriodErrorP99(ProtoTime.duration(loop.periodErrorP99Nanos()))
        .setPeriodErrorP999(ProtoTime.duration(loop.periodErrorP999Nanos()))
        .setPeriodErrorMax(ProtoTime.duration(loop.periodErrorMaxNanos()))
        .setMissedDeadlines(loop.missedDeadlines())
        .setTicks(loop.ticks())
        .setComputeP50(ProtoTime.duration(loop.computeP50Nanos()))
        .setComputeP99(ProtoTime.duration(loop.computeP99Nanos()))
        .setComputeMax(ProtoTime.duration(loop.computeMaxNanos()))
        .build();
  }

  public static Pose pose(CartesianPose pose) {
    return Pose.newBuilder()
        .setPosition(Vector3.newBuilder().setX(pose.position[0]).setY(pose.position[1]).setZ(pose.position[2]))
        .setOrientation(Quaternion.newBuilder().setX(pose.orientation[0]).setY(pose.orientation[1])
            .setZ(pose.orientation[2]).setW(pose.orientation[3]))
        .build();
  }

  // ------------------------------------------------------------------ safety

  public static SafetyEvent event(io.vlaserve.controller.safety.SafetyEvent event, ProtoTime time) {
    return SafetyEvent.newBuilder()
        .setRobotId(event.robotId())
        .setTime(time.toTimestamp(event.timeNanos()))
        .setKind(SafetyEventKind.forNumber(event.kind().ordinal() + 1))
        .setAction(switch (event.action()) {
          case CLAMP -> LimitMode.LIMIT_MODE_CLAMP;
          case HALT -> LimitMode.LIMIT_MODE_HALT;
          // A watchdog hold: no limit was broken and no Resume is needed.
          case HOLD -> LimitMode.LIMIT_MODE_HOLD;
          case NOTICE -> LimitMode.LIMIT_MODE_NOTICE;
        })
        .setAxis(event.axis().label())
        .setRequested(event.requested())
        .setLimit(event.limit())
        .setMessage(event.message())
        .setChunkId(event.chunkId())
        .build();
  }

  public static SafetyLimits limits(String robotId, io.vlaserve.controller.safety.SafetyLimits limits) {
    return SafetyLimits.newBuilder()
        .setRobotId(robotId)
        .setWorkspaceMin(vector(limits.workspaceMin()))
        .setWorkspaceMax(vector(limits.workspaceMax()))
        .setWorkspaceMode(mode(limits.workspaceMode()))
        .setMaxLinearVelocity(limit(limits.maxLinearVelocity()))
        .setMaxLinearAcceleration(limit(limits.maxLinearAcceleration()))
        .setMaxLinearJerk(limit(limits.maxLinearJerk()))
        .setMaxAngularVelocity(limit(limits.maxAngularVelocity()))
        .setMaxGripperRate(limit(limits.maxGripperRate()))
        .setWatchdogTimeout(ProtoTime.duration(limits.watchdogTimeout().toNanos()))
        .setMaxAngularAcceleration(limit(limits.maxAngularAcceleration()))
        .setMaxAngularJerk(limit(limits.maxAngularJerk()))
        .setMaxGripperAcceleration(limit(limits.maxGripperAcceleration()))
        .setOrientationWorkspace(io.vlaserve.controller.v1.OrientationLimit.newBuilder()
            .setToolAxis(vector(limits.orientationWorkspace().toolAxis()))
            .setNominalDirection(vector(limits.orientationWorkspace().nominalDirection()))
            .setMaxTilt(limits.orientationWorkspace().maxTilt())
            .setMode(mode(limits.orientationWorkspace().mode())))
        .build();
  }

  /**
   * Converts and validates limits from the wire; the fields added after v1's first release
   * (angular acceleration and jerk, gripper acceleration, orientation workspace) keep their value in
   * {@code current} when absent, so older clients keep working (null: absent means unset).
   *
   * @throws InvalidSafetyLimitsException naming the field as {@code limits.<field>}
   */
  public static io.vlaserve.controller.safety.SafetyLimits limits(SafetyLimits limits,
      io.vlaserve.controller.safety.SafetyLimits current) {
    try {
      return new io.vlaserve.controller.safety.SafetyLimits(
          limits.hasWorkspaceMin() ? vector(limits.getWorkspaceMin()) : null,
          limits.hasWorkspaceMax() ? vector(limits.getWorkspaceMax()) : null,
          mode(limits.getWorkspaceMode()),
          limits.hasMaxLinearVelocity() ? limit(limits.getMaxLinearVelocity()) : null,
          limits.hasMaxLinearAcceleration() ? limit(limits.getMaxLinearAcceleration()) : null,
          limits.hasMaxLinearJerk() ? limit(limits.getMaxLinearJerk()) : null,
          limits.hasMaxAngularVelocity() ? limit(limits.getMaxAngularVelocity()) : null,
          limits.hasMaxGripperRate() ? limit(limits.getMaxGripperRate()) : null,
          limits.hasWatchdogTimeout() ? Duration.ofNanos(ProtoTime.nanos(limits.getWatchdogTimeout())) : null,
          limits.hasMaxAngularAcceleration() ? limit(limits.getMaxAngularAcceleration())
              : current == null ? null : current.maxAngularAcceleration(),
          limits.hasMaxAngularJerk() ? limit(limits.getMaxAngularJerk())
              : current == null ? null : current.maxAngularJerk(),
          limits.hasMaxGripperAcceleration() ? limit(limits.getMaxGripperAcceleration())
              : current == null ? null : current.maxGripperAcceleration(),
          limits.hasOrientationWorkspace() ? orientation(limits.getOrientationWorkspace())
              : current == null ? null : current.orientationWorkspace());
    } catch (InvalidSafetyLimitsException e) {
      String message = e.getMessage().substring(e.field().length() + 2);
      throw new InvalidSafetyLimitsException("limits." + e.field(), message);
    }
  }

  private static io.vlaserve.controller.safety.OrientationLimit orientation(
      io.vlaserve.controller.v1.OrientationLimit cone) {
    return new io.vlaserve.controller.safety.OrientationLimit(cone.hasToolAxis() ? vector(cone.getToolAxis()) : null,
        cone.hasNominalDirection() ? vector(cone.getNominalDirection()) : null, cone.getMaxTilt(),
        mode(cone.getMode()));
  }

  private static Vector3 vector(io.vlaserve.controller.Vector3 v) {
    return Vector3.newBuilder().setX(v.x()).setY(v.y()).setZ(v.z()).build();
  }

  private static io.vlaserve.controller.Vector3 vector(Vector3 v) {
    return new io.vlaserve.controller.Vector3(v.getX(), v.getY(), v.getZ());
  }

  private static io.vlaserve.controller.v1.AxisLimit limit(AxisLimit limit) {
    return io.vlaserve.controller.v1.AxisLimit.newBuilder().setMax(limit.max()).setMode(mode(limit.mode())).build();
  }

  private static AxisLimit limit(io.vlaserve.controller.v1.AxisLimit limit) {
    return new AxisLimit(limit.getMax(), mode(limit.getMode()));
  }

  private static LimitMode mode(io.vlaserve.controller.safety.LimitMode mode) {
    return mode == io.vlaserve.controller.safety.LimitMode.CLAMP ? LimitMode.LIMIT_MODE_CLAMP : LimitMode.LIMIT_MODE_HALT;
  }

  /** Unspecified (or unknown) modes become null, which validation reports with the field's name. */
  private static io.vlaserve.controller.safety.LimitMode mode(LimitMode mode) {
    return switch (mode) {
      case LIMIT_MODE_CLAMP -> io.vlaserve.controller.safety.LimitMode.CLAMP;
      case LIMIT_MODE_HALT -> io.vlaserve.controller.safety.LimitMode.HALT;
      default -> null;
    };
  }
}
