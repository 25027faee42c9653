package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.planner.v1.GatewayMessage;
import com.google.rpc.RetryInfo;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.vlaserve.planner.v1.PlanRequest;
import io.vlaserve.planner.v1.PlannerGatewayGrpc;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.service.auth.AccessTableWalk;
import io.vlaserve.tls.TestPki;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Issue 16, items 2 and 3 on real sockets: the gateway with TLS and authenticated callers serves
 * each RPC to the roles of the table, and a robot opens a session only as itself. The policy and
 * controller targets lead nowhere: nothing here gets past the checks to them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AccessControlOverSocketsTest {
  private ConfigurableApplicationContext app;
  private AccessTableWalk walk;
  private int port;

  @BeforeAll
  void start(@TempDir Path dir) {
    TestPki pki = TestPki.create(dir, "suite");
    TestPki.Issued gateway = pki.server("planner-gateway");
    app = new SpringApplicationBuilder(PlannerGatewayApplication.class).run(AccessTableWalk.secureArguments(pki, gateway,
        "--vla.gateway.policy-target=localhost:1", "--vla.gateway.controller-target=localhost:1",
        // A token every 10,000 minutes: nothing refills while the test runs, however slow the machine.
        "--vla.gateway.quota.plans-per-minute=0.0001", "--vla.gateway.quota.burst=3"));
    port = app.getBean(GrpcServerPort.class).await(30);
    walk = new AccessTableWalk("localhost", pki);
  }

  @AfterAll
  void stop() {
    walk.close();
    app.close();
  }

  @Test
  void everyRpcIsServedToExactlyTheRolesOfTheTable() {
    walk.assertTableHolds(port, List.of(PlannerGatewayGrpc.getServiceDescriptor(),
        HealthGrpc.getServiceDescriptor()), 5 * (2 + 2));
  }

  @Test
  void planTaskIsRateLimitedPerCallerWithRetryInfo() throws Exception {
    PlannerGatewayGrpc.PlannerGatewayBlockingStub robot = PlannerGatewayGrpc.newBlockingStub(walk.channel(port, "robot"));
    PlannerGatewayGrpc.PlannerGatewayBlockingStub operator =
        PlannerGatewayGrpc.newBlockingStub(walk.channel(port, "operator"));
    PlanRequest empty = PlanRequest.getDefaultInstance();
    Status status = Status.OK;
    int calls = 0;
    // A burst of 3 (the walk may have spent one): refused by the 4th call at the latest.
    while (status.getCode() != Status.Code.RESOURCE_EXHAUSTED && calls++ < 5) {
      status = assertThrows(StatusRuntimeException.class,
          () -> robot.withDeadlineAfter(30, TimeUnit.SECONDS).planTask(empty)).getStatus();
    }
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode());
    assertTrue(calls <= 4, calls + " calls");
    assertTrue(status.getDescription().startsWith("robot/arm-1: over the quota of PlanTask calls"
        + " (vla.gateway.quota.plans-per-minute=1.0E-4, burst 3); retry in "), status.getDescription());
    StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
        () -> robot.withDeadlineAfter(30, TimeUnit.SECONDS).planTask(empty));
    RetryInfo retry = StatusProto.fromThrowable(refused).getDetailsList().stream()
        .filter(detail -> detail.is(RetryInfo.class)).findFirst().orElseThrow()
        .unpackSameTypeAs(RetryInfo.getDefaultInstance());
    assertTrue(retry.getRetryDelay().getSeconds() > 60, "about 10,000 minutes: " + retry);
    // Another caller's share is its own: served (the empty task is its own error).
    assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(StatusRuntimeException.class,
        () -> operator.withDeadlineAfter(30, TimeUnit.SECONDS).planTask(empty)).getStatus().getCode());
  }

  @Test
  void aRobotOpensASessionOnlyAsItself() throws Exception {
    ManagedChannel robot = walk.channel(port, "robot");
    CompletableFuture<Status> ended = new CompletableFuture<>();
    StreamObserver<RobotMessage> stream = PlannerGatewayGrpc.newStub(robot).robotSession(new StreamObserver<>() {
      @Override
      public void onNext(GatewayMessage message) {}

      @Override
      public void onError(Throwable t) {
        ended.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        ended.complete(Status.OK);
      }
    });
    stream.onNext(RobotMessage.newBuilder().setOpen(SessionOpen.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("arm-2")).setTask("put the red block on the plate")).build());
    Status status = ended.get(60, TimeUnit.SECONDS);
    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
    assertTrue(status.getDescription().startsWith("vla.planner.v1.RobotMessage.open.robot.robot_id \"arm-2\" is not"
        + " the authenticated robot \"arm-1\""), status.getDescription());
    assertEquals(0, app.getBean(PlannerGatewayGrpcService.class).activeSessions(), "no session was opened for arm-2");
  }
}
