package io.vlaserve.service.warmup;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Warms the gRPC transport itself (Netty, HTTP/2, TLS framing, gRPC's framer and deframer, stream
 * observers) in both roles, server and client, by echoing messages of a service's typical sizes
 * over a throwaway loopback server with the service's own transport security.
 *
 * <p>Why: measured under a 16-robot load test, every service JVM spent 20–30 s of JIT compilation
 * on this code in its first minute of traffic, a third of a core each, while robots waited. The
 * per-service tasks warm each service's own code; this one warms what they all share. A round is
 * one bidirectional stream of {@value #EXCHANGES_PER_ROUND} ping-pong exchanges (large and small
 * messages alternating, as camera frames and chunks do) and {@value #UNARY_PER_ROUND} unary calls.
 * The server is started on the first round and stopped by {@link #finish()}. Not thread-safe: run
 * by the warm-up thread only.
 */
public final class TransportWarmUp implements WarmUpTask {
  static final int EXCHANGES_PER_ROUND = 100;
  static final int UNARY_PER_ROUND = 10;
  /** A 64x64 RGB camera frame's size, and a small message's (a chunk, a state). */
  static final int LARGE_BYTES = 12_288;
  static final int SMALL_BYTES = 200;

  private static final String SERVICE = "vla.warmup.Echo";
  private static final MethodDescriptor<BytesValue, BytesValue> STREAM = method("Stream",
      MethodDescriptor.MethodType.BIDI_STREAMING);
  private static final MethodDescriptor<BytesValue, BytesValue> UNARY = method("Unary",
      MethodDescriptor.MethodType.UNARY);

  private final ServerCredentials serverCredentials;
  private final ChannelCredentials channelCredentials;
  private final String authority;
  private final BytesValue large;
  private final BytesValue small;
  private Server server;
  private ManagedChannel channel;

  /**
   * @param serverCredentials the service's server credentials (TLS or plaintext)
   * @param channelCredentials the service's channel credentials, trusting its own certificate's CA
   * @param certificate the service's certificate, whose first DNS name the client dials; null for
   *     plaintext
   */
  public TransportWarmUp(ServerCredentials serverCredentials, ChannelCredentials channelCredentials,
      X509Certificate certificate) {
    this.serverCredentials = serverCredentials;
    this.channelCredentials = channelCredentials;
    this.authority = certificate == null ? null : firstDnsName(certificate);
    Random random = new Random(17);
    byte[] frame = new byte[LARGE_BYTES];
    random.nextBytes(frame);
    this.large = BytesValue.of(ByteString.copyFrom(frame));
    byte[] chunk = new byte[SMALL_BYTES];
    random.nextBytes(chunk);
    this.small = BytesValue.of(ByteString.copyFrom(chunk));
  }

  @Override
  public String name() {
    return "gRPC transport";
  }

  @Override
  public void runOnce() {
    if (server == null) {
      start();
    }
    BlockingQueue<Object> replies = new ArrayBlockingQueue<>(2);
    StreamObserver<BytesValue> requests = ClientCalls.asyncBidiStreamingCall(
        channel.newCall(STREAM, CallOptions.DEFAULT), new StreamObserver<>() {
          @Override
          public void onNext(BytesValue value) {
            replies.add(value);
          }

          @Override
          public void onError(Throwable t) {
            replies.add(t);
          }

          @Override
          public void onCompleted() {}
        });
    for (int i = 0; i < EXCHANGES_PER_ROUND; i++) {
      BytesValue sent = i % 2 == 0 ? large : small;
      requests.onNext(sent);
      Object reply = take(replies);
      if (reply instanceof Throwable t) {
        throw new IllegalStateException("transport warm-up stream failed", t);
      }
      if (((BytesValue) reply).getValue().size() != sent.getValue().size()) {
        throw new IllegalStateException("transport warm-up echo returned " + ((BytesValue) reply).getValue().size()
            + " bytes for " + sent.getValue().size());
      }
    }
    requests.onCompleted();
    for (int i = 0; i < UNARY_PER_ROUND; i++) {
      ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
          i % 2 == 0 ? large : small);
    }
  }

  @Override
  public void finish() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.shutdownNow();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    channel = null;
    server = null;
  }

  /** The loopback server's port while it runs, else -1. */
  int port() {
    return server == null ? -1 : server.getPort();
  }

  private void start() {
    ServerServiceDefinition echo = ServerServiceDefinition.builder(SERVICE)
        .addMethod(STREAM, ServerCalls.asyncBidiStreamingCall(replies -> new StreamObserver<>() {
          @Override
          public void onNext(BytesValue value) {
            replies.onNext(value);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {
            replies.onCompleted();
          }
        }))
        .addMethod(UNARY, ServerCalls.asyncUnaryCall((request, reply) -> {
          reply.onNext(request);
          reply.onCompleted();
        }))
        .build();
    try {
      server = Grpc.newServerBuilderForPort(0, serverCredentials).addService(echo).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException("transport warm-up: no loopback server", e);
    }
    var builder = Grpc.newChannelBuilder("127.0.0.1:" + server.getPort(), channelCredentials);
    if (authority != null) {
      builder.overrideAuthority(authority);
    }
    channel = builder.build();
  }

  private static Object take(BlockingQueue<Object> replies) {
    try {
      Object reply = replies.poll(10, TimeUnit.SECONDS);
      if (reply == null) {
        throw new IllegalStateException("transport warm-up: no echo within 10 s");
      }
      return reply;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("transport warm-up interrupted", e);
    }
  }

  private static String firstDnsName(X509Certificate certificate) {
    try {
      if (certificate.getSubjectAlternativeNames() != null) {
        for (List<?> name : certificate.getSubjectAlternativeNames()) {
          if (Integer.valueOf(2).equals(name.get(0))) {
            return (String) name.get(1);
          }
        }
      }
    } catch (CertificateParsingException e) {
      throw new IllegalArgumentException("transport warm-up: unreadable certificate names", e);
    }
    throw new IllegalArgumentException("transport warm-up: the service's certificate has no DNS name to dial");
  }

  private static MethodDescriptor<BytesValue, BytesValue> method(String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<BytesValue, BytesValue>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(ProtoUtils.marshaller(BytesValue.getDefaultInstance()))
        .setResponseMarshaller(ProtoUtils.marshaller(BytesValue.getDefaultInstance()))
        .build();
  }
}
