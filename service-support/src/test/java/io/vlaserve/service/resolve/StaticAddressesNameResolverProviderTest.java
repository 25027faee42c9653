package io.vlaserve.service.resolve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code static:///host:port,host:port} targets, through gRPC's own provider lookup. */
class StaticAddressesNameResolverProviderTest {
  @Test
  void everyEntryIsItsOwnAddressInOrder() {
    assertEquals(List.of(new InetSocketAddress("127.0.0.1", 50052), new InetSocketAddress("::1", 50053)),
        StaticAddressesNameResolverProvider.parse("127.0.0.1:50052, [::1]:50053").stream()
            .map(group -> group.getAddresses().getFirst()).toList());
  }

  @Test
  void anEntryThatIsNotHostAndPortIsRefusedByName() {
    for (String bad : List.of("", "127.0.0.1", "127.0.0.1:", ":50052", "127.0.0.1:http", "127.0.0.1:70000",
        "127.0.0.1:50052,,")) {
      IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
          () -> StaticAddressesNameResolverProvider.parse(bad), bad);
      assertEquals(true, refused.getMessage().contains("is not host:port"), refused.getMessage());
    }
  }

  @Test
  void aRoundRobinChannelOverAStaticTargetReachesEveryServer() throws Exception {
    Set<Integer> answered = java.util.concurrent.ConcurrentHashMap.newKeySet();
    Server first = healthServer(answered, 1);
    Server second = healthServer(answered, 2);
    ManagedChannel channel = Grpc.newChannelBuilder("static:///127.0.0.1:" + first.getPort() + ",127.0.0.1:"
        + second.getPort(), InsecureChannelCredentials.create()).defaultLoadBalancingPolicy("round_robin").build();
    try {
      Set<Integer> seen = new HashSet<>();
      for (int call = 0; call < 50 && seen.size() < 2; call++) {
        HealthGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
            .check(HealthCheckRequest.getDefaultInstance());
        seen.addAll(answered);
      }
      assertEquals(Set.of(1, 2), seen, "both servers answered");
    } finally {
      channel.shutdownNow();
      first.shutdownNow();
      second.shutdownNow();
    }
  }

  private static Server healthServer(Set<Integer> answered, int id) throws Exception {
    return Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new HealthGrpc.HealthImplBase() {
          @Override
          public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responses) {
            answered.add(id);
            responses.onNext(HealthCheckResponse.newBuilder()
                .setStatus(HealthCheckResponse.ServingStatus.SERVING).build());
            responses.onCompleted();
          }
        }).build().start();
  }
}
