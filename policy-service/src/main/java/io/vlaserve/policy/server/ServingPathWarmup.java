package io.vlaserve.policy.server;

import com.google.protobuf.ByteString;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.service.tls.TransportSecurity;
import java.net.InetAddress;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * The second half of warm-up: once the engine is warm, the service sends its own gRPC port
 * {@code vla.policy.warmup-calls} unary Infer calls, a few at a time, before health reports SERVING.
 * The engine warm-up runs inferences in process and leaves the serving path cold (Netty's HTTP/2
 * codec, the interceptors, message parsing and conversion, the reply path); a fresh replica then
 * spent the JIT's compile time on its first robots' calls: with a fresh client too, 11 ms of
 * transport per call at first, about 3 ms after a few hundred calls, 1.4 ms once compiled
 * (docs/benchmarks.md, issue 17 item 5).
 *
 * <p>The calls go over loopback with this service's own credentials: plaintext under
 * {@code vla.tls.insecure=true}, else its own certificate as the client certificate (a service's
 * certificate is also a client certificate), so they are authenticated as this service (role
 * service, allowed to call Infer) and pass every interceptor a real call passes. They queue as robots
 * {@code warm-up-1} to {@code warm-up-4} and count in the request metrics like any call. Warm-up is best effort: the first
 * failed call (say, a certificate without a name to dial) ends it with one warning, and the service
 * reports SERVING anyway. Not thread-safe: the runtime's warm-up thread runs it once.
 */
@Component
class ServingPathWarmup {
  private static final Logger log = LoggerFactory.getLogger(ServingPathWarmup.class);
  /** Calls in flight at once: enough to batch, so a few hundred calls take about a second. */
  static final int CONCURRENCY = 4;
  static final String ROBOT = "warm-up";

  private final int calls;
  private final GrpcServerPort port;
  private final TransportSecurity security;
  private final String address;

  ServingPathWarmup(PolicyProperties properties, GrpcServerPort port, TransportSecurity security,
      Environment environment) {
    this.calls = properties.warmupCalls();
    this.port = port;
    this.security = security;
    this.address = environment.getProperty("spring.grpc.server.address", "");
  }

  /** Calls it sends in all; 0 turns it off. */
  int calls() {
    return calls;
  }

  /**
   * Sends the calls, {@link #CONCURRENCY} at a time, while {@code carryOn} holds. Never throws.
   *
   * @return the calls answered OK
   */
  int run(ModelPackage model, BooleanSupplier carryOn) {
    long started = System.nanoTime();
    ManagedChannel channel;
    int grpcPort;
    try {
      grpcPort = port.await(60);
      channel = channel(grpcPort);
    } catch (RuntimeException e) {
      log.warn("Serving-path warm-up skipped ({}); serving anyway, the first calls will be slower", e.getMessage());
      return 0;
    }
    AtomicInteger remaining = new AtomicInteger(calls);
    AtomicInteger answered = new AtomicInteger();
    AtomicReference<StatusRuntimeException> failure = new AtomicReference<>();
    try (ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
      var stub = PolicyServiceGrpc.newBlockingStub(channel);
      for (int c = 0; c < CONCURRENCY; c++) {
        // A robot id per caller: each has one call at a time, within any per-robot queue limit.
        InferRequest request = request(model, ROBOT + "-" + (c + 1));
        callers.execute(() -> {
          while (failure.get() == null && carryOn.getAsBoolean() && remaining.getAndDecrement() > 0) {
            try {
              stub.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request);
              answered.incrementAndGet();
            } catch (StatusRuntimeException e) {
              failure.compareAndSet(null, e);
            }
          }
        });
      }
    } finally {
      channel.shutdownNow();
    }
    if (failure.get() != null) {
      log.warn("Serving-path warm-up stopped after {} of {} calls to gRPC port {}: {}; serving anyway, the first"
          + " calls will be slower", answered.get(), calls, grpcPort, failure.get().getStatus());
    } else {
      log.info("Serving-path warm-up: {} Infer calls to gRPC port {} in {} ms", answered.get(), grpcPort,
          (System.nanoTime() - started) / 1_000_000);
    }
    return answered.get();
  }

  /** A channel to this service's own port, with its own credentials, naming it as its certificate does. */
  private ManagedChannel channel(int grpcPort) {
    String host = dialled(address);
    ManagedChannelBuilder<?> builder = Grpc.newChannelBuilderForAddress(host, grpcPort, security.channelCredentials());
    if (security.tls()) {
      String authority = authority(security.material().currentCertificate(), host);
      if (authority != null) {
        builder.overrideAuthority(authority);
      }
    }
    return builder.build();
  }

  /** The address to dial for a server bound to {@code bound}: loopback when bound to every interface. */
  static String dialled(String bound) {
    if (bound == null || bound.isBlank() || bound.equals("*")) {
      return "127.0.0.1";
    }
    try {
      return InetAddress.getByName(bound).isAnyLocalAddress() ? "127.0.0.1" : bound;
    } catch (java.net.UnknownHostException e) {
      return bound;
    }
  }

  /**
   * The name to check the server certificate against when dialling {@code host}: none needed when the
   * certificate names {@code host} itself, else its first DNS name, else null (the handshake will fail).
   */
  static String authority(X509Certificate certificate, String host) {
    List<String> dns = new ArrayList<>();
    try {
      Collection<List<?>> names = certificate.getSubjectAlternativeNames();
      if (names != null) {
        for (List<?> name : names) {
          int type = (Integer) name.get(0);
          String value = String.valueOf(name.get(1));
          if ((type == 7 || type == 2) && value.equalsIgnoreCase(host)) { // iPAddress, dNSName
            return null;
          }
          if (type == 2) {
            dns.add(value);
          }
        }
      }
    } catch (CertificateParsingException e) {
      return null;
    }
    return dns.isEmpty() ? null : dns.get(0);
  }

  /**
   * A robot's call as the model takes it: a raw frame at its size, the arm at rest, its first skill;
   * one step (the engine warm-up ran whole chunks), so the calls take less compute and more of them fit.
   */
  private static InferRequest request(ModelPackage model, String robot) {
    Observation.Builder observation = Observation.newBuilder().setSequence(1)
        .setState(RobotState.newBuilder().setEndEffector(Pose.newBuilder()
            .setOrientation(Quaternion.newBuilder().setW(1))));
    for (ModelPackage.CameraInput camera : model.cameras()) {
      observation.addImages(Image.newBuilder().setCamera(camera.name()).setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8)
          .setWidth(camera.width()).setHeight(camera.height()).setData(ByteString.copyFrom(new byte[camera.frameBytes()])));
    }
    return InferRequest.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId(robot))
        .setChunkLength(1)
        .setInstruction(model.skills().isEmpty() ? "" : model.skills().get(0))
        .setObservation(observation)
        .build();
  }
}
