package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The policy's metadata is asked for at most once per {@link PolicyHandshake#FRESH_FOR}, judged by an injected clock. */
class PolicyHandshakeTest {
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicLong now = new AtomicLong();
  private volatile Status failure;
  private Server server;
  private ManagedChannel channel;
  private PolicyHandshake handshake;

  @BeforeEach
  void start() throws Exception {
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new PolicyServiceGrpc.PolicyServiceImplBase() {
          @Override
          public void getMetadata(GetMetadataRequest request, StreamObserver<PolicyMetadata> responses) {
            int call = calls.incrementAndGet();
            if (failure != null) {
              responses.onError(failure.asRuntimeException());
              return;
            }
            responses.onNext(PolicyMetadata.newBuilder().setModelName("model-" + call).build());
            responses.onCompleted();
          }
        }).build().start();
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(), InsecureChannelCredentials.create())
        .build();
    handshake = new PolicyHandshake(channel, Duration.ofSeconds(30), now::get);
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void anAnswerIsUsedUntilItIsTenSecondsOldThenPolicyServiceIsAskedAgain() {
    assertEquals("model-1", handshake.metadata().getModelName());
    now.addAndGet(PolicyHandshake.FRESH_FOR.toNanos() - 1);
    assertEquals("model-1", handshake.metadata().getModelName());
    assertEquals(1, calls.get());
    now.addAndGet(1);
    assertEquals("model-2", handshake.metadata().getModelName());
    assertEquals(2, calls.get());
  }

  @Test
  void aRefreshAsksNowAndRestartsTheFreshness() {
    assertEquals("model-1", handshake.metadata().getModelName());
    now.addAndGet(PolicyHandshake.FRESH_FOR.toNanos() / 2);
    assertEquals("model-2", handshake.refresh().getModelName(), "asked although still fresh");
    now.addAndGet(PolicyHandshake.FRESH_FOR.toNanos() - 1);
    assertEquals("model-2", handshake.metadata().getModelName(), "fresh for ten seconds from the refresh");
    assertEquals(2, calls.get());
  }

  @Test
  void aFailedAskIsUnavailableNamingTheAnswerAndIsNotRemembered() {
    failure = Status.UNAVAILABLE.withDescription("connection refused");
    StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, handshake::metadata);
    assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
    assertTrue(refused.getStatus().getDescription().contains("connection refused"), refused.getStatus().getDescription());
    failure = null;
    assertEquals("model-2", handshake.metadata().getModelName(), "asked again at once");
  }
}
