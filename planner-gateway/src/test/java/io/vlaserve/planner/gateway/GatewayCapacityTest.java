package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.RetryInfo;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.planner.v1.PlannerGatewayGrpc;
import io.vlaserve.planner.v1.RobotMessage;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.robot.client.GatewaySession;
import io.vlaserve.service.GrpcServerPort;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Admission over real sockets: a replica serving vla.gateway.quota.max-sessions robots refuses the
 * next open with RESOURCE_EXHAUSTED and a RetryInfo, counts it, and admits again once a session
 * ends. policy-service and the bridge are the shutdown test's stand-ins.
 */
class GatewayCapacityTest {

  private static GatewaySession open(ManagedChannel channel, String robot) throws InterruptedException {
    CountDownLatch started = new CountDownLatch(1);
    GatewaySession session = GatewaySession.open(channel, SessionOpen.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId(robot)).setTask("pick up the red block").build(),
        new GatewaySession.Listener() {
          @Override
          public void onSubgoal(SubgoalEvent event) {
            if (event.getStatus() == SubgoalStatus.SUBGOAL_STATUS_STARTED) {
              started.countDown();
            }
          }
        });
    assertTrue(started.await(30, TimeUnit.SECONDS), robot + "'s first subgoal starts");
    return session;
  }

  /** Opens a session on a raw stream and returns how the gateway ended it. */
  private static Throwable refusedOpen(ManagedChannel channel, String robot) throws Exception {
    CompletableFuture<Throwable> ended = new CompletableFuture<>();
    StreamObserver<RobotMessage> requests = PlannerGatewayGrpc.newStub(channel).robotSession(new StreamObserver<>() {
      @Override
      public void onNext(GatewayMessage value) {}

      @Override
      public void onError(Throwable t) {
        ended.complete(t);
      }

      @Override
      public void onCompleted() {
        ended.complete(null);
      }
    });
    requests.onNext(RobotMessage.newBuilder().setOpen(SessionOpen.newBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId(robot)).setTask("pick up the red block")).build());
    return ended.get(30, TimeUnit.SECONDS);
  }

  @Test
  void pastItsCapacityAReplicaRefusesOpensWithRetryInfoAndAdmitsAgainOnceASessionEnds() throws Exception {
    Server policy = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new GatewayShutdownTest.SilentPolicy()).build().start();
    Server controller = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new GatewayShutdownTest.RecordingBridge()).build().start();
    ConfigurableApplicationContext gateway = new SpringApplicationBuilder(PlannerGatewayApplication.class).run(
        "--spring.grpc.server.port=0", "--spring.grpc.server.address=127.0.0.1", "--server.port=0",
        "--vla.gateway.policy-target=dns:///127.0.0.1:" + policy.getPort(),
        "--vla.gateway.controller-target=dns:///127.0.0.1:" + controller.getPort(),
        "--vla.gateway.quota.max-sessions=2", "--vla.gateway.quota.capacity-retry=7s");
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1",
        gateway.getBean(GrpcServerPort.class).await(30), InsecureChannelCredentials.create()).build();
    try {
      GatewaySession first = open(channel, "arm-1");
      GatewaySession second = open(channel, "arm-2");

      Throwable refused = refusedOpen(channel, "arm-3");
      Status status = Status.fromThrowable(refused);
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
      assertTrue(status.getDescription().contains("at capacity: 2 robot sessions are open"), status.getDescription());
      assertTrue(status.getDescription().contains("hold"), status.getDescription());
      RetryInfo retry = StatusProto.fromThrowable(refused).getDetailsList().get(0).unpack(RetryInfo.class);
      assertEquals(7, retry.getRetryDelay().getSeconds());
      assertEquals(1.0, gateway.getBean(MeterRegistry.class).get("vla.gateway.sessions.refused")
          .tag("reason", "capacity").counter().count());

      first.cancel("done");
      first.awaitClosed(Duration.ofSeconds(30));
      // The gateway forgets a session before it closes the robot's stream: a slot is free now.
      GatewaySession third = open(channel, "arm-3");
      third.close();
      second.close();
    } finally {
      channel.shutdownNow();
      gateway.close();
      policy.shutdownNow();
      controller.shutdownNow();
    }
  }
}
