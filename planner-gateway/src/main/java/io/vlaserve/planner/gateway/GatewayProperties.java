package io.vlaserve.planner.gateway;

import io.vlaserve.planner.v1.ChunkContinuation;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How the gateway reaches its services, plans, and judges subgoals.
 *
 * @param policyTarget gRPC target of policy-service, e.g. {@code dns:///policy-service:50052}
 *     (every address the name resolves to is used round-robin, per call)
 * @param controllerTarget gRPC target of controller-bridge
 * @param controllerShards gRPC targets of several controller bridges, each driving its own robots (one
 *     target per bridge, e.g. a StatefulSet pod's DNS name); empty: {@code controllerTarget} drives every robot
 * @param planner which planner and its settings
 * @param observationValidity observations older than this (capture time to arrival) are not sent to the policy
 * @param maxReplans replans allowed per session before it fails
 * @param subgoalTimeFactor a subgoal's time budget is its step budget x the policy's step period x this
 * @param policyFailoverTimeout how long a session waits for policy-service to come back (the robot holds meanwhile)
 * @param bridgeFailoverTimeout how long a session waits, after the robot's bridge went away, for the robot to be
 *     driven again (its bridge back, or another shard) while the robot holds
 * @param callTimeout deadline of the gateway's unary calls (metadata, halt, resume)
 * @param statePeriod how often the bridge reports execution state, forwarded to the robot
 * @param shutdownGrace on shutdown, how long the replica waits for the bridge to let go of its robots before telling
 *     them to reconnect (a replica resuming a session sooner would find its robot still claimed)
 * @param quota limits per authenticated caller and on the planner
 * @param resume how robots resume their sessions after a reconnect, on any replica
 * @param chunkContinuation how new chunks take over from the executing motion for sessions that do not say
 *     ({@code SessionOpen.chunk_continuation}): {@code CHUNK_CONTINUATION_BLEND} (crossfade), {@code
 *     CHUNK_CONTINUATION_NONE} (replace at once) or {@code CHUNK_CONTINUATION_PREFIX} (real-time chunking)
 * @param prefixMinDelay PREFIX sessions send no committed prefix while the recent p90 of observation-to-chunk
 *     latency is at most this; unset: half the policy's step period (below it the bridge runs a chunk's first
 *     step in full anyway)
 */
@ConfigurationProperties("vla.gateway")
public record GatewayProperties(
    @DefaultValue("dns:///localhost:50052") String policyTarget,
    @DefaultValue("dns:///localhost:50054") String controllerTarget,
    @DefaultValue List<String> controllerShards,
    @DefaultValue Planner planner,
    @DefaultValue("500ms") Duration observationValidity,
    @DefaultValue("3") int maxReplans,
    @DefaultValue("1.5") double subgoalTimeFactor,
    @DefaultValue("5s") Duration policyFailoverTimeout,
    @DefaultValue("15s") Duration bridgeFailoverTimeout,
    @DefaultValue("5s") Duration callTimeout,
    @DefaultValue("100ms") Duration statePeriod,
    @DefaultValue("5s") Duration shutdownGrace,
    @DefaultValue Quota quota,
    @DefaultValue Resume resume,
    @DefaultValue("CHUNK_CONTINUATION_BLEND") ChunkContinuation chunkContinuation,
    Duration prefixMinDelay) {

  public GatewayProperties {
    controllerShards = controllerShards == null ? List.of() : List.copyOf(controllerShards);
    for (String shard : controllerShards) {
      if (shard.isBlank()) {
        throw new IllegalArgumentException("vla.gateway.controller-shards: an empty target in " + controllerShards
            + " (expected one gRPC target per bridge, e.g. dns:///controller-bridge-0.controller-bridge:50054)");
      }
    }
    if (chunkContinuation == ChunkContinuation.CHUNK_CONTINUATION_UNSPECIFIED
        || chunkContinuation == ChunkContinuation.UNRECOGNIZED) {
      throw new IllegalArgumentException("vla.gateway.chunk-continuation: " + chunkContinuation
          + " (expected CHUNK_CONTINUATION_BLEND, CHUNK_CONTINUATION_NONE or CHUNK_CONTINUATION_PREFIX)");
    }
    if (prefixMinDelay != null && prefixMinDelay.isNegative()) {
      throw new IllegalArgumentException("vla.gateway.prefix-min-delay: " + prefixMinDelay + " (expected >= 0, or unset)");
    }
    if (maxReplans < 0) {
      throw new IllegalArgumentException("vla.gateway.max-replans: " + maxReplans + " (expected >= 0)");
    }
    if (!(subgoalTimeFactor > 0)) {
      throw new IllegalArgumentException("vla.gateway.subgoal-time-factor: " + subgoalTimeFactor + " (expected > 0)");
    }
  }

  /**
   * Quotas. The rates apply per authenticated caller (a robot's certificate or token identity), so
   * no caller can spend another's; under {@code vla.tls.insecure=true} there are no identities and
   * only the planner bound applies.
   *
   * @param opensPerMinute robot sessions a caller may open per minute (reconnects included)
   * @param plansPerMinute {@code PlanTask} calls a caller may make per minute
   * @param burst calls a caller may save up, for each of the two rates
   * @param maxConcurrentPlans plans being made at once by the whole gateway (session opens, replans, PlanTask)
   * @param plannerWait how long a plan waits for one of those slots before failing RESOURCE_EXHAUSTED
   * @param maxSessions robot sessions this replica serves at once; an open past it is refused
   *     RESOURCE_EXHAUSTED (the robot holds) so that the admitted robots keep their step latency
   * @param capacityRetry the RetryInfo delay given with that refusal
   */
  public record Quota(@DefaultValue("30") double opensPerMinute, @DefaultValue("60") double plansPerMinute,
      @DefaultValue("10") int burst, @DefaultValue("8") int maxConcurrentPlans,
      @DefaultValue("5s") Duration plannerWait, @DefaultValue("32") int maxSessions,
      @DefaultValue("5s") Duration capacityRetry) {}

  /**
   * Resume tokens (see {@code io.vlaserve.planner.resume}).
   *
   * @param keys the signing keys: a directory as a Kubernetes Secret mounts it (file {@code
   *     signing-key-id} and one base64 file per key id), the same on every replica; re-read when its
   *     files change. Unset: a random key made at start, so tokens resume only on this process
   * @param keysCheckPeriod how often the key directory is checked for changes
   * @param tokenLifetime how long a token resumes; it should outlast the longest subgoal plus a reconnect
   * @param allowedSkew how far ahead of this replica's clock another replica may have issued a token
   * @param ledgerCapacity sessions this replica remembers having resumed (replay refusal); above the
   *     resumes it sees within a token lifetime
   */
  public record Resume(Path keys, @DefaultValue("10s") Duration keysCheckPeriod,
      @DefaultValue("10m") Duration tokenLifetime, @DefaultValue("5s") Duration allowedSkew,
      @DefaultValue("100000") int ledgerCapacity) {
    public Resume {
      if (keysCheckPeriod.isNegative() || keysCheckPeriod.isZero()) {
        throw new IllegalArgumentException("vla.gateway.resume.keys-check-period: " + keysCheckPeriod + " (expected > 0)");
      }
      if (tokenLifetime.isNegative() || tokenLifetime.isZero()) {
        throw new IllegalArgumentException("vla.gateway.resume.token-lifetime: " + tokenLifetime + " (expected > 0)");
      }
      if (allowedSkew.isNegative()) {
        throw new IllegalArgumentException("vla.gateway.resume.allowed-skew: " + allowedSkew + " (expected >= 0)");
      }
      if (ledgerCapacity <= 0) {
        throw new IllegalArgumentException("vla.gateway.resume.ledger-capacity: " + ledgerCapacity + " (expected > 0)");
      }
    }
  }

  /**
   * @param kind {@code embedded} (offline, the default) or {@code openai} (any OpenAI-compatible chat endpoint)
   * @param openai the chat endpoint, for {@code kind: openai}
   */
  public record Planner(@DefaultValue("embedded") String kind, @DefaultValue OpenAi openai) {}

  /**
   * An OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp server, Ollama, hosted APIs).
   *
   * @param baseUrl e.g. {@code http://vllm:8000/v1}; requests go to {@code {baseUrl}/chat/completions}
   * @param model model name as the server knows it
   * @param apiKey bearer key; empty for none. Give it through the environment ({@code VLA_PLANNER_API_KEY}), never in a file
   */
  public record OpenAi(
      @DefaultValue("http://localhost:8000/v1") URI baseUrl,
      @DefaultValue("") String model,
      @DefaultValue("") String apiKey,
      @DefaultValue("30s") Duration requestTimeout,
      @DefaultValue("5s") Duration connectTimeout,
      @DefaultValue("3") int maxAttempts,
      @DefaultValue("2") int maxCorrections,
      @DefaultValue("true") boolean jsonResponseFormat) {}
}
