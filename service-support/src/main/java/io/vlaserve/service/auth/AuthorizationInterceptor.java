package io.vlaserve.service.auth;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Authentication and authorization of every gRPC call, decided here and nowhere else: who is
 * calling ({@link Authenticator}: bearer token or client certificate), whether that role may call
 * the method ({@link AccessTable}), and, for a robot, that every robot id in every message it
 * sends is its own ({@link RobotIdCheck}; the call ends PERMISSION_DENIED naming both ids, before
 * the service sees the message). The caller is then {@link Principal#current()} for the service
 * and its audit lines. Under {@code vla.tls.insecure=true} ({@code authenticator} null) every
 * caller is {@link Principal#insecure()} and allowed everything. Thread-safe.
 */
public final class AuthorizationInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final AccessTable table;
  private final Authenticator authenticator;
  private final RobotIdCheck robotIds = new RobotIdCheck();

  /**
   * @param authenticator null for an insecure service: nobody is authenticated, everything is allowed
   */
  public AuthorizationInterceptor(AccessTable table, Authenticator authenticator) {
    this.table = table;
    this.authenticator = authenticator;
  }

  /**
   * Checks that {@code table} has a rule for every method of {@code service}: a method without one
   * would be refused to everyone, which is a mistake to find at start, not in production.
   *
   * @throws IllegalStateException naming the methods without a rule
   */
  public static void checkCovers(AccessTable table, ServerServiceDefinition service) {
    List<String> missing = service.getMethods().stream()
        .map(method -> method.getMethodDescriptor().getFullMethodName())
        .filter(name -> table.rule(name).isEmpty())
        .toList();
    if (!missing.isEmpty()) {
      throw new IllegalStateException("no access rule for " + missing
          + " (expected: a row in io.vlaserve.service.auth.AccessTable and docs/security.md)");
    }
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    Optional<AccessTable.Rule> rule = table.rule(method);
    if (rule.isEmpty()) {
      return refuse(call, Status.PERMISSION_DENIED.withDescription(method + ": no access rule, refused to everyone"));
    }
    if (authenticator == null) {
      return Contexts.interceptCall(Context.current().withValue(Principal.KEY, Principal.insecure()), call, headers, next);
    }
    Principal principal;
    try {
      principal = authenticator.authenticate(headers.get(AUTHORIZATION), peerCertificates(call));
    } catch (AuthenticationException e) {
      if (rule.get().open()) {
        return next.startCall(call, headers);
      }
      return refuse(call, Status.UNAUTHENTICATED.withDescription(e.getMessage()));
    }
    if (!rule.get().open() && !rule.get().roles().contains(principal.role())) {
      return refuse(call, Status.PERMISSION_DENIED.withDescription(principal + " may not call " + method
          + " (allowed: " + rule.get().describe() + ")"));
    }
    Context context = Context.current().withValue(Principal.KEY, principal);
    if (principal.role() != Role.ROBOT) {
      return Contexts.interceptCall(context, call, headers, next);
    }
    RefusableCall<Q, R> refusable = new RefusableCall<>(call);
    return new OwnRobotOnly<>(Contexts.interceptCall(context, refusable, headers, next), refusable, principal);
  }

  private static Certificate[] peerCertificates(ServerCall<?, ?> call) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return null;
    }
    try {
      return session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /**
   * A call this interceptor may end under the service: afterwards the service's own replies and
   * close are dropped (it may be writing from another thread when the refusal comes) and it reads
   * the call as cancelled.
   */
  private static final class RefusableCall<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private final Object lock = new Object();
    private boolean refused;

    RefusableCall(ServerCall<Q, R> delegate) {
      super(delegate);
    }

    void refuse(Status status) {
      synchronized (lock) {
        if (refused) {
          return;
        }
        refused = true;
        super.close(status, new Metadata());
      }
    }

    @Override
    public void sendHeaders(Metadata headers) {
      synchronized (lock) {
        if (!refused) {
          super.sendHeaders(headers);
        }
      }
    }

    @Override
    public void sendMessage(R message) {
      synchronized (lock) {
        if (!refused) {
          super.sendMessage(message);
        }
      }
    }

    @Override
    public void close(Status status, Metadata trailers) {
      synchronized (lock) {
        if (!refused) {
          refused = true;
          super.close(status, trailers);
        }
      }
    }

    @Override
    public boolean isCancelled() {
      synchronized (lock) {
        return refused || super.isCancelled();
      }
    }
  }

  /** Ends the call at the first message naming another robot; nothing after it reaches the service. */
  private final class OwnRobotOnly<Q, R> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
    private final RefusableCall<Q, R> call;
    private final Principal robot;
    /** Listener events arrive serially (grpc-java's call executor), so a plain flag suffices. */
    private boolean refused;

    OwnRobotOnly(ServerCall.Listener<Q> delegate, RefusableCall<Q, R> call, Principal robot) {
      super(delegate);
      this.call = call;
      this.robot = robot;
    }

    @Override
    public void onMessage(Q message) {
      if (refused) {
        return;
      }
      Optional<RobotIdCheck.Foreign> foreign = robotIds.firstForeign(message, robot.name());
      if (foreign.isPresent()) {
        refused = true;
        call.refuse(Status.PERMISSION_DENIED.withDescription(foreign.get().field() + " \""
            + Principal.abbreviate(foreign.get().value()) + "\" is not the authenticated robot \"" + robot.name()
            + "\" (" + robot + ", by " + robot.credential() + "): a robot may act only for itself"));
        // The service's own view of the call: it was cancelled, so it releases whatever it holds.
        super.onCancel();
        return;
      }
      super.onMessage(message);
    }

    @Override
    public void onHalfClose() {
      if (!refused) {
        super.onHalfClose();
      }
    }

    @Override
    public void onReady() {
      if (!refused) {
        super.onReady();
      }
    }

    @Override
    public void onComplete() {
      if (!refused) {
        super.onComplete();
      }
    }

    @Override
    public void onCancel() {
      if (!refused) {
        super.onCancel();
      }
    }
  }
}
