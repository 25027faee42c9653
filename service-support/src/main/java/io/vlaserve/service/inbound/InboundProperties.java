package io.vlaserve.service.inbound;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How every vla-serve gRPC service treats input it refuses ({@code vla.inbound.*}). The maximum
 * message size itself is Spring's {@code spring.grpc.server.inbound.message.max-size}, set per service.
 *
 * @param rejectedLogInterval at most one log line per interval for refused input (unparseable or oversized)
 * @param maxStatusDescription the longest status description sent back, in bytes as encoded in the trailers;
 *     longer ones are cut (a client's HTTP/2 codec drops the whole connection over trailers past its limit,
 *     8 KiB in grpc-java)
 */
@ConfigurationProperties("vla.inbound")
public record InboundProperties(
    @DefaultValue("10s") Duration rejectedLogInterval,
    @DefaultValue("2048") int maxStatusDescription) {}
