package io.vlaserve.tokenizer.server;

import io.vlaserve.launcher.GrpcProbes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.tokenizer.v1.DecodeRequest;
import io.vlaserve.tokenizer.v1.DescribeProfileRequest;
import io.vlaserve.tokenizer.v1.EncodeRequest;
import io.vlaserve.tokenizer.v1.EncodeResponse;
import io.vlaserve.tokenizer.v1.ListProfilesRequest;
import io.vlaserve.tokenizer.v1.Profile;
import io.vlaserve.tokenizer.v1.TokenSequence;
import io.vlaserve.tokenizer.v1.TokenizeRequest;
import io.vlaserve.tokenizer.v1.TokenizeResponse;
import io.vlaserve.tokenizer.v1.TokenizerServiceGrpc;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import io.vlaserve.service.GrpcServerPort;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/** The real Spring Boot app on real sockets: gRPC over Netty, actuator over HTTP. */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"spring.grpc.server.port=0", "spring.grpc.server.address=127.0.0.1"})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerServiceIntegrationTest {
  @Autowired GrpcServerPort grpcPort;
  @LocalServerPort int httpPort;

  private ManagedChannel channel;
  private TokenizerServiceGrpc.TokenizerServiceBlockingStub tokenizer;

  @BeforeAll
  void connect() {
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort.await(30), InsecureChannelCredentials.create())
        .build();
    tokenizer = TokenizerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @AfterAll
  void disconnect() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  static ActionVector action(double... values) {
    ActionVector.Builder builder = ActionVector.newBuilder();
    for (double v : values) {
      builder.addValues(v);
    }
    return builder.build();
  }

  @Nested
  class Profiles {
    @Test
    void listsTheBuiltinProfiles() {
      List<String> names = tokenizer.listProfiles(ListProfilesRequest.getDefaultInstance()).getProfilesList()
          .stream().map(Profile::getName).toList();
      assertEquals(List.of("eef-delta-7dof", "widowx-bridge", "bimanual-14dof"), names);
    }

    @Test
    void describesEachDimensionsTokenSlice() {
      Profile eef = tokenizer.describeProfile(DescribeProfileRequest.newBuilder().setProfile("eef-delta-7dof").build());
      assertEquals(7, eef.getDimensionsCount());
      assertEquals(31744 + 6 * 256, eef.getDimensions(6).getFirstToken());
      assertEquals(33535, eef.getDimensions(6).getLastToken());
    }

    @Test
    void unknownProfileIsNotFoundAndListsTheKnownOnes() {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> tokenizer.describeProfile(DescribeProfileRequest.newBuilder().setProfile("franka").build()));
      assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription().contains("known: eef-delta-7dof, widowx-bridge, bimanual-14dof"));
    }
  }

  @Nested
  class Batch {
    @Test
    void encodesAndDecodesOpenVlaActions() {
      EncodeResponse encoded = tokenizer.encode(EncodeRequest.newBuilder().setProfile("widowx-bridge")
          .addActions(action(0, 0, 0, 0, 0, 0, 1))
          .addActions(action(0.01, -0.02, 0.03, 0.05, -0.05, 0.1, 0))
          .build());
      assertEquals(2, encoded.getSequencesCount());
      assertEquals(31744, encoded.getSequences(0).getTokens(6), "open gripper (1.0) is OpenVLA's first action id");
      var decoded = tokenizer.decode(DecodeRequest.newBuilder().setProfile("widowx-bridge")
          .addAllSequences(encoded.getSequencesList()).build());
      assertEquals(0.01, decoded.getActions(1).getValues(0), 0.0003);
      assertEquals(-0.02, decoded.getActions(1).getValues(1), 0.0003);
    }

    @Test
    void nanIsInvalidArgumentNamingActionDimensionAndValue() {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> tokenizer.encode(EncodeRequest.newBuilder().setProfile("eef-delta-7dof")
              .addActions(action(0, 0, 0, 0, 0, 0, 1))
              .addActions(action(0, 0, 0, Double.NaN, 0, 0, 1))
              .build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
      assertEquals("action[1][3] (droll): NaN (expected: a finite number)", e.getStatus().getDescription());
    }

    @Test
    void wrongDimensionCountIsInvalidArgument() {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> tokenizer.encode(EncodeRequest.newBuilder().setProfile("eef-delta-7dof")
              .addActions(action(0, 0, 0)).build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
      assertEquals("actions[0]: 3 values (expected: 7 for profile eef-delta-7dof)", e.getStatus().getDescription());
    }

    @Test
    void tokenOutsideTheSliceIsInvalidArgument() {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> tokenizer.decode(DecodeRequest.newBuilder().setProfile("widowx-bridge")
              .addSequences(TokenSequence.newBuilder().addAllTokens(List.of(31800, 31800, 2, 31800, 31800, 31800, 31800)))
              .build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
      assertEquals("tokens[0][2]: 2 (expected: a token in [31744, 31999] for dimension 2)", e.getStatus().getDescription());
    }

    @Test
    void emptyProfileNameIsInvalidArgument() {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> tokenizer.encode(EncodeRequest.newBuilder().addActions(action(0)).build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    }
  }

  @Test
  void streamingAnswersEveryRequestInOrderAndABadOneDoesNotEndTheStream() throws Exception {
    List<TokenizeResponse> answers = new ArrayList<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<TokenizeRequest> requests = TokenizerServiceGrpc.newStub(channel).tokenize(new StreamObserver<>() {
      @Override
      public void onNext(TokenizeResponse value) {
        answers.add(value);
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
    int count = 500;
    for (int i = 0; i < count; i++) {
      TokenizeRequest.Builder request = TokenizeRequest.newBuilder().setRequestId(i).setProfile("eef-delta-7dof");
      if (i % 100 == 7) {
        request.setEncode(action(0, 0, Double.POSITIVE_INFINITY, 0, 0, 0, 1));
      } else if (i % 2 == 0) {
        request.setEncode(action(0.01 * (i % 5), 0, 0, 0, 0, 0, 1));
      } else {
        request.setDecode(TokenSequence.newBuilder().addAllTokens(List.of(31800, 32100, 32300, 32600, 32800, 33100, 33400)));
      }
      requests.onNext(request.build());
    }
    requests.onCompleted();
    done.get(30, TimeUnit.SECONDS);
    assertEquals(count, answers.size());
    for (int i = 0; i < count; i++) {
      TokenizeResponse answer = answers.get(i);
      assertEquals(i, answer.getRequestId());
      if (i % 100 == 7) {
        assertEquals(Status.Code.INVALID_ARGUMENT.value(), answer.getError().getCode());
        assertEquals("action[0][2] (dz): Infinity (expected: a finite number)", answer.getError().getMessage());
      } else if (i % 2 == 0) {
        assertEquals(7, answer.getTokens().getTokensCount());
      } else {
        assertEquals(7, answer.getAction().getValuesCount());
      }
    }
  }

  @Test
  void grpcHealthReportsServing() {
    HealthCheckResponse health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
  }

  @Test
  void reflectionListsTheTokenizerService() throws Exception {
    List<String> services = GrpcProbes.listServices(channel, java.time.Duration.ofSeconds(10));
    assertTrue(services.contains("vla.tokenizer.v1.TokenizerService"), services.toString());
    assertTrue(services.contains("grpc.health.v1.Health"), services.toString());
  }

  @Test
  void actuatorHealthAndPrometheusMetricsAreServedOverHttp() throws Exception {
    tokenizer.encode(EncodeRequest.newBuilder().setProfile("eef-delta-7dof").addActions(action(0, 0, 0, 0, 0, 0, 1)).build());
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> health = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + httpPort + "/actuator/health")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode());
    assertTrue(health.body().contains("\"UP\""), health.body());
    HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + httpPort + "/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.body().contains("vla_tokenizer_actions_total{"), "tokenizer counters exported");
    assertTrue(metrics.body().contains("outcome=\"encoded\""), "encoded actions counted");
    assertTrue(metrics.body().contains("grpc_server"), "gRPC server metrics exported");
  }
}
