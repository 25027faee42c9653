package io.vlaserve.launcher;

import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * What an operator (or a Kubernetes probe, or grpcurl) asks a running service: its standard gRPC
 * health and the services its reflection lists. Shared by the launcher and the services' tests.
 */
public final class GrpcProbes {
  private GrpcProbes() {}

  /**
   * Polls {@code grpc.health.v1.Health/Check} until SERVING; Spring derives it from actuator health
   * on a schedule, so a service turns SERVING a little after it is ready.
   *
   * @return the last status seen (SERVING, or what it was when {@code timeout} ran out)
   */
  public static HealthCheckResponse.ServingStatus awaitServing(Channel channel, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    HealthCheckResponse.ServingStatus status = HealthCheckResponse.ServingStatus.UNKNOWN;
    while (System.nanoTime() < deadline) {
      try {
        status = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
            .check(HealthCheckRequest.getDefaultInstance()).getStatus();
        if (status == HealthCheckResponse.ServingStatus.SERVING) {
          return status;
        }
      } catch (StatusRuntimeException notYet) {
        // Still starting.
      }
      Thread.sleep(100);
    }
    return status;
  }

  /** The fully qualified services the server's reflection lists. */
  public static List<String> listServices(Channel channel, Duration timeout) throws Exception {
    List<String> services = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse value) {
            value.getListServicesResponse().getServiceList().forEach(s -> services.add(s.getName()));
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(null);
          }
        });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();
    done.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    return List.copyOf(services);
  }
}
