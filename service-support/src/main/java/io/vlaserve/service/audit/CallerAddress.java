package io.vlaserve.service.audit;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.SocketAddress;

/**
 * Makes the calling peer's address available to the services, for the audit trail
 * ({@link #current()}). Until callers are authenticated (issue 16) the address is the best name a
 * service has for who did something. Registered on every service's gRPC server by
 * {@code VlaServiceAutoConfiguration}. Stateless and thread-safe.
 */
public final class CallerAddress implements ServerInterceptor {
  private static final Context.Key<String> CALLER = Context.key("vla-caller-address");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    return Contexts.interceptCall(Context.current().withValue(CALLER, remote == null ? "unknown" : remote.toString()),
        call, headers, next);
  }

  /** Returns the current call's peer address, or "unknown" outside an intercepted call. */
  public static String current() {
    String caller = CALLER.get();
    return caller == null ? "unknown" : caller;
  }
}
