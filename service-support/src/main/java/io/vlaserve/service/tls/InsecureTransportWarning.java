package io.vlaserve.service.tls;

import io.vlaserve.service.LogThrottle;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerBuilder;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The WARN line for a plaintext connection ({@code vla.tls.insecure=true}): on each new
 * connection's first call, naming the peer and the method, at most one line per interval with the
 * number left out since the last one (anyone can open connections; the log must not be theirs to
 * flood). {@link #install} adds it to a server: a transport filter marks each connection, an
 * interceptor warns on its first call. Time comes from an injected clock. Thread-safe.
 */
public final class InsecureTransportWarning {
  private static final Attributes.Key<AtomicBoolean> WARNED = Attributes.Key.create("vla-insecure-warned");

  private final String server;
  private final LogThrottle throttle;
  private final Consumer<String> sink;

  /**
   * @param server the server's name in the line, e.g. "gRPC port 50053"
   * @param interval at most one line per interval
   * @param nanoClock monotonic nanoseconds
   * @param sink where lines go (a WARN logger)
   */
  public InsecureTransportWarning(String server, Duration interval, LongSupplier nanoClock, Consumer<String> sink) {
    this.server = server;
    this.throttle = new LogThrottle(interval, nanoClock);
    this.sink = sink;
  }

  /** Adds the warning to {@code builder}. */
  public void install(ServerBuilder<?> builder) {
    builder.addTransportFilter(new ServerTransportFilter() {
      @Override
      public Attributes transportReady(Attributes attributes) {
        return attributes.toBuilder().set(WARNED, new AtomicBoolean()).build();
      }
    });
    builder.intercept(new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        AtomicBoolean warned = call.getAttributes().get(WARNED);
        if (warned != null && warned.compareAndSet(false, true)) {
          firstCall(String.valueOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)),
              call.getMethodDescriptor().getFullMethodName());
        }
        return next.startCall(call, headers);
      }
    });
  }

  /** Reports a new connection's first call; logs it unless a line was written less than an interval ago. */
  void firstCall(String peer, String method) {
    long left = throttle.admit();
    if (left == LogThrottle.SKIP) {
      return;
    }
    sink.accept("Plaintext connection on " + server + " from " + peer + " (first call " + method
        + "): nothing on it is encrypted or authenticated (vla.tls.insecure=true; expected in production:"
        + " vla.tls.certificate, vla.tls.private-key, vla.tls.trust)"
        + (left > 0 ? " (and " + left + " more plaintext connections not logged since the last line)" : ""));
  }
}
