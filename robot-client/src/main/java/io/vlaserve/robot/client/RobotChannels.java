package io.vlaserve.robot.client;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.vlaserve.tls.TlsMaterial;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Builds the channels a robot uses to reach the gateway and the controller bridge, with the
 * connection settings a robot needs: HTTP/2 keepalive so a dead peer or a silently dropped
 * connection is noticed within seconds (and the session or agent link fails instead of stalling),
 * and a bounded inbound message size.
 *
 * <p>Defaults: keepalive ping every 20 s, 10 s to answer, no pings without calls, 4 MiB inbound.
 * Servers refuse pings more frequent than their permitted keepalive time (5 minutes by default
 * when no call is active, answering with GOAWAY "too_many_pings"): only enable
 * {@link Builder#keepAliveWithoutCalls} towards servers configured to permit it. While a session
 * or agent link is open, data flows and pings at the default rate are accepted.
 *
 * <p>Usage: {@code ManagedChannel gateway = RobotChannels.forTarget("dns:///gateway:9090").build();}
 * The builder is not thread-safe; the channels it builds are.
 */
public final class RobotChannels {
  /** The default largest message a robot accepts: 4 MiB, well above any gateway or bridge message. */
  public static final int DEFAULT_MAX_INBOUND_BYTES = 4 * 1024 * 1024;

  private RobotChannels() {}

  /** A builder for a channel to a gRPC target such as {@code "dns:///gateway.lab:9090"} or {@code "host:port"}. */
  public static Builder forTarget(String target) {
    if (target == null || target.isBlank()) {
      throw new IllegalArgumentException("target: empty (expected: e.g. \"dns:///gateway:9090\")");
    }
    return new Builder(target);
  }

  /** A builder for a channel to {@code host:port}. */
  public static Builder forAddress(String host, int port) {
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
    }
    return forTarget(host + ":" + port);
  }

  /** Connection settings for one channel; {@link #build} makes it. Not thread-safe. */
  public static final class Builder {
    private final String target;
    private ChannelCredentials credentials = InsecureChannelCredentials.create();
    private Duration keepAliveTime = Duration.ofSeconds(20);
    private Duration keepAliveTimeout = Duration.ofSeconds(10);
    private boolean keepAliveWithoutCalls;
    private int maxInboundMessageBytes = DEFAULT_MAX_INBOUND_BYTES;
    private String userAgent = "vla-robot-client";

    private Builder(String target) {
      this.target = target;
    }

    /** TLS or other credentials; plaintext by default (a lab network or a service mesh's sidecar). */
    public Builder credentials(ChannelCredentials value) {
      credentials = java.util.Objects.requireNonNull(value, "credentials");
      return this;
    }

    /**
     * TLS from PEM files: the robot's certificate presented (for the servers' client auth), the
     * servers' checked against the material's CA certificates and the target's host name. A
     * rotation of the files (after {@link TlsMaterial#refresh} or while {@link TlsMaterial#watch}ing)
     * applies to the channel's next connections; the robot closes the material when it stops.
     */
    public Builder tls(TlsMaterial material) {
      return credentials(material.channelCredentials());
    }

    /** TLS or plaintext as {@code value} says (from files, options or properties). */
    public Builder credentials(RobotCredentials value) {
      return credentials(value.channelCredentials());
    }

    /** How long the connection may be quiet before a keepalive ping (at least 10 s, gRPC's floor). */
    public Builder keepAliveTime(Duration value) {
      if (value.compareTo(Duration.ofSeconds(10)) < 0) {
        throw new IllegalArgumentException("keepAliveTime: " + value + " (expected: >= 10 s; servers reject more"
            + " frequent pings)");
      }
      keepAliveTime = value;
      return this;
    }

    /** How long to wait for a ping's answer before the connection counts as dead. */
    public Builder keepAliveTimeout(Duration value) {
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException("keepAliveTimeout: " + value + " (expected: > 0)");
      }
      keepAliveTimeout = value;
      return this;
    }

    /** Whether to ping while no call is open (only towards servers that permit it; see the class comment). */
    public Builder keepAliveWithoutCalls(boolean value) {
      keepAliveWithoutCalls = value;
      return this;
    }

    /** The largest message accepted from the server, bytes. */
    public Builder maxInboundMessageBytes(int value) {
      if (value < 1024) {
        throw new IllegalArgumentException("maxInboundMessageBytes: " + value + " (expected: >= 1024)");
      }
      maxInboundMessageBytes = value;
      return this;
    }

    /** The user agent the servers see, e.g. the robot's model and software version. */
    public Builder userAgent(String value) {
      userAgent = value;
      return this;
    }

    /** Builds the channel; it connects lazily, on the first call. Shut it down when the robot stops. */
    public ManagedChannel build() {
      return Grpc.newChannelBuilder(target, credentials)
          .keepAliveTime(keepAliveTime.toNanos(), TimeUnit.NANOSECONDS)
          .keepAliveTimeout(keepAliveTimeout.toNanos(), TimeUnit.NANOSECONDS)
          .keepAliveWithoutCalls(keepAliveWithoutCalls)
          .maxInboundMessageSize(maxInboundMessageBytes)
          .userAgent(userAgent)
          .build();
    }
  }
}
