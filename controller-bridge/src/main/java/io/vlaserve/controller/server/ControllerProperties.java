package io.vlaserve.controller.server;

import io.vlaserve.controller.ControllerConfig;
import io.vlaserve.controller.ExecutionSettings;
import io.vlaserve.controller.Vector3;
import io.vlaserve.controller.loop.LoopScheduling;
import io.vlaserve.controller.safety.AxisLimit;
import io.vlaserve.controller.safety.LimitMode;
import io.vlaserve.controller.safety.OrientationLimit;
import io.vlaserve.controller.safety.SafetyEnvelope;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The bridge's configuration ({@code vla.controller.*} in application.yml).
 *
 * @param rateHz control rate, e.g. 1000 or 500
 * @param loopThreads dedicated loop threads; robots are spread over them round-robin
 * @param spin how long before a deadline a loop stops parking and spins
 * @param loopPriority the control-loop threads' real-time (SCHED_FIFO) priority, 1..99, so that a
 *     tick starts on time however busy the machine; needs CAP_SYS_NICE or an rtprio limit, else the
 *     loops run at normal priority and the bridge says so; 0 never asks
 * @param simulatedRobots how many simulated robots ({@code sim-0}, {@code sim-1}, ...) to create
 * @param simulatorSeed seed of {@code sim-0}'s world; {@code sim-i} uses seed + i
 * @param remoteRobots ids of robots driven through {@code RobotAgentLink}: this bridge's own
 * @param standbyRobots ids of other bridges' robots this one drives, as remote robots, when their
 *     agents come here because their own bridge is draining or gone (a sharded fleet's standby); a
 *     robot is either one or the other here
 * @param linkTimeout silence after which a remote robot's link counts as lost
 * @param agentPort the port of the robot agent link ({@code RobotAgentLink}), apart from the
 *     ControllerBridge API's; 0 picks a free one (tests)
 * @param agentAddress the address the agent link listens on; empty for every interface
 * @param maxChunkSteps the longest chunk accepted
 * @param maxBlendLayers trajectories blended at once, per robot
 * @param maxObservationLead how far in the future an observation time may lie
 * @param eventPollPeriod how often safety events are collected from the loops and streamed
 * @param execution defaults for what an Execute stream leaves unspecified
 * @param limits the safety limits every robot starts with
 * @param envelope the widest limits any robot may be given over the API (its hard envelope);
 *     absent: the starting limits, so the API can only tighten them
 * @param robotEnvelopes per-robot envelopes, by robot id, replacing {@code envelope} for that robot
 * @param maxBlendTime the longest crossfade an Execute stream may ask for
 * @param maxOpenLoop the longest chunk horizon (steps times step period) accepted
 * @param agentFrame how much control time one setpoint frame to a remote agent covers (agents
 *     that take frames): 10 ms is ten setpoints at 1 kHz in one message; one control period sends
 *     every setpoint on its own
 */
@ConfigurationProperties("vla.controller")
public record ControllerProperties(
    @DefaultValue("1000") double rateHz,
    @DefaultValue("1") int loopThreads,
    @DefaultValue("50us") Duration spin,
    @DefaultValue("40") int loopPriority,
    @DefaultValue("1") int simulatedRobots,
    @DefaultValue("0") long simulatorSeed,
    @DefaultValue List<String> remoteRobots,
    @DefaultValue List<String> standbyRobots,
    @DefaultValue("50ms") Duration linkTimeout,
    @DefaultValue("50055") int agentPort,
    @DefaultValue("") String agentAddress,
    @DefaultValue("128") int maxChunkSteps,
    @DefaultValue("32") int maxBlendLayers,
    @DefaultValue("50ms") Duration maxObservationLead,
    @DefaultValue("5ms") Duration eventPollPeriod,
    @DefaultValue Execution execution,
    @DefaultValue Limits limits,
    Limits envelope,
    Map<String, Limits> robotEnvelopes,
    @DefaultValue("500ms") Duration maxBlendTime,
    @DefaultValue("2s") Duration maxOpenLoop,
    @DefaultValue("10ms") Duration agentFrame) {

  public ControllerProperties {
    if (!(rateHz >= 10 && rateHz <= 10_000)) {
      throw new IllegalArgumentException("vla.controller.rate-hz: " + rateHz + " (expected: 10..10000, e.g. 500 or 1000)");
    }
    if (agentPort < 0 || agentPort > 65535) {
      throw new IllegalArgumentException("vla.controller.agent-port: " + agentPort + " (expected: 0..65535, 0 for any free port)");
    }
    if (loopThreads < 1) {
      throw new IllegalArgumentException("vla.controller.loop-threads: " + loopThreads + " (expected: >= 1)");
    }
    if (loopPriority < 0 || loopPriority > 99) {
      throw new IllegalArgumentException("vla.controller.loop-priority: " + loopPriority
          + " (expected: 1..99 for SCHED_FIFO, or 0 for the normal scheduler)");
    }
    if (simulatedRobots < 0) {
      throw new IllegalArgumentException("vla.controller.simulated-robots: " + simulatedRobots + " (expected: >= 0)");
    }
    long periodNanos = Math.round(1e9 / rateHz);
    if (agentFrame.toNanos() < periodNanos || agentFrame.toMillis() > 100) {
      throw new IllegalArgumentException("vla.controller.agent-frame: " + agentFrame + " (expected: one control period ("
          + periodNanos / 1000 + " us) to 100 ms; 10ms sends ten setpoints per message at 1 kHz)");
    }
    if (agentFrame.compareTo(linkTimeout) >= 0) {
      throw new IllegalArgumentException("vla.controller.agent-frame: " + agentFrame + " (expected: shorter than"
          + " link-timeout " + linkTimeout + ", or a robot's agent would hold between two frames)");
    }
    robotEnvelopes = robotEnvelopes == null ? Map.of() : Map.copyOf(robotEnvelopes);
  }

  /** How the control-loop threads ask to be scheduled. */
  public LoopScheduling loopScheduling() {
    return loopPriority == 0 ? LoopScheduling.NORMAL : LoopScheduling.realtime(loopPriority);
  }

  /**
   * The hard envelope of robot {@code robotId}, checked to contain the starting limits.
   *
   * @throws IllegalArgumentException naming the property if the starting limits lie outside it
   */
  public SafetyEnvelope envelope(String robotId) {
    Limits configured = robotEnvelopes.getOrDefault(robotId, envelope);
    String property = robotEnvelopes.containsKey(robotId) ? "vla.controller.robot-envelopes." + robotId
        : "vla.controller.envelope";
    SafetyEnvelope result = new SafetyEnvelope(configured == null ? limits.toLimits() : configured.toLimits());
    try {
      result.check(limits.toLimits());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("vla.controller.limits lie outside " + property + " for robot " + robotId
          + ": " + e.getMessage(), e);
    }
    return result;
  }

  /**
   * Execution defaults.
   *
   * @param interpolation between waypoints
   * @param blending how a new chunk takes over
   * @param blendTime crossfade duration
   * @param blendDecay exponential decay per step of age
   * @param statePeriod how often an Execute stream gets ExecutionState when it asks for "every step"
   *     before its first chunk
   */
  public record Execution(
      @DefaultValue("minimum-jerk") Interpolation interpolation,
      @DefaultValue("linear-crossfade") Blending.Mode blending,
      @DefaultValue("100ms") Duration blendTime,
      @DefaultValue("0.5") double blendDecay,
      @DefaultValue("100ms") Duration statePeriod) {
    /** As the controller's message conversions take them. */
    public io.vlaserve.controller.messages.ExecutionDefaults defaults() {
      return new io.vlaserve.controller.messages.ExecutionDefaults(interpolation, blending, blendTime, blendDecay);
    }

    /** The defaults as execution settings. */
    public ExecutionSettings settings() {
      return new ExecutionSettings(interpolation, new Blending(blending, blendDecay, blendTime.toNanos()));
    }
  }

  /** A limit as configured: maximum and mode. */
  public record Limit(double max, @DefaultValue("clamp") LimitMode mode) {
    AxisLimit toLimit() {
      return new AxisLimit(max, mode);
    }
  }

  /** The initial safety limits (validated when the fleet is built). */
  public record Limits(
      @DefaultValue({"0.25", "-0.30", "0.01"}) List<Double> workspaceMin,
      @DefaultValue({"0.75", "0.30", "0.35"}) List<Double> workspaceMax,
      @DefaultValue("clamp") LimitMode workspaceMode,
      Limit maxLinearVelocity,
      Limit maxLinearAcceleration,
      Limit maxLinearJerk,
      Limit maxAngularVelocity,
      Limit maxGripperRate,
      @DefaultValue("50ms") Duration watchdogTimeout,
      Limit maxAngularAcceleration,
      Limit maxAngularJerk,
      Limit maxGripperAcceleration,
      Orientation orientationWorkspace) {

    /** The limits, validated; every rate limit must be configured (application.yml ships them all). */
    public SafetyLimits toLimits() {
      return new SafetyLimits(vector("workspace-min", workspaceMin), vector("workspace-max", workspaceMax),
          workspaceMode, limit("max-linear-velocity", maxLinearVelocity),
          limit("max-linear-acceleration", maxLinearAcceleration), limit("max-linear-jerk", maxLinearJerk),
          limit("max-angular-velocity", maxAngularVelocity), limit("max-gripper-rate", maxGripperRate),
          watchdogTimeout, limit("max-angular-acceleration", maxAngularAcceleration),
          limit("max-angular-jerk", maxAngularJerk), limit("max-gripper-acceleration", maxGripperAcceleration),
          orientationWorkspace == null ? OrientationLimit.ANY : orientationWorkspace.toLimit());
    }

    private static AxisLimit limit(String name, Limit limit) {
      if (limit == null) {
        throw new IllegalArgumentException("vla.controller.limits." + name + ": missing (expected: {max, mode})");
      }
      return limit.toLimit();
    }

    private static Vector3 vector(String name, List<Double> values) {
      if (values.size() != 3) {
        throw new IllegalArgumentException("vla.controller.limits." + name + ": " + values + " (expected: [x, y, z])");
      }
      return new Vector3(values.get(0), values.get(1), values.get(2));
    }
  }

  /**
   * The orientation workspace as configured; absent: any direction.
   *
   * @param toolAxis the tool direction in the end-effector frame
   * @param nominalDirection the direction it should point in, base frame
   * @param maxTilt the largest angle between them
   * @param mode clamp or halt
   */
  public record Orientation(
      @DefaultValue({"0", "0", "1"}) List<Double> toolAxis,
      @DefaultValue({"0", "0", "1"}) List<Double> nominalDirection,
      double maxTilt,
      @DefaultValue("clamp") LimitMode mode) {
    OrientationLimit toLimit() {
      return new OrientationLimit(Limits.vector("orientation-workspace.tool-axis", toolAxis),
          Limits.vector("orientation-workspace.nominal-direction", nominalDirection), maxTilt, mode);
    }
  }

  /** Setpoints per frame to a remote agent: one agent-frame of control ticks, at least one. */
  public int agentFrameSetpoints() {
    return (int) Math.max(1, Math.min(RemoteRobotDriver.RING / 4, Math.round(agentFrame.toNanos() * rateHz / 1e9)));
  }

  /** The controller config of robot {@code robotId}. */
  public ControllerConfig controllerConfig(String robotId) {
    return new ControllerConfig(robotId, Math.round(1e9 / rateHz), maxChunkSteps, maxBlendLayers,
        maxObservationLead.toNanos(), 1024, maxBlendTime.toNanos(), maxOpenLoop.toNanos());
  }
}
