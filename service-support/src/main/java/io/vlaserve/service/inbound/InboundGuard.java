package io.vlaserve.service.inbound;

import com.google.protobuf.Message;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Wraps a service so that its calls parse their own requests and bound what they send back, the
 * transport-level half of "validate at the edge":
 *
 * <ul>
 *   <li>A request that does not parse fails its own call with INVALID_ARGUMENT and one rate-limited
 *       line in {@link RejectedInputLog}. (Left to grpc-java, the marshaller's exception ends the call
 *       UNKNOWN "Application error processing RPC" and logs an ERROR with a full stack trace for every
 *       bad message.) Later messages of that call are ignored and the service sees the call cancelled.
 *   <li>A status description longer than {@code maxDescription} bytes (as encoded) is cut. Descriptions that
 *       echo input (an unknown profile or robot name) travel in the trailers; trailers over the
 *       client's header list limit (8 KiB in grpc-java) make its HTTP/2 codec drop the whole
 *       connection, and every other call on it (a robot's session) with it.
 * </ul>
 *
 * The wrapper is outermost: it sees the transport's call before any interceptor. Stateless; each
 * call's state is its own.
 */
public final class InboundGuard {
  private static final MethodDescriptor.Marshaller<InputStream> RAW = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(InputStream value) {
      return value;
    }

    @Override
    public InputStream parse(InputStream stream) {
      return stream; // parsed by the call, which can answer a failure itself
    }
  };

  private final RejectedInputLog rejected;
  private final int maxDescription;

  /**
   * @param rejected where refused requests are reported
   * @param maxDescription the longest status description sent, in bytes as encoded in the trailers
   */
  public InboundGuard(RejectedInputLog rejected, int maxDescription) {
    if (maxDescription < 128) {
      throw new IllegalArgumentException("maxDescription " + maxDescription + " (expected: >= 128 bytes)");
    }
    this.rejected = rejected;
    this.maxDescription = maxDescription;
  }

  /** The service with every method guarded; same names, schema and handlers. */
  public ServerServiceDefinition guard(ServerServiceDefinition service) {
    ServiceDescriptor original = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      ServerMethodDefinition<?, ?> guarded = guard(method);
      methods.add(guarded);
      descriptor.addMethod(guarded.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(builder::addMethod);
    return builder.build();
  }

  private <ReqT, RespT> ServerMethodDefinition<InputStream, RespT> guard(ServerMethodDefinition<ReqT, RespT> definition) {
    MethodDescriptor<ReqT, RespT> method = definition.getMethodDescriptor();
    ServerCallHandler<ReqT, RespT> handler = definition.getServerCallHandler();
    MethodDescriptor<InputStream, RespT> raw = method.toBuilder(RAW, method.getResponseMarshaller()).build();
    String expected = messageName(method);
    return ServerMethodDefinition.create(raw, (call, headers) -> {
      GuardedCall<ReqT, RespT> guarded = new GuardedCall<>(call, method, maxDescription);
      return new ParsingListener<>(handler.startCall(guarded, headers), guarded, expected);
    });
  }

  private static String messageName(MethodDescriptor<?, ?> method) {
    if (method.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> prototype
        && prototype.getMessagePrototype() instanceof Message message) {
      return message.getDescriptorForType().getFullName();
    }
    return "request of " + method.getFullMethodName();
  }

  /**
   * Cuts a description to at most {@code maxBytes} once percent-encoded for the trailers (printable
   * ASCII costs one byte, anything else counts as nine: three UTF-8 bytes as %XX), saying how long it was.
   */
  static Status bounded(Status status, int maxBytes) {
    String description = status.getDescription();
    if (description == null || prefix(description, maxBytes) == description.length()) {
      return status;
    }
    String note = "... (" + description.length() + " characters, cut)";
    int end = prefix(description, maxBytes - note.length());
    if (end > 0 && Character.isHighSurrogate(description.charAt(end - 1))) {
      end--; // never split a surrogate pair
    }
    return status.withDescription(description.substring(0, end) + note);
  }

  /** How many leading characters of {@code text} fit in {@code maxBytes} encoded. */
  private static int prefix(String text, int maxBytes) {
    int bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      bytes += c >= ' ' && c <= '~' && c != '%' ? 1 : 9;
      if (bytes > maxBytes) {
        return i;
      }
    }
    return text.length();
  }

  /** Parses each message; the first that does not parse ends the call. */
  private final class ParsingListener<ReqT, RespT> extends ServerCall.Listener<InputStream> {
    private final ServerCall.Listener<ReqT> delegate;
    private final GuardedCall<ReqT, RespT> call;
    private final String expected;
    private boolean refused; // listener callbacks are serialized by grpc

    ParsingListener(ServerCall.Listener<ReqT> delegate, GuardedCall<ReqT, RespT> call, String expected) {
      this.delegate = delegate;
      this.call = call;
      this.expected = expected;
    }

    @Override
    public void onMessage(InputStream message) {
      if (refused) {
        return;
      }
      ReqT request;
      try {
        request = call.method.parseRequest(message);
      } catch (RuntimeException e) {
        refused = true;
        String reason = reason(e);
        rejected.rejected(call.method.getFullMethodName(), "not a valid " + expected + " (" + reason + ")");
        call.refuse(Status.INVALID_ARGUMENT.withDescription("request: not a valid " + expected + " (" + reason
            + "; expected: a serialized " + expected + ")"));
        delegate.onCancel(); // the service sees the call end; nothing it sends reaches the closed call
        return;
      }
      delegate.onMessage(request);
    }

    private String reason(RuntimeException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof UncheckedIOException || cause instanceof IOException || cause.getMessage() == null) {
        return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
      }
      return cause.getMessage();
    }

    @Override
    public void onHalfClose() {
      if (!refused) {
        delegate.onHalfClose();
      }
    }

    @Override
    public void onCancel() {
      if (!refused) {
        delegate.onCancel();
      }
    }

    @Override
    public void onComplete() {
      if (!refused) {
        delegate.onComplete();
      }
    }

    @Override
    public void onReady() {
      if (!refused) {
        delegate.onReady();
      }
    }
  }

  /**
   * The transport's call as the service's types: bounds descriptions, and once closed (by the service
   * or by a refusal) drops whatever else is sent, so a refusal racing the service's own answer is safe.
   */
  private static final class GuardedCall<ReqT, RespT> extends ServerCall<ReqT, RespT> {
    private final ServerCall<InputStream, RespT> delegate;
    private final MethodDescriptor<ReqT, RespT> method;
    private final int maxDescription;
    private boolean closed;

    GuardedCall(ServerCall<InputStream, RespT> delegate, MethodDescriptor<ReqT, RespT> method, int maxDescription) {
      this.delegate = delegate;
      this.method = method;
      this.maxDescription = maxDescription;
    }

    synchronized void refuse(Status status) {
      if (!closed) {
        closed = true;
        delegate.close(status, new Metadata());
      }
    }

    @Override
    public void request(int numMessages) {
      delegate.request(numMessages);
    }

    @Override
    public synchronized void sendHeaders(Metadata headers) {
      if (!closed) {
        delegate.sendHeaders(headers);
      }
    }

    @Override
    public synchronized void sendMessage(RespT message) {
      if (!closed) {
        delegate.sendMessage(message);
      }
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!closed) {
        closed = true;
        delegate.close(bounded(status, maxDescription), trailers);
      }
    }

    @Override
    public boolean isReady() {
      return delegate.isReady();
    }

    @Override
    public boolean isCancelled() {
      return delegate.isCancelled();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      delegate.setMessageCompression(enabled);
    }

    @Override
    public void setCompression(String compressor) {
      delegate.setCompression(compressor);
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      delegate.setOnReadyThreshold(numBytes);
    }

    @Override
    public SecurityLevel getSecurityLevel() {
      return delegate.getSecurityLevel();
    }

    @Override
    public Attributes getAttributes() {
      return delegate.getAttributes();
    }

    @Override
    public String getAuthority() {
      return delegate.getAuthority();
    }

    @Override
    public MethodDescriptor<ReqT, RespT> getMethodDescriptor() {
      return method;
    }
  }
}
