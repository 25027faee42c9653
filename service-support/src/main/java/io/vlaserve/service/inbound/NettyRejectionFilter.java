package io.vlaserve.service.inbound;

import io.grpc.Status;
import java.util.List;
import java.util.logging.Filter;
import java.util.logging.Logger;

/**
 * Turns grpc-java's per-message WARNING with a stack trace ("Exception processing message", logged
 * by the Netty server stream when a message is over the maximum inbound size or its frame is
 * corrupt) into one rate-limited line of {@link RejectedInputLog}. The call itself is already
 * answered by grpc-java (RESOURCE_EXHAUSTED naming the limit) and fails alone. Install once; keep the
 * instance (java.util.logging holds loggers weakly, and the filter lives on the logger).
 */
public final class NettyRejectionFilter {
  /** The shaded and the plain Netty transport. */
  private static final List<String> LOGGERS = List.of("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream",
      "io.grpc.netty.NettyServerStream");
  private static final String MESSAGE = "Exception processing message";

  private final List<Logger> loggers;

  public NettyRejectionFilter(RejectedInputLog rejected) {
    Filter filter = record -> {
      if (MESSAGE.equals(record.getMessage()) && record.getThrown() != null) {
        Status status = Status.fromThrowable(record.getThrown());
        rejected.rejected("inbound message", status.getCode() + ": " + status.getDescription());
        return false;
      }
      return true;
    };
    this.loggers = LOGGERS.stream().map(Logger::getLogger).toList();
    loggers.forEach(logger -> logger.setFilter(filter));
  }

  /** Restores the loggers' default (no filter). */
  public void close() {
    loggers.forEach(logger -> logger.setFilter(null));
  }
}
